"""The package's layering (docs/architecture.md), checked from the source with ``ast``.

Every import of a ``turingformer`` module, at module level or inside a function, is an edge of the
import graph. The graph must have no cycle, each edge must go from a layer to the same or a lower
one, and argparse may only be imported below ``turingformer/cli``.
"""

from __future__ import annotations

import ast
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
    "analysis": 4,
    "views": 5,
    "serve": 6,
    "cli": 7,
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
