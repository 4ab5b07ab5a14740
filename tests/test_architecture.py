"""The package's layering (docs/architecture.md), checked from the source with ``ast``.

Every import of a ``turingformer`` module, at module level or inside a function, is an edge of the
import graph. The graph must have no cycle, each edge must go from a layer to the same or a lower
one, and argparse may only be imported below ``turingformer/cli``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

from paths import ROOT

PACKAGE = ROOT / "turingformer"

#: Layer of each top-level part of the package, lowest first. A module may import its own part
#: and any part of a strictly lower layer; parts of one layer never import each other.
LAYERS: dict[str, int] = {
    "errors": 0, "files": 0,
    "tm": 1, "programs": 1, "runtime": 1,
    "compiler": 2,
    "modelfile": 3,
    "sources": 4,
    "analysis": 5, "export": 5,
    "views": 6,
    "serve": 7,
    "cli": 8,
}
#: What the generic runtime may import besides itself: it knows no machine and no program.
RUNTIME_MAY_IMPORT = {"errors"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(name: str, path: Path) -> set[str]:
    """The turingformer modules ``name`` imports (relative imports resolved)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("turingformer"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("turingformer"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if sub in MODULES else target)
    return {m for m in found if m in MODULES} - {name}


def part(name: str) -> str | None:
    pieces = name.split(".")
    return pieces[1] if len(pieces) > 1 else None


GRAPH = nx.DiGraph()
for _name, _path in MODULES.items():
    GRAPH.add_node(_name)
    GRAPH.add_edges_from((_name, target) for target in imported(_name, _path))


def test_the_graph_is_read_from_the_source():
    # the parser must see real edges, or every check below would pass vacuously
    assert ("turingformer.cli.machines", "turingformer.tm.simulator") in GRAPH.edges
    assert ("turingformer.compiler.perez.construction", "turingformer.runtime.transformer") in GRAPH.edges
    assert ("turingformer.tm.formats.tmio", "turingformer.tm.formats._yaml") in GRAPH.edges


def test_no_import_cycles():
    cycles = list(nx.simple_cycles(GRAPH))
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c + [c[0]]) for c in cycles)


def test_every_module_belongs_to_a_layer():
    unplaced = [m for m in MODULES if part(m) not in LAYERS and m not in ("turingformer", "turingformer.__main__")]
    assert not unplaced, f"modules outside every layer of LAYERS: {unplaced}"


@pytest.mark.parametrize("source, target", sorted(GRAPH.edges))
def test_imports_go_down_the_layers(source, target):
    if source in ("turingformer", "turingformer.__main__"):
        return  # the public API and the entry point sit above every layer
    src, dst = part(source), part(target)
    assert dst is not None, f"{source} imports the package root {target}"
    if src == dst:
        return
    assert LAYERS[dst] < LAYERS[src], f"{source} (layer {src}) imports {target} (layer {dst}), which is not below it"
    if src == "runtime":
        assert dst in RUNTIME_MAY_IMPORT, f"the generic runtime imports {target}"


def test_argparse_only_in_the_cli():
    offenders = []
    for name, path in MODULES.items():
        if part(name) == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) else []
            if "argparse" in names:
                offenders.append(name)
    assert not offenders, f"argparse outside turingformer/cli: {offenders}"


def test_public_api():
    import turingformer

    for name in turingformer.__all__:
        assert getattr(turingformer, name) is not None
    from turingformer import verify

    assert callable(verify) and verify.__module__ == "turingformer.analysis.verify"


