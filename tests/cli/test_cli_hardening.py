"""Issue 9's reproducers: each bad input gives one ``turingformer: error: FILE[:LINE:COL]: ...`` line
(plus its fix) and exit 2; an edited model gives the documented warning; the CLI's last line of
defence turns a bug into one ``internal error`` line; --input-file and ``-`` read what the
command line cannot hold."""

from __future__ import annotations

import io
import json
import sys

import pytest

from paths import LOCAL_CORPUS, MACHINES
from turingformer.cli import COMMANDS, INTERNAL_ERROR, main
from turingformer.cli.common import Command

INCREMENT = str(MACHINES / "binary_increment.yaml")
BB4 = str(LOCAL_CORPUS / "bbchallenge" / "bb4_champion.txt")
TMIO_HEAD = "blank: ' '\nstart state: a\ntable:\n  a:\n"
TF_HEAD = "blank: '_'\ninput alphabet: ['1']\nstates: [a]\nstart: a\nrules:\n  a:\n"


def one_error(capsys, argv, where: str, fragment: str) -> str:
    """Run the CLI; assert exit 2 and one error line at ``where`` containing ``fragment``."""
    code = main(argv)
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert code == 2, err
    assert lines[0].startswith(f"turingformer: error: {where}"), err
    assert fragment in lines[0], err
    assert all(line.startswith("  fix: ") for line in lines[1:]) and "Traceback" not in err
    return err


MACHINE_REPRODUCERS = [
    ("super.txt", "1RB1LB_1LA1RZ Halt ² 1\n", ":1:20:", "not a whole number in the digits 0-9"),
    ("arabic.txt", "1RB1LB_1LA1RZ Halt ٣ 1\n", ":1:20:", "not a whole number"),
    ("long.txt", "1RB1LB_1LA1RZ Halt " + "9" * 4301 + " 1\n", ":1:20:", "4,301 digits is too long"),
    ("big.json", '{"states": ["q0"], "_note": ' + "1" * 4301 + ', "x": 1}', "", "unknown key 'x'"),
    ("deep.json", '{"states": ' + "[" * 400 + "]" * 400 + "}", "", "nests too deeply"),
    ("alias_key.yaml", TMIO_HEAD + "    ? &a [*a]\n    : R\n", ":5:7:", "contains itself (a recursive alias)"),
    ("alias_top.yaml", "? &a [*a]\n: 1\nstart state: a\n", ":1:3:", "contains itself"),
    ("deep_key.yaml", TMIO_HEAD + "    ? " + "[" * 600 + "]" * 600 + "\n    : R\n", ":5:7:", "is not one character"),
    ("alias_tf.yaml", TF_HEAD + "    ? &a [*a]\n    : R\n", ":7:7:", "must be a single value"),
    ("steps.yaml", TF_HEAD + "    '1': ['1', R, a]\nexamples:\n  - {input: '1', steps: '٣'}\n", ":9:25:",
     "steps must be a whole number"),
]


@pytest.mark.parametrize("name, text, where, fragment", MACHINE_REPRODUCERS, ids=[r[0] for r in MACHINE_REPRODUCERS])
def test_machine_reproducers_give_one_clear_error(tmp_path, capsys, name, text, where, fragment):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    one_error(capsys, ["show", str(path)], f"{path}{where}", fragment)


def test_a_long_input_is_shortened_in_the_error(tmp_path, capsys):
    err = one_error(capsys, ["simulate", INCREMENT, "--input", "01" * 5000 + "x"], "input '", "(10,001 characters)")
    assert len(err.splitlines()[0]) < 300


