"""docs/export.md works as written: its Python blocks run in order in one namespace, and its shell
blocks run command by command (``turingformer …``, ``… > FILE`` and ``… | diff - FILE``) in the
same folder. Not run here: the install block, and the walker's long ``--check`` (benchmarks/export.py
runs that one)."""

from __future__ import annotations

import contextlib
import io
import linecache
import os
import re
import shlex

import pytest

from paths import ROOT

for module in ("torch", "safetensors", "onnx", "onnxruntime", "nnsight", "transformer_lens"):
    pytest.importorskip(module)
pytest.importorskip("torch").set_num_threads(1)      # tiny tensors: threads only wait (docs/export.md)

DOC = ROOT / "docs" / "export.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def blocks(kind: str) -> list[str]:
    return [body for info, body in BLOCK.findall(DOC.read_text(encoding="utf-8")) if info == kind]


def run_line(line: str, capsys) -> None:
    """One shell line of the doc, in-process: ``turingformer ARGS [> FILE | | diff - FILE]``."""
    from turingformer.cli import main
    command, _, rest = line.partition("|")
    command, _, target = command.partition(">")
    args = shlex.split(command)
    assert args[0] == "turingformer", line
    capsys.readouterr()
    status = main(args[1:])
    out, err = capsys.readouterr()
    assert status == 0, f"{line}: exit {status}: {err}"
    if target.strip():
        with open(target.strip(), "w", encoding="utf-8") as f:
            f.write(out)
    if rest.strip():
        diff, dash, other = shlex.split(rest)
        assert (diff, dash) == ("diff", "-"), line
        assert out == open(other, encoding="utf-8").read(), f"{line}: the outputs differ"


@pytest.fixture
def in_a_folder(tmp_path, monkeypatch):
    for folder in ("machines", "benchmarks"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_shell_blocks_work_as_written(in_a_folder, capsys):
    runnable = [b for b in blocks("sh") if "pip install" not in b and "benchmarks/" not in b]
    assert runnable
    for block in runnable:
        for line in block.splitlines():
            run_line(line.split("  #")[0].strip(), capsys)
    assert (in_a_folder / "fact.onnx").exists() and (in_a_folder / "bi.safetensors").exists()


@pytest.mark.filterwarnings("ignore:Module .model. has a submodule named .output.")
def test_the_python_blocks_work_as_written(in_a_folder, capsys):
    code = blocks("python")
    assert len(code) >= 8
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        for k, block in enumerate(code):
            name = f"<{DOC.name} block {k}>"
            linecache.cache[name] = (len(block), None, block.splitlines(True), name)   # nnsight reads a trace's source
            exec(compile(block, name, "exec"), namespace)
    assert "['1'] -> ['0']" in printed.getvalue()
    assert os.path.exists("turingformer_torch.py")
