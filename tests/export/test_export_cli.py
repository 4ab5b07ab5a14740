"""``turingformer export``: the written file's run prints what ``run --json`` prints, ``--check``
exits 1 at the first divergence and names it, and bad requests get one error line (a missing
extra included — that one runs without torch)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from paths import MACHINES, PROGRAMS, ROOT
from turingformer.cli import main


def compile_to(tmp_path, source, name: str) -> str:
    model = tmp_path / name
    assert main(["compile", str(source), "-o", str(model)]) == 0
    return str(model)


def printed(capsys, argv) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("to, suffix", [("torch", ".safetensors"), ("onnx", ".onnx")])
def test_the_written_export_runs_as_run_json_prints_it(tmp_path, capsys, to, suffix):
    pytest.importorskip({"torch": "torch", "onnx": "onnxruntime"}[to])
    for source, word in ((PROGRAMS / "gcd.fleq", None), (MACHINES / "palindrome.yaml", "abba"),
                         (PROGRAMS / "matmul.fleqm", None)):   # a FLEQ-M matrix computer too
        model = compile_to(tmp_path, source, source.stem + ".json")
        given = [] if word is None else ["--input", word]
        status, expected, _ = printed(capsys, ["run", model, "--json", *given])
        out = str(tmp_path / (source.stem + suffix))
        status, got, err = printed(capsys, ["export", model, "--to", to, "-o", out, "--run", "--json", "--check", "1000",
                                            *given])
        assert status == 0 and got == expected, err
        assert "INEXACT" in err and "the export agrees with the exact model" in err


def test_check_exits_1_at_the_first_divergence_and_names_it(tmp_path, capsys):
    pytest.importorskip("torch")
    model = compile_to(tmp_path, ROOT / "benchmarks" / "machines" / "zigzag_walker.yaml", "walker.json")
    status, out, _ = printed(capsys, ["export", model, "--to", "torch", "--dtype", "float32", "-o",
                                      str(tmp_path / "w.safetensors"), "--check", "300", "--input", ""])
    assert status == 1
    assert "DIVERGENCE: the export's first divergence at decoder step 104, decoder.3.attn.winners" in out


@pytest.mark.parametrize("argv, message", [
    (["--to", "torch", "-o", "m.onnx"], "a torch export is a .safetensors file, not"),
    (["--to", "onnx", "-o", "m.safetensors"], "an onnx export is a .onnx file"),
    (["--to", "torch", "-o", "m.safetensors", "--activations", "all"], "--activations names the extra outputs"),
])
def test_bad_requests_get_one_error_line(tmp_path, capsys, argv, message):
    pytest.importorskip("torch")
    pytest.importorskip("onnxruntime")
    model = compile_to(tmp_path, MACHINES / "binary_increment.yaml", "bi.json")
    argv = [a if not a.startswith("m.") else str(tmp_path / a) for a in argv]
    status, _, err = printed(capsys, ["export", model, *argv])
    assert status == 2 and message.replace("an onnx", "a onnx") in err.replace("an onnx", "a onnx")
    assert "Traceback" not in err and not list(tmp_path.glob("m.*"))


def test_export_takes_a_model_file_and_never_writes_over_it(tmp_path, capsys):
    model = compile_to(tmp_path, MACHINES / "binary_increment.yaml", "bi.json")
    status, _, err = printed(capsys, ["export", str(MACHINES / "binary_increment.yaml"), "--to", "onnx", "-o",
                                      str(tmp_path / "x.onnx")])
    assert status == 2 and "model file" in err
    before = (tmp_path / "bi.json").read_bytes()
    status, _, err = printed(capsys, ["export", model, "--to", "onnx", "-o", model])
    assert status == 2 and (tmp_path / "bi.json").read_bytes() == before


def test_without_the_extra_the_error_names_it(tmp_path):
    model = compile_to(tmp_path, MACHINES / "binary_increment.yaml", "bi.json")
    script = ("import sys; sys.modules['torch'] = None\n"
              "from turingformer.cli import main\n"
              f"sys.exit(main(['export', {model!r}, '--to', 'torch', '-o', {str(tmp_path / 'bi.safetensors')!r}]))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == ("turingformer: error: exporting to torch needs the Python package 'torch', "
                                           "which is not installed")
    assert "pip install 'turingformer[torch]'" in done.stderr and not (tmp_path / "bi.safetensors").exists()
