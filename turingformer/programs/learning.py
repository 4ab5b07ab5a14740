"""In-context learning on FLEQ-M (linear-algebra spec §4.2; ``docs/in-context-learning.md``): what a
learner program declares about its training data and its weights, new training data loaded into
its cells, and what it learned read back and compared with float64.

A ``.fleqm`` program declares (the assembler records it as :class:`Learner`)::

    .dataset X rows 3 X0 X1 X2 X3        ; point i: row i mod k of cell X(i div k), its first 3 entries
    .dataset y rows 1 Y0 Y1 Y2 Y3        ; (columns: column i mod k, its first entries)
    .learn gd linear w rate ETA epoch gd ; algorithm, model, weight cells, the rate cell, the epoch label

* **Data in** (:func:`read_data`, :meth:`Learner.load`): a CSV file (an optional header; the last
  column is y, the others are the features, one row per point), a ``.npy`` file (one 2-D array,
  the same columns) or a ``.npz`` file (arrays ``X`` and ``y``). Every value becomes a word by the
  spec's rounding (§1.1: ⌊r·2^F + ½⌋ of the exact value written); a value that does not fit, a
  text that is no number, or a shape other than the program's (k × cells points, the declared
  features) is one :class:`~turingformer.errors.InputError` naming the file, the line and the
  field (the CSV column, counted from 1).
  The data replace only the declared entries: a cell's other entries (the intercept's 1) stay.
* **What it learned** (:func:`report`): from the states of a trace (the interpreter's, or the
  ones decoded from a punch card) and the declaration alone: the weights at every arrival at the
  epoch label (plus the final weights when they differ), the loss ½·mean((model(x) − y)²) of each
  — the decoded weights evaluated in float64 — and two references from the same decoded start:
  the same algorithm in float64 (:func:`float64_run`) and, for a linear model, numpy's ``lstsq``.

The machine is exact; the references are float64: their differences are the fixed-point
arithmetic's rounding (a few ulps), measured here, never hidden.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from turingformer.errors import InputError, Location
from turingformer.programs.fixed import Fixed, Matrix, decimal_text, matrix_json

#: What a learner may declare: the algorithms, the models, how points lie in a cell.
ALGORITHMS = ("gd", "newton", "sgd")
MODELS = ("linear", "relu", "sigmoid")
LAYOUTS = ("rows", "columns")
#: The weight cells each model needs (in this order).
MODEL_WEIGHTS = {"linear": ("w",), "relu": ("W1", "W2", "B2"), "sigmoid": ("W1", "W2", "B2")}
#: The longest number a data file may spell (as the assembler's literals).
MAX_DIGITS = 100
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?")


@dataclass(frozen=True)
class Dataset:
    """Where one part (``name`` "X" or "y") of the training set lies: ``width`` entries per point in
    ``cells``, k points per cell, point p of a cell in row p (``layout`` "rows", its entries
    along the row) or in column p ("columns", its entries down the column)."""

    name: str
    layout: str
    width: int
    cells: tuple[int, ...]

    def points(self, k: int) -> int:
        return k * len(self.cells)

    def places(self, k: int):
        """(point, feature, cell, i, j) of every declared entry, point by point."""
        for b, cell in enumerate(self.cells):
            for p in range(k):
                for f in range(self.width):
                    i, j = (p, f) if self.layout == "rows" else (f, p)
                    yield b * k + p, f, cell, i, j

    def design(self, memory: Sequence[Matrix], k: int) -> np.ndarray:
        """Every point's whole row (or column) of raw words, points × k: the features and the
        program's own constant entries (the intercept's 1)."""
        out = []
        for cell in self.cells:
            m = np.array(memory[cell], dtype=np.int64)
            out.extend(m if self.layout == "rows" else m.T)
        return np.array(out)

    def to_json(self) -> dict:
        return {"name": self.name, "layout": self.layout, "width": self.width, "cells": list(self.cells)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Dataset":
        return cls(str(data["name"]), str(data["layout"]), int(data["width"]), tuple(int(c) for c in data["cells"]))


@dataclass(frozen=True)
class TrainingData:
    """Training data as raw words: ``X`` points × features, ``y`` one word per point; ``name`` says
    where they came from (a file name, or ``"arrays"``)."""

    X: tuple[tuple[int, ...], ...]
    y: tuple[int, ...]
    name: str = ""


@dataclass(frozen=True)
class Learner:
    """A learner program's declaration (module docstring): ``algorithm`` (gd, newton, sgd),
    ``model`` (linear, relu, sigmoid), the ``weights`` as (label, cell), the ``rate`` cell (or None),
    the ``epoch`` pc (the instruction every epoch starts at, or None: a single solve), the
    datasets ``X`` and ``y``, and ``data``: the name of the training data that replaced the
    program's own ("" when none did)."""

    algorithm: str
    model: str
    weights: tuple[tuple[str, int], ...]
    X: Dataset
    y: Dataset
    rate: int | None = None
    epoch: int | None = None
    data: str = ""

    def to_json(self) -> dict:
        return {"algorithm": self.algorithm, "model": self.model, "weights": [list(w) for w in self.weights],
                "X": self.X.to_json(), "y": self.y.to_json(), "rate": self.rate, "epoch": self.epoch,
                "data": self.data}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Learner":
        return cls(str(data["algorithm"]), str(data["model"]), tuple((str(n), int(c)) for n, c in data["weights"]),
                   Dataset.from_json(data["X"]), Dataset.from_json(data["y"]),
                   None if data.get("rate") is None else int(data["rate"]),
                   None if data.get("epoch") is None else int(data["epoch"]), str(data.get("data", "")))

    # ------------------------------------------------------------------ data in
    def load(self, memory: Sequence[Matrix], data: TrainingData, k: int) -> tuple[Matrix, ...]:
        """``memory`` with the declared entries replaced by ``data`` (already checked in shape)."""
        cells = [list(list(row) for row in cell) for cell in memory]
        for point, f, cell, i, j in self.X.places(k):
            cells[cell][i][j] = data.X[point][f]
        for point, _, cell, i, j in self.y.places(k):
            cells[cell][i][j] = data.y[point]
        return tuple(tuple(tuple(row) for row in cell) for cell in cells)

    def check_shape(self, data: TrainingData, k: int, where: Location | None = None) -> None:
        points, width = self.X.points(k), self.X.width
        if len(data.X) != points or len(data.y) != points:
            raise InputError(f"the training data have {len(data.X)} point{'s' if len(data.X) != 1 else ''}; "
                             f"this program's cells hold {points} "
                             f"({len(self.X.cells)} cells of {k})", location=where,
                             hint=f"give exactly {points} rows (a learner's data cells are part of its weights' "
                                  f"shape: recompile a program with more cells for more points)")
        bad = [len(row) for row in data.X if len(row) != width]
        if bad:
            raise InputError(f"the training data have {bad[0]} features per point; this program reads {width}",
                             location=where, hint=f"give {width} feature columns and y as the last column")


