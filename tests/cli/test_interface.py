"""One interface for every construction (issue 24): the bugs that followed from three APIs, each
with the documented result — the same commands and calls for a Pérez model, a looped model and a
machine on the looped computer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import turingformer
from paths import MACHINES, PROGRAMS
from turingformer.cli import main
from turingformer.errors import SourceKindError, TuringformerError

INCREMENT = str(MACHINES / "binary_increment.yaml")
BB3 = str(MACHINES / "busy_beaver_3.yaml")
ADD = str(PROGRAMS / "add.subleq")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A model file of each built-in kind, compiled by the CLI (so each records its source)."""
    folder = tmp_path_factory.mktemp("models")
    paths = {"perez": folder / "perez.json", "looped": folder / "looped.json", "looped-machine": folder / "bridge.json"}
    assert main(["compile", INCREMENT, "-o", str(paths["perez"])]) == 0
    assert main(["compile", ADD, "-o", str(paths["looped"])]) == 0
    assert main(["compile", BB3, "--construction", "looped-machine", "--tape-cells", "16",
                 "-o", str(paths["looped-machine"])]) == 0
    return paths


@pytest.mark.parametrize("kind", ["perez", "looped", "looped-machine"])
def test_verify_model_works_for_every_kind_from_its_recorded_source(models, kind, capsys):
    capsys.readouterr()
    assert main(["verify", str(models[kind]), "--quiet"]) == 0
    assert "agrees" in capsys.readouterr().out


def test_verify_a_looped_model_against_a_machine_is_one_clear_error(models, capsys):
    capsys.readouterr()
    assert main(["verify", str(models["looped"]), "--machine", INCREMENT]) == 2
    err = capsys.readouterr().err
    assert "runs subleq-h sources; it cannot be verified against a turing-machine" in err
    assert "internal error" not in err and err.count("\n") == 2


@pytest.mark.parametrize("kind", ["looped", "looped-machine"])
def test_an_edited_model_of_every_kind_is_flagged_by_run_and_inspect(models, kind, tmp_path, capsys):
    data = json.loads(models[kind].read_text())
    data["labels"]["name"] = "edited"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["run", str(edited), "--json", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out.splitlines()[-1])["modified"] is True and "was modified after it was compiled" in err
    assert main(["inspect", str(edited)]) == 0
    assert "was modified after it was compiled" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["simulate", "show", "graph", "trace", "animate", "convert", "precision"])
