"""``turingformer run MODEL --data FILE`` and ``verify … --data FILE`` (issue 19): a learner's model
file learns from other training data without recompiling (the file and its digest untouched),
``--json`` reports what it learned, and bad data or a model that takes none is one error line
with exit status 2."""

from __future__ import annotations

import json
import re

import pytest

import turingformer

from paths import MACHINES
from turingformer.cli import main
from turingformer.modelfile import parse_model
from turingformer.programs import run
from turingformer.programs.formats import load_program

PROGRAMS = MACHINES / "programs"
DATA = PROGRAMS / "data"


def run_cli(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def gd_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("icl-cli") / "gd.json"
    assert main(["compile", str(PROGRAMS / "linreg_gd.fleqm"), "-o", str(path)]) == 0
    return path


def test_run_with_data_learns_from_the_file_and_leaves_the_model_file_alone(capsys, gd_model):
    before = gd_model.read_bytes()
    status, out, err = run_cli(capsys, "run", gd_model, "--data", DATA / "linear_c.npz", "--json", "--quiet")
    assert status == 0 and "training data from linear_c.npz: 16 points" in err
    summary = json.loads(out.splitlines()[-1])
    learned = summary["learned"]
    reference = run(load_program(PROGRAMS / "linreg_gd.fleqm").with_data(DATA / "linear_c.npz"))
    assert summary["steps"] == reference.steps == 923
    assert learned["weights"]["w"]["raw"] == [list(row) for row in reference.final.memory[reference.labels["w"]]]
    assert learned["data"] == "linear_c.npz" and learned["lstsq"]["ulps"] < 2
    assert len(learned["loss"]) == learned["epochs"] + 1 == len(learned["float64"]["loss"])
    assert gd_model.read_bytes() == before
    assert not parse_model(before, str(gd_model)).modified
    # the weights digest the run reports is the one inspect prints, and it is the network's alone
    digest = re.search(r"weights digest (sha256:[0-9a-f]{16})…", err).group(1)
    status, shown, _ = run_cli(capsys, "inspect", gd_model)
    assert status == 0 and f"weights digest {digest}…" in shown
    newton = turingformer.compile(turingformer.load(PROGRAMS / "linreg_newton.fleqm"))
    assert not newton.weights_digest().startswith(digest)


def test_a_value_that_does_not_fit_is_one_line_with_its_place(capsys, tmp_path):
    rows = (DATA / "linear_b.csv").read_text().splitlines()
    rows[2] = "0.1,0.2,-500,1"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(rows) + "\n")
    status, out, err = run_cli(capsys, "verify", PROGRAMS / "linreg_gd.fleqm", "--data", bad)
    assert status == 2 and out == ""
    assert err.splitlines()[0] == f"turingformer: error: {bad}:3:3: the value -500 does not fit a Q24.16 word " \
                                  "(the words are [-128, 127.9999847412109375])"


def test_data_for_a_model_that_takes_none_is_refused(capsys, tmp_path):
    matmul = tmp_path / "matmul.json"
    assert main(["compile", str(PROGRAMS / "matmul.fleqm"), "-o", str(matmul)]) == 0
    machine = tmp_path / "bb2.json"
    assert main(["compile", str(MACHINES / "busy_beaver_2.yaml"), "-o", str(machine)]) == 0
    capsys.readouterr()
    status, _, err = run_cli(capsys, "run", matmul, "--data", DATA / "linear_b.csv")
    assert status == 2 and "matmul declares no training data" in err
    status, _, err = run_cli(capsys, "run", machine, "--data", DATA / "linear_b.csv")
    assert status == 2 and "--data is an option of fleq-m, not of" in err


def test_verify_a_program_on_other_data(capsys):
    status, out, _ = run_cli(capsys, "verify", PROGRAMS / "linreg_newton.fleqm", "--data", DATA / "linear_b.csv", "-q")
    assert status == 0 and "agrees with the FLEQ-M interpreter after every loop: 145 loops, halted" in out