# ---------------------------------------------------------------------------- reading data files
def read_data(data: Any, learner: Learner, fmt: Fixed, k: int) -> TrainingData:
    """The training data of ``data`` — a path (CSV, ``.npy``, ``.npz``), a :class:`TrainingData`,
    or a pair ``(X, y)`` of array-likes — as words of ``fmt``, checked against ``learner``'s shape."""
    points = learner.X.points(k)
    if isinstance(data, TrainingData):
        found, where = data, None
    elif isinstance(data, (str, Path)):
        found, where = _read_file(Path(data), fmt, points), Location(str(data))
    elif isinstance(data, tuple) and len(data) == 2:
        found, where = _from_arrays(data[0], data[1], fmt, "arrays", None, points), None
    else:
        raise InputError(f"training data as {type(data).__name__}: expected a file name, a TrainingData or (X, y)",
                         hint="pass data='points.csv' or data=(X, y) with X points × features and y one value per point")
    learner.check_shape(found, k, where)
    return found


def _word(value: Fraction, fmt: Fixed, written: str, where: Location) -> int:
    q = fmt.rounded(value)
    if not fmt.fits(q):
        raise InputError(f"the value {written[:40]} does not fit a {fmt.name} word (the words are "
                         f"[{decimal_text(-fmt.B, fmt.frac)}, {decimal_text(fmt.B - 1, fmt.frac)}])", location=where,
                         hint="scale the data into the word range (the program's format is fixed by its weights)")
    return q


