"""The CLI on programs and looped models: compile, run (same JSON as simulate), verify, inspect,
trace; errors exit 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paths import ROOT
from turingformer.cli import main

PROGRAMS = ROOT / "machines" / "programs"


@pytest.mark.parametrize("name,construction", [("mul.subleq", "subleq-h3"), ("mul.subleq", "subleq-h2"),
                                               ("clear_ptr.usubleq", None), ("dot.fleq", None)])
def test_run_prints_the_same_json_lines_as_simulate(tmp_path, capsys, name, construction):
    model = tmp_path / "m.json"
    extra = ["--construction", construction] if construction else []
    assert main(["compile", str(PROGRAMS / name), "-o", str(model), *extra]) == 0
    out = capsys.readouterr().out
    assert "non-zero weights" in out and "punch card: n = " in out
    assert main(["run", str(model), "--json"]) == 0
    ran = capsys.readouterr().out
    assert main(["simulate", str(PROGRAMS / name), "--json"]) == 0
    assert ran == capsys.readouterr().out and json.loads(ran.splitlines()[-1])["halted"]
    assert main(["run", str(model), "--json", "--quiet"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_run_in_a_fresh_process_and_max_steps_counts_loops(tmp_path):
    model = tmp_path / "m.json"
    assert main(["compile", str(PROGRAMS / "fib.subleq"), "-o", str(model)]) == 0
    done = subprocess.run([sys.executable, "-m", "turingformer", "run", str(model), "--max-steps", "10"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "still running after 10 loops" in done.stdout
    assert "did not halt within the limit of 10 loops" in done.stderr


def test_verify_a_program_and_inspect_its_model(tmp_path, capsys):
    assert main(["verify", str(PROGRAMS / "sum_ptr.usubleq"), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "agrees with the interpreter after every loop" in out and "more loops" in out
    model = tmp_path / "m.json"
    main(["compile", str(PROGRAMS / "add.subleq"), "-o", str(model)])
    capsys.readouterr()
    assert main(["inspect", str(model), "--dimensions", "--weights", "loop.1.ffn.0"]) == 0
    out = capsys.readouterr().out
    assert "loop.2.attn.query" in out and "tmp:gate" in out and "minus_va" in out


def test_trace_views_of_a_program(tmp_path, capsys):
    add = str(PROGRAMS / "add.subleq")
    assert main(["trace", add, "--view", "card", "--step", "2"]) == 0
    out = capsys.readouterr().out
    assert "== after block 2" in out and "reg:pc" in out
    assert main(["trace", add, "--view", "attention"]) == 0
    assert "loop.0.attn: 0->" in capsys.readouterr().out
    for view in ("card", "attention", "spacetime"):
        png = tmp_path / f"{view}.png"
        assert main(["trace", add, "--view", view, "-o", str(png)]) == 0
        assert png.read_bytes()[:4] == b"\x89PNG"
    assert main(["trace", add, "--view", "verification"]) == 0


@pytest.mark.parametrize("argv,message", [
    (["compile", "{u}", "-o", "{o}", "--construction", "subleq-h3"], "compiles subleq-h sources, not subleq-u"),
    (["run", "{m}", "--input", "101"], "a program's input is its initial memory"),
    (["trace", "{p}", "--view", "diagram"], "a program has no state diagram"),
    (["trace", "{p}", "--view", "card", "--step", "0"], "loops count from 1"),
])
def test_errors_exit_2_with_one_line(tmp_path, capsys, argv, message):
    model = tmp_path / "m.json"
    main(["compile", str(PROGRAMS / "add.subleq"), "-o", str(model)])
    capsys.readouterr()
    argv = [a.format(u=PROGRAMS / "patch.usubleq", o=tmp_path / "x.json", m=model, p=PROGRAMS / "add.subleq")
            for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x.json").exists()


def test_an_edited_looped_model_runs_with_a_warning(tmp_path, capsys):
    model = tmp_path / "add.json"
    assert main(["compile", str(ROOT / "machines" / "programs" / "add.subleq"), "-o", str(model)]) == 0
    data = json.loads(model.read_text())
    data["labels"]["name"] = "edited"                 # harmless to decoding, but not what was compiled
    model.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["run", str(model), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "was modified after it was compiled" in err and "compares them with it" in err