# ---------------------------------------------------------------------------- model files
@pytest.fixture(scope="module")
def compiled(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("model") / "bb4.json"
    assert main(["compile", BB4, "-o", str(path)]) == 0
    return json.loads(path.read_text(encoding="utf-8"))


def _edit(data: dict, change) -> dict:
    data = json.loads(json.dumps(data))
    change(data)
    return data


def _swap(layers, a, b):
    layers[a], layers[b] = layers[b], layers[a]


MODEL_REPRODUCERS = [
    ("nested", None, "nested too deeply"),
    ("spaces list", lambda d: d.update(spaces=list(d["spaces"])), "spaces: expected an object, got a list"),
    ("embedding list", lambda d: d.update(embedding=[]), "embedding: expected an object"),
    ("seed list", lambda d: d.update(seed=[]), "seed: expected an object"),
    ("output null", lambda d: d.update(output=None), "output: expected a list, got null"),
    ("decoder empty", lambda d: d.update(decoder=[]), "decoder: 0 layers; the construction has 3"),
    ("positional name", lambda d: d["positional"].update(k="x9:nope"), "positional.k: unknown name 'x9:nope'"),
    ("labels state", lambda d: d["labels"]["halt"].append("Q"), "labels.halt[1]: unknown name 'Q'"),
    ("labels layout", lambda d: d["labels"]["states"].append("E"), "spaces.residual: the residual dimensions"),
    ("weight 1e400", lambda d: d["output"][0]["weights"][0].__setitem__(2, "1e400"), "is not an exact rational"),
    ("weight number", lambda d: d["output"][0]["weights"][0].__setitem__(2, "NUMBER"), "expected a string, got a number"),
    ("layers 1 and 2 swapped", lambda d: _swap(d["decoder"], 0, 1), "decoder[0].cross: null"),
    ("version text", lambda d: d.update(version="2"), 'version "2"'),
    ("unknown key", lambda d: d.update(extra=1), "unknown key 'extra'"),
]


@pytest.mark.parametrize("name, change, fragment", MODEL_REPRODUCERS, ids=[r[0] for r in MODEL_REPRODUCERS])
def test_damaged_model_files_give_one_clear_error(tmp_path, capsys, compiled, name, change, fragment):
    path = tmp_path / "m.json"
    if change is None:
        path.write_text('{"format": "turingformer-model", "x": ' + "[" * 1000 + "]" * 1000 + "}")
    else:
        path.write_text(json.dumps(_edit(compiled, change)).replace('"NUMBER"', "1e400"))   # a float overflow
    one_error(capsys, ["run", str(path)], f"{path}: ", fragment)


def test_a_huge_weight_runs_on_both_exact_decoders(tmp_path, capsys, compiled):
    """A 4,000-digit weight crashed the fast decoder's int64 path; both exact decoders now agree."""
    huge = "1" + "0" * 4000
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(_edit(compiled, lambda d: d["decoder"][0]["ffn"][0]["weights"][0].__setitem__(2, huge))))
    outs = []
    for decoder in ("fast", "plain"):
        assert main(["run", str(path), "--json", "-q", "--decoder", decoder, "-n", "200"]) == 0
        captured = capsys.readouterr()
        assert "modified after it was compiled" in captured.err
        outs.append(json.loads(captured.out))
    assert outs[0] == outs[1] and outs[0]["modified"] is True


def _retarget_first_transition(data: dict) -> None:
    """Point one entry of decoder layer 1's FFN output at another state's dimension."""
    weights = data["decoder"][0]["ffn"][1]["weights"]
    entry = next(w for w in weights if w[1].startswith("q2:state=B"))
    entry[1] = "q2:state=Z"


@pytest.mark.parametrize("change, how", [
    (_retarget_first_transition, "a transition retargeted"),
    (lambda d: _swap(d["decoder"], 1, 2), "layers 2 and 3 swapped"),
    (lambda d: d["labels"].update(halt=[], accept=["Z"]), "labels.accept changed"),
])
def test_an_edited_model_is_named_modified_and_verify_finds_it(tmp_path, capsys, compiled, change, how):
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(_edit(compiled, change)))
    main(["run", str(path), "--json", "-q", "-n", "200"])
    captured = capsys.readouterr()
    assert f"warning: {path} was modified after it was compiled" in captured.err
    if captured.out:
        assert json.loads(captured.out.splitlines()[-1])["modified"] is True
    assert main(["verify", str(path), "-q", "-n", "200"]) == 1
    assert "DIVERGENCE" in capsys.readouterr().out


@pytest.fixture
def increment_model(tmp_path, capsys):
    """binary increment compiled by the CLI (its first example is '1011')."""
    model = tmp_path / "inc.json"
    assert main(["compile", INCREMENT, "-o", str(model)]) == 0
    capsys.readouterr()
    return model