def _too_many(points: int, where: Location | None) -> InputError:
    """The error for more points than the program's cells hold (raised before converting them)."""
    return InputError(f"the training data have more than {points} points, as many as this program's cells hold",
                      location=where, hint=f"give exactly {points} rows (recompile a program with more data cells "
                                           "for more points)")


def _read_file(path: Path, fmt: Fixed, points: int) -> TrainingData:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read the training data: {error.strerror or error}", location=Location(str(path)),
                         hint="give an existing CSV, .npy or .npz file") from None
    if path.suffix.lower() in (".npy", ".npz"):
        return _read_numpy(path, raw, fmt, points)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(f"the training data are not UTF-8 text (byte {error.start})", location=Location(str(path)),
                         hint="give a CSV file, or a .npy / .npz file by its extension") from None
    return _read_csv(path, text, fmt, points)


def _read_csv(path: Path, text: str, fmt: Fixed, points: int) -> TrainingData:
    """Rows of numbers, the last column y; a first row that is not all numbers is a header."""
    rows: list[tuple[int, list[str]]] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        fields = [f.strip() for f in row]
        if fields and any(fields):
            rows.append((number, fields))
        if len(rows) > points + 1:
            raise _too_many(points, Location(str(path), number))
    if rows and not all(_NUMBER.fullmatch(f) for f in rows[0][1]):
        rows = rows[1:]                                            # the header
    if not rows:
        raise InputError("the training data file has no rows of numbers", location=Location(str(path)),
                         hint="one row per point: the features, then y (a header line is optional)")
    width = len(rows[0][1])
    X, y = [], []
    for number, fields in rows:
        if len(fields) != width or width < 2:
            raise InputError(f"this row has {len(fields)} columns, the first has {width}" if width >= 2 else
                             "a row needs at least two columns (features, then y)", location=Location(str(path), number),
                             hint="every row: the same feature columns, then y")
        words = []
        for column, field in enumerate(fields, start=1):
            where = Location(str(path), number, column)
            if len(field) > MAX_DIGITS or not _NUMBER.fullmatch(field):
                raise InputError(f"{field[:40]!r} is not a number", location=where,
                                 hint="write decimals such as -0.25 or 1e-3 (ASCII digits, at most 100 characters)")
            words.append(_word(Fraction(field), fmt, field, where))
        X.append(tuple(words[:-1]))
        y.append(words[-1])
    return TrainingData(tuple(X), tuple(y), path.name)


def _read_numpy(path: Path, raw: bytes, fmt: Fixed, points: int) -> TrainingData:
    where = Location(str(path))
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise InputError(f"not a readable {path.suffix} file ({str(error)[:80]})", location=where,
                         hint="write it with numpy.save / numpy.savez (no pickled objects)") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            missing = [name for name in ("X", "y") if name not in loaded.files]
            if missing:
                raise InputError(f"the .npz file has no array {missing[0]!r} (it has {', '.join(loaded.files) or 'none'})",
                                 location=where, hint="numpy.savez(FILE, X=X, y=y)")
            return _from_arrays(loaded["X"], loaded["y"], fmt, path.name, where, points)
    array = np.asarray(loaded)
    if array.ndim != 2 or array.shape[1] < 2:
        raise InputError(f"a .npy array of shape {array.shape}: expected points × (features + 1), y last",
                         location=where, hint="numpy.save(FILE, np.column_stack([X, y]))")
    return _from_arrays(array[:, :-1], array[:, -1], fmt, path.name, where, points)