def test_a_model_file_given_to_a_source_command_names_the_commands_for_models(models, command, tmp_path, capsys):
    argv = [command, str(models["perez"])] + (["-o", str(tmp_path / "x.html")] if command == "animate" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a model file (kind perez)" in err and "use run, verify, inspect or export" in err
    assert "automata-lib" not in err and "Traceback" not in err


@pytest.mark.parametrize("command", ["graph", "convert", "precision"])
def test_a_program_given_to_a_machine_command_names_the_commands_for_programs(command, tmp_path, capsys):
    argv = [command, ADD]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "is a program" in err and "simulate" in err and "compile" in err and "cannot tell" not in err


def test_a_file_of_no_known_format_lists_every_format_programs_included(tmp_path, capsys):
    mystery = tmp_path / "notes.xyz"
    mystery.write_text("hello\n")
    assert main(["simulate", str(mystery)]) == 2
    err = capsys.readouterr().err
    assert "cannot tell the format" in err and "subleq" in err and "turingmachine.io" in err and ".fleq" in err


def test_trace_of_a_csv_program_honours_bits(tmp_path, capsys):
    (tmp_path / "t_init_mem.csv").write_text("mem\n0\n-1\n300\n")
    (tmp_path / "t_cmds.csv").write_text("a,b,c\n3,3,4\n1,2,4\n")
    assert main(["trace", str(tmp_path / "t_cmds.csv"), "--view", "spacetime", "-n", "2"]) == 2
    assert "--bits N for a CSV program" in capsys.readouterr().err
    assert main(["trace", str(tmp_path / "t_cmds.csv"), "--view", "spacetime", "-n", "2", "--bits", "10"]) == 0
    assert "300" in capsys.readouterr().out


def test_one_api_for_every_kind():
    machine, program = turingformer.load(INCREMENT), turingformer.load(ADD)
    for source, word, construction in ((machine, "1011", None), (program, None, None),
                                      (machine, "1011", "looped-machine")):
        model = turingformer.compile(source, construction)
        run = model.run(word)
        assert run.halted and run.steps > 0 and len(repr(model)) < 200 and len(repr(run)) < 200
        result = turingformer.verify(model, word)
        assert result.ok and result.divergence is None and "agrees" in result.verdict()
        assert result.table(limit=2)


def test_the_python_api_refuses_the_wrong_kind_naming_the_call_to_use(models):
    from turingformer.compiler.perez.decoding import run_model
    looped = turingformer.load_model(models["looped"])
    with pytest.raises(SourceKindError, match="model.run"):
        run_model(looped, "")
    assert turingformer.verify(turingformer.load_model(models["perez"]), "11").ok   # its recorded machine
    with pytest.raises(TuringformerError, match="turingformer.compile"):
        turingformer.save_model(turingformer.load(INCREMENT), models["perez"].parent / "x.json")
    with pytest.raises(TuringformerError, match="is a model file"):
        turingformer.load(models["perez"])
    with pytest.raises(TypeError):          # a SourceKindError is a TypeError too
        turingformer.compile(looped)


def test_every_output_is_checked_against_every_file_the_command_reads(tmp_path, capsys):
    (tmp_path / "p_init_mem.csv").write_text("mem\n3\n0\n")
    (tmp_path / "p_cmds.csv").write_text("a,b,c\n3,3,4\n1,2,4\n")
    before = (tmp_path / "p_init_mem.csv").read_text()
    for argv in (["compile", str(tmp_path / "p_cmds.csv"), "-o", str(tmp_path / "p_init_mem.csv")],
                 ["compile", ADD, "-o", ADD],
                 ["trace", ADD, "--view", "card", "-o", ADD]):
        assert main(argv) == 2
        assert "writing it would destroy the input" in capsys.readouterr().err
    assert (tmp_path / "p_init_mem.csv").read_text() == before


FOREVER_PROGRAM = ".bits 8\n.data\nx: 1\n.code\ntop: jmp top\n"
STAY_FOREVER = "blank: '_'\ninput alphabet: []\nstates: [a]\nstart: a\nrules:\n  a:\n    '_': ['_', S, a]\n"


@pytest.mark.parametrize("kind", ["looped", "looped-machine"])
def test_ctrl_c_keeps_the_partial_run_of_every_kind(kind, tmp_path):
    from test_cli_interrupt import interrupt
    source = tmp_path / ("forever.subleq" if kind == "looped" else "forever.yaml")
    source.write_text(FOREVER_PROGRAM if kind == "looped" else STAY_FOREVER)
    model = tmp_path / "m.json"
    extra = [] if kind == "looped" else ["--construction", "looped-machine", "--tape-cells", "4"]
    subprocess.run([sys.executable, "-m", "turingformer", "compile", str(source), "-o", str(model), *extra],
                   check=True, capture_output=True)
    done = interrupt(["run", str(model), "--json", "--quiet", "--max-steps", "100000000"], after=2.0)
    assert done.returncode == 130, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert not summary["halted"] and 0 < summary["steps"] < 100_000_000
    assert summary.get("interrupted") is True or summary.get("reason") == "interrupted"
    assert "interrupted after" in done.stderr and "Traceback" not in done.stderr


def _replay(lines: list[dict], blank: str) -> list[dict]:
    """Every configuration as ``--json`` prints it, rebuilt from the delta form alone."""
    first = lines[0]
    cells = {first["tape_offset"] + k: s for k, s in enumerate(first["tape"])}
    head, out = first["head"], []
    for line in lines:
        if line is not first:
            cells[head] = line["write"]
        head = line["head"]
        marked = [c for c, symbol in cells.items() if symbol != blank]
        lo, hi = min(marked + [head]), max(marked + [head])
        out.append({"step": line["step"], "state": line["state"], "head": head,
                    "tape": "".join(cells.get(c, blank) for c in range(lo, hi + 1)), "tape_offset": lo})
    return out


def test_the_delta_form_holds_every_configuration(models, capsys):
    capsys.readouterr()
    assert main(["simulate", INCREMENT, "--json"]) == 0
    full = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["run", str(models["perez"]), "--json", "--delta"]) == 0
    delta = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert delta[-1] == full[-1] and len(delta) == len(full)
    assert all(set(line) == {"step", "state", "head", "write"} for line in delta[1:-1])
    assert _replay(delta[:-1], "_") == full[:-1]
    assert main(["run", str(models["looped"]), "--json", "--delta"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    memory = lines[0]["memory"]
    for line in lines[1:-1]:
        for cell, value in line["write"].items():
            memory[int(cell)] = value
    assert memory == lines[-1]["memory"] and lines[-1]["halted"]
