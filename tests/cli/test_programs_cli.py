"""``turingformer simulate PROGRAM`` and ``show PROGRAM``: the loop table, the JSON Lines shape,
the .expect check, loop limits, and bad programs (one error line, exit 2)."""

from __future__ import annotations

import json

import pytest

from paths import BROKEN, MACHINES
from turingformer.cli import main

PROGRAMS = MACHINES / "programs"


def run_cli(capsys, *argv):
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_simulate_prints_every_loop_and_checks_the_expectation(capsys):
    status, out, err = run_cli(capsys, "simulate", str(PROGRAMS / "add.subleq"))
    lines = out.splitlines()
    assert status == 0 and err == ""
    assert lines[0] == f"add (SUBLEQ-H, 8-bit words, 3 cells, 4 instructions), {PROGRAMS / 'add.subleq'}"
    assert lines[1].split() == ["step", "pc", "x", "y", "__Z"]
    assert [line.split() for line in lines[2:7]] == [
        ["0", "0", "7", "35", "0"], ["1", "1", "7", "35", "-7"], ["2", "2", "7", "42", "-7"],
        ["3", "3", "7", "42", "0"], ["4", "4", "7", "42", "0"]]
    assert lines[7] == "halted after 4 loops (pc = s = 4); x = 7, y = 42, __Z = 0"
    assert lines[8] == "expect: y = 42, x = 7, steps = 4: met"


def test_simulate_json_lines(capsys):
    status, out, _ = run_cli(capsys, "simulate", str(PROGRAMS / "clear_ptr.usubleq"), "--json")
    objects = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and len(objects) == 19 + 2
    assert all(set(o) == {"step", "pc", "memory"} for o in objects[:-1])
    assert [o["step"] for o in objects[:-1]] == list(range(20))
    summary = objects[-1]
    assert summary["summary"] is True and summary["steps"] == 19 and summary["halted"] is True
    assert summary["pc"] == -1 and summary["kind"] == "subleq-u" and summary["bits"] == 8
    assert summary["memory"] == objects[-2]["memory"] and summary["memory"][-4:] == [0, 0, 0, 0]
    assert summary["labels"]["LIST"] == 0 and summary["labels"]["CNT"] == 0
    status, quiet, _ = run_cli(capsys, "simulate", str(PROGRAMS / "clear_ptr.usubleq"), "--json", "--quiet")
    assert [json.loads(line) for line in quiet.splitlines()] == [summary]


def test_max_steps_counts_loops(capsys):
    status, out, err = run_cli(capsys, "simulate", str(PROGRAMS / "mul.subleq"), "--max-steps", "7", "--json")
    objects = [json.loads(line) for line in out.splitlines()]
    assert status == 0 and objects[-1]["steps"] == 7 and objects[-1]["halted"] is False
    assert "did not halt within the limit of 7 loops" in err
    status, out, _ = run_cli(capsys, "simulate", str(PROGRAMS / "mul.subleq"), "-n", "7")
    assert "still running after 7 loops at pc 1" in out and "steps = 55: not checked (the run stopped after 7" in out


def test_show_lists_memory_and_code(capsys):
    status, out, _ = run_cli(capsys, "show", str(PROGRAMS / "mul.subleq"))
    assert status == 0
    assert "halted at pc = s = 6" in out
    assert [l.split() for l in out.splitlines() if l.startswith("  3 ") or l.startswith("  0 ")][:2] == [
        ["0", "a", "7"], ["3", "#1", "1"]]
    assert "  0   top    __Z  b    HALT  8" in out
    assert "expect: r = 63, b = 0, steps = 55" in out
    status, out, _ = run_cli(capsys, "show", str(PROGRAMS / "gcd.fleq"))
    assert "  pc  label  op   a    b    c    f    p     line" in out and "next  8" in out


def test_official_csv_with_bits(tmp_path, capsys):
    (tmp_path / "t_cmds.csv").write_text("a,b,c\n3,3,4\n1,2,4\n")
    (tmp_path / "t_init_mem.csv").write_text("mem\n0\n-1\n300\n")
    status, _, err = run_cli(capsys, "simulate", str(tmp_path / "t_cmds.csv"), "-n", "3")
    assert status == 2 and "300 does not fit in 8 bits" in err
    status, out, _ = run_cli(capsys, "simulate", str(tmp_path / "t_cmds.csv"), "-n", "3", "--bits", "10", "--json")
    assert status == 0 and json.loads(out.splitlines()[-1])["memory"] == [0, -1, 0]


@pytest.mark.parametrize("name", ["unknown_label.subleq", "too_many_cells.usubleq", "unknown_function.fleq",
                                  "lonely_cmds.csv"])
def test_bad_programs_exit_2_with_one_error(capsys, name):
    for command in ("simulate", "show"):
        status, out, err = run_cli(capsys, command, str(BROKEN / "programs" / name))
        assert status == 2 and out == ""
        assert err.startswith("turingformer: error: ") and "Traceback" not in err
        assert len(err.splitlines()) == 2 and err.splitlines()[1].startswith("  fix: ")


def test_input_is_refused_for_programs(capsys):
    status, _, err = run_cli(capsys, "simulate", str(PROGRAMS / "add.subleq"), "--input", "101")
    assert status == 2 and "are for Turing machines" in err


def test_an_expectation_that_is_not_met_is_exit_1(tmp_path, capsys):
    wrong = tmp_path / "wrong.subleq"
    wrong.write_text((PROGRAMS / "add.subleq").read_text().replace("y = 42", "y = 41"))
    status, out, _ = run_cli(capsys, "simulate", str(wrong))
    assert status == 1 and "expect: y = 41" in out and "NOT MET: y = 41 expected, got 42" in out