def test_an_unedited_model_verifies_against_its_recorded_machine(increment_model, capsys):
    model = increment_model
    assert main(["verify", str(model), "-q"]) == 0
    out, err = capsys.readouterr()
    assert "agrees with the simulator at every step: 8 steps" in out and "warning" not in err
    assert main(["verify", str(model), "--machine", INCREMENT, "-i", "111", "-q"]) == 0
    capsys.readouterr()
    assert main(["verify", str(model), "--machine", str(MACHINES / "binary_decrement.yaml"), "-q"]) == 1
    assert "DIVERGENCE: first divergence at decoder step 0, labels, slot labels.states" in capsys.readouterr().out


def test_run_defaults_to_the_recorded_first_example(increment_model, capsys):
    assert main(["run", str(increment_model), "-q"]) == 0
    run_out = capsys.readouterr().out
    assert main(["simulate", INCREMENT, "-q"]) == 0
    sim_out = capsys.readouterr().out
    assert "the model's default input '1011'" in run_out and "the file's default input '1011'" in sim_out
    assert run_out.splitlines()[-1] == sim_out.splitlines()[-1]


# ---------------------------------------------------------------------------- outputs
@pytest.mark.parametrize("command", ["convert", "compile"])
def test_the_output_may_not_be_the_input(tmp_path, capsys, command):
    source = tmp_path / "m.yaml"
    source.write_bytes((MACHINES / "binary_increment.yaml").read_bytes())
    link = tmp_path / "link.yaml"
    link.symlink_to(source)
    before = source.read_bytes()
    for output in (source, link):
        one_error(capsys, [command, str(source), "-o", str(output)], "", "is the input file")
    assert source.read_bytes() == before


# ---------------------------------------------------------------------------- inputs
def test_input_file_and_standard_input(tmp_path, capsys, monkeypatch):
    word = tmp_path / "word.txt"
    word.write_text("1" * 300_000 + "\n")        # longer than a command line may be
    assert main(["simulate", INCREMENT, "--input-file", str(word), "-q", "-n", "700000"]) == 0
    out = capsys.readouterr().out
    header, summary = out.splitlines()[0], out.splitlines()[-1]
    assert header.startswith("binary increment (turingformer), input '111111") and "(300,000 characters)" in header
    assert len(header) < 200 and summary.startswith("halted after 600,002 steps") and "tape '10000" in summary

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((MACHINES / "binary_increment.yaml").read_bytes())))
    assert main(["simulate", "-", "-i", "011", "-q"]) == 0
    assert "tape '100'" in capsys.readouterr().out

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"0111\n")))
    assert main(["simulate", INCREMENT, "--input-file", "-", "-q"]) == 0
    assert "tape '1000'" in capsys.readouterr().out

    assert main(["simulate", INCREMENT, "--input-file", str(tmp_path / "nope.txt")]) == 2
    assert "cannot access" in capsys.readouterr().err


# ---------------------------------------------------------------------------- last line of defence
@pytest.fixture
def broken_command(monkeypatch):
    def boom(args):
        raise ValueError("a bug, not the user's fault")

    monkeypatch.setitem(COMMANDS, "boom", Command("a command with a bug", boom, parents=()))


def test_an_internal_error_is_one_line(capsys, broken_command, monkeypatch):
    monkeypatch.delenv("TURINGFORMER_DEBUG", raising=False)
    assert main(["boom"]) == INTERNAL_ERROR
    err = capsys.readouterr().err
    assert err == ("turingformer: internal error: ValueError: a bug, not the user's fault; "
                   "rerun with --debug for the traceback\n")


@pytest.mark.parametrize("how", ["flag", "environment"])
def test_debug_shows_the_traceback(capsys, broken_command, monkeypatch, how):
    monkeypatch.setenv("TURINGFORMER_DEBUG", "1" if how == "environment" else "0")
    assert main(["boom", "--debug"] if how == "flag" else ["boom"]) == INTERNAL_ERROR
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and 'raise ValueError("a bug' in err
