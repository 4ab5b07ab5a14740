"""The command line: simulate, show, convert, graph, errors and interrupts (run in-process)."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

from turingformer import cli
from turingformer.cli import common, main
from turingformer.tm.formats import load_machine, loads_machine

from paths import LOCAL_CORPUS as CORPUS
BB2 = str(CORPUS / "bbchallenge" / "bb2_champion.txt")
BB4 = str(CORPUS / "bbchallenge" / "bb4_champion.txt")
TMIO_PALINDROME = str(CORPUS / "turingmachine_io" / "palindrome.yaml")
MORPHETT_ADD = str(CORPUS / "morphett" / "binaryadd.txt")
DTM = str(CORPUS / "automata_lib" / "dtm_0n1n.json")
REPEAT = str(CORPUS / "turingmachine_io" / "repeat_01.yaml")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------------------- help
@pytest.mark.parametrize("command", [[], ["simulate"], ["show"], ["convert"], ["graph"]])
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as caught:
        main([*command, "--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: turingformer")
    if command == ["simulate"]:
        assert "--max-steps" in out and "--input" in out and "--format" in out and "--json" in out


def test_python_dash_m_help():
    done = subprocess.run([sys.executable, "-m", "turingformer", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0
    for name in ("simulate", "show", "convert", "graph"):
        assert name in done.stdout


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as caught:
        main([])
    assert caught.value.code == 2


# ---------------------------------------------------------------------------- simulate
def test_simulate_table(capsys):
    code, out, err = run_cli(capsys, "simulate", BB2)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "bb2_champion (bbchallenge), input ''"
    assert lines[1].split() == ["step", "state", "tape"]
    assert lines[2] == "     0  A       0 0[0]0   head 0"         # the window spans cells -2..1 for the whole run
    assert lines[3] == "     1  B       0 0 1[0]  head 1"
    assert len(lines) == 2 + 7 + 1
    assert lines[-1].startswith("halted after 6 steps in state Z (entered a halting state); verdict: halted; "
                                "tape '1111' from cell -2, head on cell 0, 4 non-blank")


def test_simulate_uses_the_default_input(capsys):
    code, out, _ = run_cli(capsys, "simulate", TMIO_PALINDROME)
    assert "the file's default input 'abba'" in out.splitlines()[0]
    assert out.splitlines()[-1].startswith("halted after 15 steps in state accept")
    code, out, _ = run_cli(capsys, "simulate", TMIO_PALINDROME, "--input", "ab", "--quiet")
    assert out.splitlines() == ["palindrome (turingmachine.io), input 'ab'",
                                "halted after 4 steps in state reject (entered a halting state); verdict: reject; "
                                "tape 'b ' from cell 1, head on cell 2, 1 non-blank"]


def test_simulate_json_lines(capsys):
    code, out, err = run_cli(capsys, "simulate", BB2, "--json")
    assert code == 0 and err == ""
    objects = [json.loads(line) for line in out.splitlines()]
    assert len(objects) == 8
    assert objects[0] == {"step": 0, "state": "A", "head": 0, "tape": "0", "tape_offset": 0}
    assert objects[1] == {"step": 1, "state": "B", "head": 1, "tape": "10", "tape_offset": 0}
    summary = objects[-1]
    assert summary["summary"] is True
    assert {k: summary[k] for k in ("steps", "final_state", "halted", "reason", "verdict", "nonblank", "tape",
                                    "tape_offset", "head")} == {
        "steps": 6, "final_state": "Z", "halted": True, "reason": "halting state", "verdict": "halted",
        "nonblank": 4, "tape": "1111", "tape_offset": -2, "head": 0}
    code, out, _ = run_cli(capsys, "simulate", BB2, "--json", "--quiet")
    assert [json.loads(line)["summary"] for line in out.splitlines()] == [True]


def test_simulate_step_limit(capsys):
    code, out, err = run_cli(capsys, "simulate", REPEAT, "--max-steps", "20", "--json")
    assert code == 0
    summary = json.loads(out.splitlines()[-1])
    assert (summary["steps"], summary["halted"], summary["verdict"], summary["reason"]) == (
        20, False, "running", "step limit")
    assert "did not halt within the step limit of 20 steps" in err and "--max-steps" in err
    code, out, err = run_cli(capsys, "simulate", REPEAT, "-n", "3")
    assert out.splitlines()[-1].startswith("still running after 3 steps in state f (step limit); verdict: running")


def test_simulate_long_runs_print_the_summary_only(capsys, monkeypatch):
    monkeypatch.setattr(cli.tables, "TABLE_ROW_LIMIT", 50)
    code, out, err = run_cli(capsys, "simulate", BB4)
    assert code == 0
    assert len(out.splitlines()) == 2 and "halted after 107 steps" in out
    assert "107 steps: printing the summary only" in err


def test_simulate_follows_the_source_conventions(capsys):
    code, out, err = run_cli(capsys, "simulate", MORPHETT_ADD, "--input", "1 1", "--quiet")
    assert "input '1_1'" in out and "tape '10' from cell -1" in out
    code, out, err = run_cli(capsys, "simulate", DTM, "--input", "02", "--quiet")
    assert code == 0 and "verdict: reject" in out
    assert "outside the machine's alphabet; automata-lib runs it anyway" in err


def test_simulate_reports_morphett_step_counting(capsys, tmp_path):
    path = tmp_path / "stop.txt"
    path.write_text("0 1 1 r 0\n; $INITIAL_TAPE: 1x")
    code, out, _ = run_cli(capsys, "simulate", str(path), "--quiet")
    assert "halted after 1 step in state 0 (no rule for state 0 reading 'x')" in out
    assert "morphett itself would report 2 steps and state halt" in out


def test_simulate_wide_tapes_are_windowed(capsys):
    code, out, _ = run_cli(capsys, "simulate", REPEAT, "-n", "130")
    rows = out.splitlines()[2:-1]
    assert len(rows) == 131
    assert all(row.count("[") == 1 and row.count("]") == 1 for row in rows)
    assert "…" in rows[-1] and len({len(row.split("  head")[0]) for row in rows[70:]}) <= 2


SPINNER = "blank: '_'\ninput alphabet: []\nstates: [a]\nstart: a\nrules:\n  a:\n    '_': ['_', S, a]\n"


def test_progress_on_a_terminal(capsys, monkeypatch, tmp_path):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["simulate", BB4, "--quiet"]) == 0
    assert "step" not in terminal.getvalue()               # 107 steps, well under a second: no bar
    monkeypatch.setattr(common, "PROGRESS_DELAY", 0)       # as if every run took longer than the delay
    monkeypatch.setattr(common, "PROGRESS_INTERVAL", 0)    # and every update came late enough to be drawn
    spinner = tmp_path / "spin.yaml"                       # loops in place forever
    spinner.write_text(SPINNER)
    assert main(["simulate", str(spinner), "--quiet", "-n", str((1 << 20) + 5)]) == 0
    drawn = terminal.getvalue()
    assert "turingformer:   0%|" in drawn and "step/s]" in drawn      # tqdm's bar against the step limit
    assert "| 1.05M/1.05M [" in drawn                       # the update after 2**20 of 2**20 + 5 steps


def test_no_progress_when_not_a_terminal(capsys, tmp_path):
    spinner = tmp_path / "spin.yaml"
    spinner.write_text(SPINNER)
    assert main(["simulate", str(spinner), "--quiet", "-n", str((1 << 20) + 5)]) == 0
    out, err = capsys.readouterr()
    assert "steps ..." not in err and "still running after 1,048,581 steps" in out


# ---------------------------------------------------------------------------- show
def test_show(capsys):
    code, out, err = run_cli(capsys, "show", TMIO_PALINDROME)
    assert code == 0 and err == ""
    assert out.startswith("palindrome  (turingmachine.io format, ")
    assert "states (8): start (start), haveA, haveB, matchA, matchB, back, accept (accept), reject (reject)" in out
    assert "blank: ' '\n" in out and "input alphabet: 'a' 'b'\n" in out and "tape alphabet: ' ' 'a' 'b'\n" in out
    assert "  state \\ read | ' '             | 'a'          | 'b'\n" in out
    assert "  matchA       | ' ' R accept    | ' ' L back   | 'b' R reject\n" in out
    assert "  accept       | (accept: halts)" in out
    assert "examples (1):\n  input 'abba'\n" in out
    assert "unreachable" not in out


def test_show_marks_missing_rules_and_unreachable_states(capsys, tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text("blank: '_'\ninput alphabet: ['1']\nstates: [a, b, c]\nstart: a\nhalt: [c]\n"
                    "allow unreachable: true\nrules:\n  a:\n    '1': ['1', R, c]\n"
                    "examples:\n  - {input: '1', verdict: halted, steps: 1}\n")
    code, out, _ = run_cli(capsys, "show", str(path))
    assert "  a            | -" in out                     # no rule for (a, '_')
    assert "unreachable states: b\n" in out
    assert "  input '1': verdict 'halted', steps 1\n" in out


# ---------------------------------------------------------------------------- convert
def test_convert_to_stdout_and_file(capsys, tmp_path):
    code, out, err = run_cli(capsys, "convert", BB4)
    assert code == 0 and out.startswith("# converted from the bbchallenge format")
    assert loads_machine(out, "turingformer") == load_machine(BB4)
    target = tmp_path / "bb4.yaml"
    code, out, err = run_cli(capsys, "convert", MORPHETT_ADD, "-o", str(target))
    assert code == 0 and out == "" and f"wrote {target}" in err
    assert load_machine(target) == load_machine(MORPHETT_ADD)
    code, out, _ = run_cli(capsys, "simulate", str(target), "--input", "1_1", "--quiet")
    assert "tape '10' from cell -1" in out


def test_convert_with_an_explicit_format(capsys, tmp_path):
    path = tmp_path / "machine.dat"
    path.write_text("1RB1LB_1LA1RZ")
    code, out, _ = run_cli(capsys, "convert", str(path), "--format", "bbchallenge-standard")
    assert code == 0 and "halt: [Z]" in out


# ---------------------------------------------------------------------------- graph
def test_graph_dot(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "graph", BB2)
    assert out.startswith('digraph "bb2_champion" {')
    assert '"A" -> "B" [label="0→1,R\\n1→1,L"];' in out
    assert '"Z" [shape=doublecircle, style=dashed];' in out and '"__start__" -> "A";' in out
    target = tmp_path / "bb2.dot"
    assert main(["graph", BB2, "-o", str(target)]) == 0
    assert target.read_text() == out


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml")])
def test_graph_drawings(suffix, magic, tmp_path, capsys):
    target = tmp_path / f"palindrome{suffix}"
    assert main(["graph", TMIO_PALINDROME, "-o", str(target)]) == 0
    assert target.read_bytes().startswith(magic)
    if suffix == ".svg":
        text = target.read_text()
        assert "haveA" in text and "matchB" in text


def test_graph_errors(capsys, tmp_path, monkeypatch):
    code, _, err = run_cli(capsys, "graph", BB2, "-o", str(tmp_path / "x.jpeg"))
    assert code == 2 and "unknown output extension '.jpeg'" in err
    monkeypatch.setitem(sys.modules, "matplotlib", None)      # as if it were not installed
    code, _, err = run_cli(capsys, "graph", BB2, "-o", str(tmp_path / "x.png"))
    assert code == 2 and "needs matplotlib, which is not installed" in err and "pip install" in err
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------------------- failures
def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "show", cli.Command("show", interrupted))
    assert main(["show", BB2]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_commands_table_is_extensible(monkeypatch, capsys):
    seen = []

    def cmd_hello(args):
        seen.append((args.file, args.input, args.max_steps))
        print("hello")
        return 0

    monkeypatch.setitem(cli.COMMANDS, "hello", cli.Command("say hello", cmd_hello, parents=("machine", "run")))
    assert main(["hello", BB2, "-i", "1", "-n", "5"]) == 0
    assert seen == [(BB2, "1", 5)] and capsys.readouterr().out == "hello\n"
