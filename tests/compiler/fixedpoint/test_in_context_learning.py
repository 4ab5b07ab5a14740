"""In-context learning on the looped computer (issue 19; docs/in-context-learning.md): the learner
programs of linear-algebra spec §4.2 on the transformer, new training data loaded into one model
file's card without recompiling (the weights unchanged), and what was learned read back from the
card and labels alone and compared with numpy float64.

Budget: the nn learner runs to its end once here (its 11,704 loops, verified after every loop);
the sigmoid variant is verified for its first epoch (86 loops) (its whole run is checked on the
interpreter by test_fleqm_examples and on the transformer by benchmarks/in_context_learning.py)."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from paths import MACHINES
from turingformer.compiler.fixedpoint import FixedPoint, compile_fleqm, verify_fleqm
from turingformer.errors import InputError, ModelFileError, TuringformerError
from turingformer.modelfile import parse_model, save_model
from turingformer.programs import run
from turingformer.programs.formats import load_program
from turingformer.programs.formats.fleqm import loads
from turingformer.programs.learning import TrainingData
from turingformer.runtime.serialize import JsonReader

PROGRAMS = MACHINES / "programs"
DATA = PROGRAMS / "data"


@pytest.fixture(scope="module")
def gd():
    return load_program(PROGRAMS / "linreg_gd.fleqm")


@pytest.fixture(scope="module")
def gd_model_file(gd, tmp_path_factory):
    path = tmp_path_factory.mktemp("icl") / "linreg_gd.json"
    save_model(compile_fleqm(gd), path, source=gd)
    return path


def own_data(program) -> TrainingData:
    """The program's own training set, as a file would give it (raw words)."""
    k, learner = program.k, program.learner
    X = [[0] * learner.X.width for _ in range(learner.X.points(k))]
    y = [0] * learner.y.points(k)
    for p, f, cell, i, j in learner.X.places(k):
        X[p][f] = program.memory[cell][i][j]
    for p, _, cell, i, j in learner.y.places(k):
        y[p] = program.memory[cell][i][j]
    return TrainingData(tuple(map(tuple, X)), tuple(y), "own")


# ---------------------------------------------------------------------------- the learners (interpreter)
def test_the_declarations_name_the_data_and_the_weights(gd):
    learner = gd.learner
    assert (learner.algorithm, learner.model, [n for n, _ in learner.weights]) == ("gd", "linear", ["w"])
    assert learner.rate == gd.labels["ETA"] and learner.epoch == gd.code_labels["gd"]
    assert learner.X.cells == tuple(gd.labels[f"X{b}"] for b in range(4)) and learner.X.points(gd.k) == 16
    assert learner.y.layout == "rows" and learner.y.width == 1
    net = load_program(PROGRAMS / "nn.fleqm").learner
    assert (net.algorithm, net.model, net.X.layout, net.X.width) == ("sgd", "relu", "columns", 3)
    assert load_program(PROGRAMS / "inv3.fleqm").learner is None


def test_what_the_linear_learners_learned_matches_numpy(gd):
    found = run(gd).learned()
    assert found["epochs"] == 65 and found["loops"][0] == 4 and len(found["loss"]) == 66
    assert found["weights"]["w"]["raw"][0][0] == 102115
    assert found["lstsq"]["ulps"] < 3.5 and found["float64"]["ulps"] < 3             # spec §4.2: 3.2 and 2.2 ulps
    assert found["loss"][-1] == pytest.approx(0.00423092, abs=5e-9)                   # the float64 optimum
    assert abs(found["loss"][-1] - found["lstsq"]["loss"]) < 1e-8
    curve, reference = np.array(found["loss"]), np.array(found["float64"]["loss"])
    assert np.all(np.diff(curve) <= 1e-12) and np.max(np.abs(curve - reference)) < 1e-5
    newton = run(load_program(PROGRAMS / "linreg_newton.fleqm")).learned()
    assert newton["epochs"] == 1 and newton["lstsq"]["ulps"] < 3                      # spec: 2.8 ulps
    assert newton["weights"]["w"]["raw"][0][0] == 102118


def test_the_sigmoid_net_learns_in_q16_8():
    program = load_program(PROGRAMS / "nn_sigmoid.fleqm")
    assert (program.bits, program.frac, program.learner.model) == (16, 8, "sigmoid")
    found = run(program).learned()
    assert found["epochs"] == 20 and found["loss"][-1] < found["loss"][0] / 4
    assert abs(found["loss"][-1] - found["float64"]["loss"][-1]) < 2e-3
    assert found["float64"]["ulps"] < 15


