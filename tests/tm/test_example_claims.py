"""Checking a machine file's ``examples:`` (tm/examples.py) and the commands that report it:
``simulate``, ``compile --check`` and ``verify`` say met / NOT MET and exit 1 on a wrong claim."""

from __future__ import annotations

import re

import pytest

from turingformer.cli import main
from turingformer.tm.examples import check_example, check_examples
from turingformer.tm.formats import loads_machine
from turingformer.tm.machine import Example

from paths import ROOT

INCREMENT = (ROOT / "machines" / "binary_increment.yaml").read_text(encoding="utf-8")
#: binary increment with one wrong example (the run of '1011' takes 8 steps and ends '1100') and one right one.
WRONG = re.sub(r"examples:.*", "examples:\n  - {input: '1011', verdict: halted, tape: '111', steps: 3}\n"
                               "  - {input: '', verdict: halted, tape: '1'}\n", INCREMENT, flags=re.S)


@pytest.fixture(scope="module")
def increment():
    return loads_machine(INCREMENT, "turingformer")


def test_a_true_claim_is_met_and_each_false_field_is_named(increment):
    right = check_example(increment, Example("1011", "halted", "1100", 8, "done"))
    assert right.met and not right.failed and str(right).endswith("met (verdict halted, tape '1100', 8 steps, "
                                                                   "final state done)")
    wrong = check_example(increment, Example("1011", "accept", "111", 3, "carry"), number=4)
    assert wrong.failed and not wrong.met
    assert wrong.differences == ("verdict halted, expected accept", "tape '1100', expected '111'",
                                 "8 steps, expected 3", "final state done, expected carry")
    assert str(wrong).startswith("example 4 (input '1011'): NOT MET: verdict halted, expected accept; ")


def test_a_step_limit_leaves_a_halting_claim_unchecked_unless_it_contradicts_it(increment):
    short = check_example(increment, Example("1011", "halted", steps=8), max_steps=5)
    assert not short.met and not short.failed and "step limit of 5 steps" in short.unchecked
    early = check_example(increment, Example("1011", "halted", steps=4), max_steps=5)
    assert early.failed and early.differences == ("still running after 5 steps, expected to halt after 4",)


def test_a_running_claim_is_checked_at_its_step(increment):
    assert check_example(increment, Example("1011", "running", "1011", 3, "right")).met
    halts = check_example(increment, Example("1011", "running", steps=20))
    assert halts.failed and "halted after 8 steps" in halts.differences[0]
    moved = check_example(increment, Example("1011", "running", steps=5, final_state="right"))
    assert moved.differences == ("final state carry, expected right",)


def test_the_callers_run_is_used(increment):
    from turingformer.tm.simulator import run
    result = run(increment, "1011")
    assert check_example(increment, Example("1011", tape="1100"), result=result).met
    # a run of another length (a running claim) is not taken for the claim's own
    assert check_example(increment, Example("1011", "running", "1011", 2, "right"), result=result).met


def test_check_examples_numbers_every_example():
    checks = check_examples(loads_machine(WRONG, "turingformer"))
    assert [(c.number, c.met) for c in checks] == [(1, False), (2, True)]


@pytest.fixture
def wrong(tmp_path):
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG, encoding="utf-8")
    return str(path)


NOT_MET = "example 1 (input '1011'): NOT MET: tape '1100', expected '111'; 8 steps, expected 3"


def test_simulate_reports_the_example_it_runs(wrong, capsys):
    """On stderr: stdout stays what ``run MODEL`` prints (table or JSON Lines)."""
    assert main(["simulate", wrong, "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert f"turingformer: {NOT_MET}" in err and "example" not in out
    assert main(["simulate", wrong, "--quiet", "--input", ""]) == 0
    assert "example 2 (input ''): met (verdict halted, tape '1')" in capsys.readouterr().err
    assert main(["simulate", wrong, "--quiet", "--input", "1"]) == 0          # no claim about '1'
    assert "example" not in capsys.readouterr().err
    assert main(["simulate", wrong, "--json"]) == 1
    out, err = capsys.readouterr()
    assert all(line.startswith("{") for line in out.splitlines()) and NOT_MET in err


def test_compile_check_and_verify_exit_1_naming_the_example(wrong, tmp_path, capsys):
    model = str(tmp_path / "wrong.json")
    assert main(["compile", wrong, "-o", model, "--check"]) == 1
    out = capsys.readouterr().out
    assert "agrees" in out and NOT_MET in out and "example 2 (input ''): met" in out
    assert main(["verify", wrong, "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "agrees with the simulator" in out and NOT_MET in out
    assert main(["verify", model, "--quiet"]) == 1                           # the model's recorded machine
    assert NOT_MET in capsys.readouterr().out
    assert main(["verify", wrong, "--quiet", "--input", ""]) == 0


def test_a_bare_input_claims_nothing_and_is_not_reported(increment, capsys):
    bare = increment.replace(examples=[Example("1011")])
    assert check_examples(bare) == ()
    from turingformer.cli.machines import report_examples
    from turingformer.tm.simulator import run
    assert report_examples(bare, "1011", run(bare, "1011"), 100) == 0 and capsys.readouterr() == ("", "")