def _from_arrays(X: Any, y: Any, fmt: Fixed, name: str, where: Location | None, points: int) -> TrainingData:
    X, y = np.asarray(X), np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if X.ndim != 2 or y.ndim != 1:
        raise InputError(f"X of shape {X.shape} and y of shape {y.shape}: expected points × features and one y per point",
                         location=where, hint="X as a 2-D array, y as a 1-D array of the same length")
    if len(X) > points or len(y) > points:
        raise _too_many(points, where)
    if X.dtype.kind not in "iuf" or y.dtype.kind not in "iuf":
        raise InputError(f"arrays of {X.dtype} and {y.dtype}: expected numbers", location=where,
                         hint="store float or integer arrays")

    def words(values: np.ndarray, what: str) -> tuple:
        out = []
        for index, v in np.ndenumerate(values):
            if not np.isfinite(v):
                raise InputError(f"{what}{list(index)} is {v}", location=where, hint="remove NaN and infinite values")
            out.append(_word(Fraction(v.item()), fmt, f"{what}{list(index)} = {v.item()!r}", where or Location(name)))
        return tuple(out)

    flat = words(X, "X")
    columns = X.shape[1]
    return TrainingData(tuple(flat[r * columns:(r + 1) * columns] for r in range(X.shape[0])), words(y, "y"), name)


# ---------------------------------------------------------------------------- what it learned
def _act(model: str, Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0) if model == "relu" else 1 / (1 + np.exp(-Z))


def _act_derivative(model: str, Z: np.ndarray, H: np.ndarray) -> np.ndarray:
    return (Z > 0).astype(float) if model == "relu" else H * (1 - H)


def predict(model: str, weights: Sequence[np.ndarray], A: np.ndarray) -> np.ndarray:
    """The model's output for the design rows ``A`` (points × k, float64): a linear model
    A·w (w = column 0 of its cell), a net W2[0]·act(W1·Aᵀ) + B2[0, 0]."""
    if model == "linear":
        return A @ weights[0][:, 0]
    W1, W2, B2 = weights
    return W2[0] @ _act(model, W1 @ A.T) + B2[0, 0]


def loss(model: str, weights: Sequence[np.ndarray], A: np.ndarray, y: np.ndarray) -> float:
    """½·mean((model(A) − y)²) in float64."""
    return float(0.5 * np.mean((predict(model, weights, A) - y) ** 2))


def float64_run(learner: Learner, start: Sequence[np.ndarray], A: np.ndarray, y: np.ndarray, rate: float,
                epochs: int, k: int) -> list[list[np.ndarray]]:
    """The same algorithm in float64 from the same ``start``: the weights after 0, 1, …, ``epochs``
    epochs. gd: w ← w − rate·Aᵀ(Aw − y) on the whole set; newton: the exact solve of the normal
    equations (one epoch); sgd: one step per cell of k points in order, the back-propagation of
    the program (dW2 = R·Hᵀ, db2 = ΣR, dZ = W2ᵀR ⊙ act′(Z), dW1 = dZ·A_b), each scaled by ``rate``."""
    weights = [w.copy() for w in start]
    out = [[w.copy() for w in weights]]
    for _ in range(epochs):
        if learner.algorithm == "gd":
            w = weights[0]
            w[:, 0] -= rate * (A.T @ (A @ w[:, 0] - y))
        elif learner.algorithm == "newton":
            weights[0][:, 0] = np.linalg.solve(A.T @ A, A.T @ y)
        else:
            W1, W2, B2 = weights
            for b in range(len(learner.X.cells)):
                Ab, yb = A[b * k:(b + 1) * k], y[b * k:(b + 1) * k]
                Z = W1 @ Ab.T
                H = _act(learner.model, Z)
                R = W2[0] @ H + B2[0, 0] - yb
                dW2, db2 = R @ H.T, R.sum()
                dZ = np.outer(W2[0], R) * _act_derivative(learner.model, Z, H)
                W1 -= rate * (dZ @ Ab)
                W2[0] -= rate * dW2
                B2[0] -= rate * db2
        out.append([w.copy() for w in weights])
    return out