# ---------------------------------------------------------------------------- one model file, three data sets
def test_one_model_file_learns_from_three_data_sets_bit_for_bit(gd, gd_model_file):
    before = gd_model_file.read_bytes()
    model_file = parse_model(before, str(gd_model_file))
    model = model_file.model
    datasets = [own_data(gd), DATA / "linear_b.csv", DATA / "linear_c.npz"]
    learned, cells = [], {*gd.learner.X.cells, *gd.learner.y.cells}
    for data in datasets:
        loaded = model.with_data(data)
        assert loaded.transformer is model.transformer              # the very same weights ...
        changed = {c for c, (new, old) in enumerate(zip(loaded.card, model.card)) if new != old}
        assert changed <= cells and (changed or data is datasets[0])  # only data columns differ (own data: none)
        assert loaded.labels == replace(model.labels, learner=replace(model.labels.learner, data=loaded.labels.learner.data))
        if data == DATA / "linear_c.npz":         # every loop's card against the interpreter on these data
            result = FixedPoint().verify(gd, model=model, data=data)
            assert result.ok and result.loops_checked == 923 and result.reference.learner.data == "linear_c.npz"
            decoded = replace(result.decoded, learner=loaded.labels.learner)
        else:
            decoded = model.run(data=data).trace
        reference = run(gd.with_data(data))
        assert decoded.halted and decoded.final.memory == reference.final.memory   # ... learn as the interpreter
        found = decoded.learned()
        assert found == reference.learned()
        assert found["lstsq"]["ulps"] < 6 and found["float64"]["ulps"] < 3
        learned.append(found["weights"]["w"]["raw"])
    assert learned[0] == [[102115, 0, 0, 0], [-129398, 0, 0, 0], [37774, 0, 0, 0], [13110, 0, 0, 0]]
    assert len({json.dumps(w) for w in learned}) == 3
    assert gd_model_file.read_bytes() == before                                   # the file untouched
    assert not model_file.modified and parse_model(before, "again").digest == model_file.recorded_digest


def test_a_learner_model_file_keeps_its_declaration_and_refuses_a_damaged_one(gd_model_file):
    document = json.loads(gd_model_file.read_text())
    assert document["labels"]["learner"]["algorithm"] == "gd"
    document["labels"]["learner"]["X"]["cells"][0] = 999
    with pytest.raises(ModelFileError, match=r"labels.learner.X.cells"):
        parse_model(json.dumps(document).encode(), "damaged.json")


# ---------------------------------------------------------------------------- the network, to its end, once
def test_the_network_learns_on_the_transformer_as_on_the_interpreter():
    program = load_program(PROGRAMS / "nn.fleqm")
    result = verify_fleqm(program)
    assert result.ok and result.loops_checked == 11_704
    decoded = replace(result.decoded, learner=result.model.labels.learner)     # the cards and the labels alone
    found = decoded.learned()
    assert found == run(program).learned()
    assert found["epochs"] == 150 and round(found["loss"][0], 5) == 0.29983 and round(found["loss"][-1], 6) == 0.006559
    assert found["float64"]["ulps"] < 23                                            # spec: 22.7 ulps
    spec = {15: 0.04390, 30: 0.01898, 45: 0.00968, 60: 0.00756, 90: 0.00684, 120: 0.00664}
    assert {e: round(found["loss"][e], 5) for e in spec} == spec


def test_the_sigmoid_net_on_the_transformer_for_its_first_epoch():
    result = verify_fleqm(load_program(PROGRAMS / "nn_sigmoid.fleqm"), max_loops=86)
    assert result.ok and result.loops_checked == 86                 # 4 transposes + 4 SGD steps of 20 + 2


# ---------------------------------------------------------------------------- bad data: one clear error
def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_value_that_does_not_fit_names_its_file_line_and_field(gd, tmp_path):
    rows = (DATA / "linear_b.csv").read_text().splitlines()
    rows[3] = "0.5,300,0.25,1"
    path = write(tmp_path, "big.csv", "\n".join(rows))
    with pytest.raises(InputError) as caught:
        gd.with_data(path)
    assert str(caught.value.location) == f"{path}:4:2" and "does not fit a Q24.16 word" in caught.value.message
    assert "scale the data" in caught.value.hint