# ---------------------------------------------------------------------------- the registry
ECHO = '''
"""A toy construction: an identity ("echo") looped transformer that copies its input tape."""
from dataclasses import dataclass
from typing import ClassVar

from turingformer.compiler.protocol import (
    TURING_MACHINE, Construction, Divergence, Model, Run, Summary, Verification, text_table,
)
from turingformer.runtime.looped import IntegerLoop, LoopBlock, LoopedTransformer
from turingformer.runtime.serialize import WeightReader, WeightWriter
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import MLP
from turingformer.tm.trace import HaltReason, Verdict, trace_from_events


@dataclass(frozen=True)
class EchoSummary(Summary):
    d: int

    def lines(self):
        return [f"echo: one block, a zero feed-forward net, d = {self.d}"]


@dataclass(frozen=True, repr=False)
class EchoModel(Model):
    kind: ClassVar[str] = "echo"
    transformer: LoopedTransformer
    alphabet: tuple
    title: str = ""

    construction = property(lambda self: "echo")
    name = property(lambda self: self.title)
    network = property(lambda self: self.transformer)

    def run(self, input=None, *, max_steps=None, progress=None):
        word = input or ""
        space = self.network.space
        card = [space.vector({f"symbol={a}": 1}) for a in word]
        runner = IntegerLoop(self.network)
        out = runner.step(runner.to_array(card))[0] if card else None
        back = "".join(self.alphabet[int(col.argmax())] for col in out.T) if card else ""
        trace = trace_from_events(word=back, blank="_", states=("echo",), heads=(0,), writes=(),
                                  reason=HaltReason.HALTING_STATE, verdict=Verdict.HALTED, machine_name=self.title)
        return Run(trace, word, 1, "loop")

    def summary(self):
        return EchoSummary(len(self.network.space))

    def to_json(self):
        w = WeightWriter(self.network.space)
        blocks = [w.mlp(b.ffn, f"loop.{l}.ffn") for l, b in enumerate(self.network.blocks)]
        return {"spaces": w.spaces(), "blocks": blocks, "labels": {"alphabet": list(self.alphabet), "name": self.title}}

    @classmethod
    def from_json(cls, data, r):
        r.obj(data, "the document", ("format", "version", "kind", "digest", "source", "spaces", "blocks", "labels"))
        maps = WeightReader(r, data["spaces"])
        blocks = tuple(LoopBlock((), maps.mlp(b, f"blocks[{l}]")) for l, b in enumerate(r.list(data["blocks"], "blocks")))
        labels = r.obj(data["labels"], "labels", ("alphabet", "name"))
        return cls(LoopedTransformer(maps.residual, blocks), r.strings(labels["alphabet"], "labels.alphabet"),
                   r.string(labels["name"], "labels.name"))


@dataclass(frozen=True, repr=False)
class EchoVerification(Verification):
    word: str
    echoed: str
    divergence: object
    checked: int = 1

    @property
    def reference(self):
        return trace_from_events(word=self.word, blank="_", states=("echo",), heads=(0,), writes=(),
                                 reason=HaltReason.HALTING_STATE, verdict=Verdict.HALTED)

    def table(self, *, limit=None):
        return text_table(("input", "echoed"), [(self.word, self.echoed)])

    def agreement(self):
        return "the echo transformer gives back its input"


class Echo(Construction):
    name = "echo"
    description = "a toy: the identity looped transformer (tests/test_architecture.py)"
    sources = (TURING_MACHINE,)
    model_kind = "echo"

    def compile(self, source, **options):
        space, hidden = Space(tuple(f"symbol={a}" for a in source.tape_alphabet)), Space(("unit",))
        ffn = MLP((Linear.zero(space, hidden), Linear.zero(hidden, space)))
        return EchoModel(LoopedTransformer(space, (LoopBlock((), ffn),)), tuple(source.tape_alphabet), source.name)

    def verify(self, source, input=None, *, model=None, max_steps=None, progress=None, rows=None, **options):
        model = model or self.compile(source)
        word = input or ""
        echoed = model.run(word).trace.input
        divergence = None if echoed == word else Divergence(0, "loop", "loop.0", "tape", word, echoed)
        return EchoVerification(word, echoed, divergence)
'''


def test_a_new_construction_is_one_registry_entry(tmp_path, capsys, monkeypatch):
    """A toy construction, registered at run time, goes through the Python API and every CLI command
    (compile, run, verify, inspect, save, load, print) without a line of modelfile.py, cli/ or analysis/."""
    import json

    import turingformer
    from turingformer.cli import main
    from turingformer.compiler import register, unregister

    (tmp_path / "echo_construction.py").write_text(ECHO)
    monkeypatch.syspath_prepend(str(tmp_path))
    import echo_construction

    machine_file = str(ROOT / "machines" / "binary_increment.yaml")
    register(echo_construction.Echo(), model=echo_construction.EchoModel)
    try:
        for part in ("modelfile.py", "cli", "analysis"):      # nothing of the toy is written there
            files = [PACKAGE / part] if part.endswith(".py") else sorted((PACKAGE / part).rglob("*.py"))
            assert not any(re.search(r"""['"]echo['"]|Echo""", f.read_text(encoding="utf-8")) for f in files)
        machine = turingformer.load(machine_file)
        model = turingformer.compile(machine, "echo")
        assert model.run("1011").trace.input == "1011" and "EchoModel('binary increment'" in repr(model)
        assert turingformer.verify(model, "1011").ok
        turingformer.save_model(model, tmp_path / "echo.json")
        loaded = turingformer.load_model(tmp_path / "echo.json")
        assert loaded == model and turingformer.verify(loaded, "110").ok

        out = str(tmp_path / "cli.json")
        assert main(["compile", machine_file, "--construction", "echo", "-o", out]) == 0
        assert "echo: one block, a zero feed-forward net" in capsys.readouterr().out
        assert main(["run", out, "--input", "101", "--json", "--quiet"]) == 0
        summary = json.loads(capsys.readouterr().out)
        assert summary["input"] == "101" and summary["verdict"] == "halted"
        assert main(["verify", out, "--input", "11"]) == 0
        assert "the echo transformer gives back its input" in capsys.readouterr().out
        assert main(["inspect", out]) == 0
        assert "loop.0.ffn.1" in capsys.readouterr().out
    finally:
        unregister("echo")
    assert main(["run", out]) == 2
    assert "unknown kind 'echo'" in capsys.readouterr().err