def checkpoints(learner: Learner, states: Sequence) -> list:
    """The states at every arrival at the epoch label (the start and after each epoch), then the
    final state when its weights differ from the last one's; without an epoch label: the first
    and the last state."""
    if learner.epoch is None:
        chosen = [states[0]]
    else:
        chosen = [s for s in states if s.pc == learner.epoch] or [states[0]]
    cells = [c for _, c in learner.weights]
    if any(states[-1].memory[c] != chosen[-1].memory[c] for c in cells) or len(chosen) == 1:
        chosen.append(states[-1])
    return chosen


def report(learner: Learner, states: Sequence, fmt: Fixed, k: int) -> dict:
    """What the learner learned, read from ``states`` (every loop's, as recorded; the first must be
    the start) and the declaration alone, with the float64 references (module docstring)."""
    one = float(fmt.one)
    start = states[0].memory
    A = learner.X.design(start, k) / one
    y = learner.y.design(start, k)[:, 0] / one

    def decoded(state) -> list[np.ndarray]:
        return [np.array(state.memory[c], dtype=np.int64) / one for _, c in learner.weights]

    marks = checkpoints(learner, states)
    learned = [decoded(s) for s in marks]
    rate = 0.0 if learner.rate is None else start[learner.rate][0][0] / one
    epochs = len(marks) - 1
    reference = float64_run(learner, learned[0], A, y, rate, epochs, k)
    ulp = 1 / one
    difference = max(float(np.max(np.abs(a - b))) for a, b in zip(learned[-1], reference[-1]))
    final = states[-1].memory
    out = {"algorithm": learner.algorithm, "model": learner.model, "data": learner.data or "the program's data",
           "points": len(y), "epochs": epochs, "loops": [s.step for s in marks],
           "weights": {name: matrix_json(final[c], fmt.frac) for name, c in learner.weights},
           "loss": [loss(learner.model, w, A, y) for w in learned],
           "float64": {"loss": [loss(learner.model, w, A, y) for w in reference],
                       "max_weight_difference": difference, "ulps": difference / ulp}}
    if learner.model == "linear":
        best = np.linalg.lstsq(A, y, rcond=None)[0]
        gap = float(np.max(np.abs(learned[-1][0][:, 0] - best)))
        out["lstsq"] = {"w": best.tolist(), "loss": loss("linear", [best[:, None]], A, y),
                        "max_weight_difference": gap, "ulps": gap / ulp}
    return out


def report_lines(found: dict) -> list[str]:
    """The report as a few lines for the run's summary text."""
    loss_ = found["loss"]
    lines = [f"learned by {found['algorithm']} ({found['model']} model) on {found['data']} ({found['points']} points), "
             f"{found['epochs']} epoch{'s' if found['epochs'] != 1 else ''}: loss {loss_[0]:.6g} -> {loss_[-1]:.6g} "
             f"(½·mean squared error of the decoded weights, in float64)",
             f"  the same {found['algorithm']} in float64 from the same start: loss {found['float64']['loss'][-1]:.6g}, "
             f"weights within {found['float64']['max_weight_difference']:.2g} ({found['float64']['ulps']:.1f} ulps)"]
    if "lstsq" in found:
        best = found["lstsq"]
        lines.append(f"  numpy lstsq: loss {best['loss']:.6g}, w within {best['max_weight_difference']:.2g} "
                     f"({best['ulps']:.1f} ulps)")
    return lines