@pytest.mark.parametrize("text, where, message", [
    ("x1,x2,x3,y\n1,2,3,4\n", "", "have 1 point; this program's cells hold 16"),
    ("1,2,y\n" + "1,2,3\n" * 16, "", "2 features per point; this program reads 3"),
    ("1,2,3,4\n1,2,3\n", ":2", "this row has 3 columns"),
    ("1,2,3,4\n1,2,x,4\n", ":2:3", "'x' is not a number"),
    ("", "", "no rows of numbers"),
    ("x1,x2,x3,y\n" + "1,2,3,4\n" * 10_000, ":18", "more than 16 points"),       # refused without reading on
])
def test_bad_csv_data_is_one_located_error(gd, tmp_path, text, where, message):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(InputError, match=message) as caught:
        gd.with_data(path)
    assert str(caught.value.location) == f"{path}{where}" and caught.value.hint


def test_numpy_data_in_both_forms_and_their_errors(gd, tmp_path):
    csv = np.loadtxt(DATA / "linear_b.csv", delimiter=",", skiprows=1)
    np.save(tmp_path / "b.npy", csv)
    np.savez(tmp_path / "b.npz", X=csv[:, :3], y=csv[:, 3])
    same = {gd.with_data(tmp_path / name).memory for name in ("b.npy", "b.npz")}
    assert same == {gd.with_data(DATA / "linear_b.csv").memory}
    assert gd.with_data((csv[:, :3], csv[:, 3])).memory in same                  # the same from Python
    np.savez(tmp_path / "no_y.npz", X=csv[:, :3])
    with pytest.raises(InputError, match="no array 'y'"):
        gd.with_data(tmp_path / "no_y.npz")
    with pytest.raises(InputError, match="more than 16 points"):
        gd.with_data((np.zeros((10**6, 3)), np.zeros(10**6)))
    np.save(tmp_path / "nan.npy", np.where(csv == csv[2, 1], np.nan, csv))
    with pytest.raises(InputError, match=r"X\[2, 1\] is nan"):
        gd.with_data(tmp_path / "nan.npy")


def test_data_for_a_program_that_declares_none_is_refused():
    with pytest.raises(InputError, match="declares no training data"):
        load_program(PROGRAMS / "inv3.fleqm").with_data(DATA / "linear_b.csv")


@pytest.mark.parametrize("line, message", [
    (".dataset X rows 3 X0\n.dataset y rows 1 Y0", ".dataset without .learn"),
    (".dataset X diagonal 3 X0\n.learn newton linear w", "not a layout"),
    (".dataset X rows 5 X0", "5 entries per point do not fit"),
    (".dataset X rows 3 X0\n.dataset y rows 1 Y0\n.learn gd linear w", "gd needs its rate cell and its epoch label"),
    (".dataset X rows 3 X0\n.dataset y rows 1 Y0\n.learn newton relu w", "a relu model has 3 weight cells"),
    (".dataset X rows 3 X0\n.learn newton linear w", ".learn without .dataset y"),
    (".dataset X rows 3 X0 X0\n.dataset y rows 1 Y0\n.learn newton linear w", "X holds 8 points and y 4"),
    (".dataset X rows 3 X0\n.dataset y rows 1 Y0\n.learn newton linear nope", "unknown label 'nope'"),
])
def test_bad_declarations_are_located_errors(line, message):
    text = f""".bits 16
.k 4
.data
X0: [[1, 2, 3, 1]]
Y0: [1]
.cells w
{line}
.code
    halt
"""
    with pytest.raises(TuringformerError, match=message) as caught:
        loads(text, "bad.fleqm")
    assert caught.value.location is not None and caught.value.location.line is not None


# ---------------------------------------------------------------------------- the model file's faster rationals
@pytest.mark.parametrize("text", ["0", "-0", "7", "-7", "007", "3/4", "-3/4", "6/8", "-10/4", "12345678901234567890/3"])
def test_the_rational_fast_path_reads_what_fraction_reads(text):
    assert JsonReader("m.json").rational(text, "x") == Fraction(text)


@pytest.mark.parametrize("text", ["1/0", "1.5", "+3", "3/-4", "٣", "1_0"])
def test_the_rational_fast_path_refuses_what_it_refused(text):
    with pytest.raises(TuringformerError):
        JsonReader("m.json").rational(text, "x")
