"""The command line of a Turing machine on the looped transformer (issue 14, item 3)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paths import MACHINES
from turingformer.cli import main

INCREMENT = str(MACHINES / "binary_increment.yaml")
BB3 = str(MACHINES / "busy_beaver_3.yaml")


def _lines(*argv: str) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "turingformer", *argv], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.parametrize("path, word", [(INCREMENT, None), (INCREMENT, "111"), (BB3, None)])
def test_run_of_a_looped_model_in_a_fresh_process_prints_what_simulate_prints(tmp_path, path, word):
    model = tmp_path / "m.json"
    given = [] if word is None else ["--input", word]
    assert main(["compile", path, "--construction", "looped-machine", "--tape-cells", "24", "-o", str(model), *given]) == 0
    ran = _lines("run", str(model), "--json")
    simulated = _lines("simulate", path, "--json", *given)
    assert ran == simulated and len(ran) > 5
    assert json.loads(model.read_text())["kind"] == "looped-machine"


def test_run_takes_another_input_on_the_compiled_tape_block(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["compile", INCREMENT, "--construction", "looped-machine", "-o", str(model)]) == 0
    capsys.readouterr()
    assert main(["run", str(model), "--input", "1111", "--json", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["tape"], summary["tape_offset"], summary["steps"]) == ("10000", -1, 10)


def test_verify_checks_every_machine_step_and_every_loop(capsys):
    assert main(["verify", BB3, "--construction", "looped-machine", "--tape-cells", "16"]) == 0
    out = capsys.readouterr().out
    assert "agrees with the simulator at every machine step and with the SUBLEQ-U interpreter after every loop" in out
    assert out.count("agrees\n") == 22 and "DIFFERS" not in out


def test_a_run_off_the_tape_block_says_tape_bound(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["compile", BB3, "--construction", "looped-machine", "--tape-cells", "3", "--head-offset", "1", "-o",
                 str(model)]) == 0
    capsys.readouterr()
    assert main(["run", str(model)]) == 0
    captured = capsys.readouterr()
    assert "the head left the tape block (tape bound); verdict: running" in captured.out
    assert "tape bound" in captured.err and "--tape-cells" in captured.err
    assert main(["verify", BB3, "--construction", "looped-machine", "--tape-cells", "3", "--head-offset", "1", "--quiet"]) == 0
    assert "(tape bound)" in capsys.readouterr().out


def test_show_lists_the_program_with_labels(capsys):
    assert main(["show", INCREMENT, "--construction", "looped-machine", "--tape-cells", "6"]) == 0
    out = capsys.readouterr().out
    assert "q:right:" in out and "q:carry:" in out and "subleq NHP right.R" in out
    assert "subleq tape+1 T right.test1" in out and "tape bound" in out


def test_inspect_describes_the_layout(tmp_path, capsys):
    model = tmp_path / "m.json"
    assert main(["compile", INCREMENT, "--construction", "looped-machine", "--tape-cells", "8", "-o", str(model)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(model)]) == 0
    out = capsys.readouterr().out
    assert "states (entry cell): right (0), carry (27), done (81)" in out and "d = 23" in out


@pytest.mark.parametrize("argv, message", [
    (["compile", INCREMENT, "--tape-cells", "8", "-o", "{tmp}/x.json"], "--tape-cells is an option of looped-machine, not of perez"),
    (["compile", INCREMENT, "--construction", "looped-machine", "--tape-cells", "2", "-o", "{tmp}/x.json"], "does not fit a tape block of 2 cells"),
    (["verify", INCREMENT, "--construction", "looped-machine", "--input", "12"], "input '12'"),
])
def test_bad_options_are_one_clear_error(tmp_path, capsys, argv, message):
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and "fix:" in err
    assert not (tmp_path / "x.json").exists()
