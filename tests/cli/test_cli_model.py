"""The transformer commands of the CLI: compile, run, verify, inspect, demo (issue 3)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from turingformer.cli import main

from paths import ROOT
INCREMENT = str(ROOT / "machines" / "binary_increment.yaml")
BB4_TMIO = ROOT / "tests" / "corpus" / "turingmachine_io" / "busy_beaver_4.yaml"


def test_compile_writes_a_model_and_prints_the_summary(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["compile", INCREMENT, "-o", str(model), "--check"]) == 0
    out = capsys.readouterr().out
    assert "d = 2|Q'| + 4|Σ'| + 11 = 41" in out and "non-zero weights" in out
    assert out.count("agrees") == 7 and "DIVERGES" not in out
    assert json.loads(model.read_text())["format"] == "turingformer-model"


def test_run_in_a_separate_process_prints_the_same_json_as_simulate(tmp_path):
    model = tmp_path / "m.json"
    assert main(["compile", INCREMENT, "-o", str(model)]) == 0
    ran = subprocess.run([sys.executable, "-m", "turingformer", "run", str(model), "--input", "10111", "--json"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    simulated = subprocess.run([sys.executable, "-m", "turingformer", "simulate", INCREMENT, "--input", "10111",
                                "--json"], capture_output=True, text=True, check=True).stdout.splitlines()
    decoded = [json.loads(line) for line in ran]
    assert "modified" not in decoded[-1]        # the model file is as compiled: the summary is the simulator's
    assert len(ran) == 12 and decoded == [json.loads(line) for line in simulated]


@pytest.mark.parametrize("decoder", ["fast", "plain"])
def test_verify_prints_agreement_step_by_step(capsys, decoder):
    assert main(["verify", INCREMENT, "--input", "111", "--decoder", decoder]) == 0
    out = capsys.readouterr().out
    assert "agrees with the simulator at every step" in out and " NO" not in out


def test_verify_accepts_the_machine_options_of_simulate(capsys):
    if not BB4_TMIO.exists():
        pytest.skip("local corpus copy missing")
    assert main(["verify", str(BB4_TMIO), "--format", "turingmachine.io", "--max-steps", "50", "--quiet"]) == 0
    assert "50 steps of the machine" in capsys.readouterr().out


def test_verify_exits_1_and_names_the_first_divergence(tmp_path, capsys, monkeypatch):
    """Corrupt one weight of layer 3's query (the recency term 1/3 -> 3, which breaks case (b) of the
    uniqueness proof): verification must find the step, layer and slot."""
    import turingformer.compiler.perez.construction as construction
    from fractions import Fraction

    original = construction.THIRD
    monkeypatch.setattr(construction, "THIRD", Fraction(3))
    try:
        status = main(["verify", INCREMENT, "--input", "1011", "--quiet"])
    finally:
        monkeypatch.setattr(construction, "THIRD", original)
    out = capsys.readouterr().out
    assert status == 1 and "DIVERGENCE: first divergence at decoder step" in out and "decoder.3" in out


def test_inspect_lists_maps_dimensions_and_weights(tmp_path, capsys):
    model = tmp_path / "m.json"
    main(["compile", INCREMENT, "-o", str(model)])
    capsys.readouterr()
    assert main(["inspect", str(model), "--dimensions", "--weights", "decoder.3.attn.query"]) == 0
    out = capsys.readouterr().out
    assert "x4:c(i+1)/(i+1)" in out and "decoder.2.attn.value" in out
    assert "x11:1/(i+1)^2" in out and "1/3" in out


def test_run_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a turingformer model file" in err and "Traceback" not in err


def test_run_refuses_an_input_outside_the_compiled_alphabet(tmp_path, capsys):
    model = tmp_path / "m.json"
    main(["compile", INCREMENT, "-o", str(model)])
    assert main(["run", str(model), "--input", "102"]) == 2
    assert "'2'" in capsys.readouterr().err


def test_demo_runs_the_whole_tour(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    for marker in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5.", "agrees with the simulator at every step"):
        assert marker in out


def test_run_prints_only_the_summary_past_the_table_limit(tmp_path, capsys, monkeypatch):
    import turingformer.cli as cli

    model = tmp_path / "m.json"
    main(["compile", INCREMENT, "-o", str(model)])
    capsys.readouterr()
    monkeypatch.setattr(cli.tables, "TABLE_ROW_LIMIT", 5)
    assert main(["run", str(model), "--input", "1011"]) == 0
    captured = capsys.readouterr()
    assert "8 steps: printing the summary only" in captured.err
    assert "head 0" not in captured.out and "halted after 8 steps" in captured.out
