"""The census (issue 13): verify the construction on every machine of a class, and say where each
float mode first breaks on it. Runs in this process, on local worker processes or on a Dask
distributed cluster; writes one Parquet row per machine.

**One machine** (:func:`census_machine`): read the bbchallenge standard text, compile it
(:func:`~turingformer.compiler.perez.construction.compile_machine`), decode the blank input exactly
with the fast decoder (:func:`~turingformer.runtime.fast.decode_fast`) for at most ``max_steps``
machine steps, and compare with the reference simulator at every step
(:func:`~turingformer.analysis.verify.compare_traces`: state, head, symbol, tape, reason, verdict).
Per float dtype, :func:`~turingformer.analysis.precision.compare` gives the first *decoder* step
at which the inexact run of the same weights diverges (``None``: not within the steps compared).
A line that is not a machine becomes a row with ``error`` set (the error names file, line and
column, with a fix) and every measured column null; the census goes on.

**The columns** (:func:`schema`): ``index`` (position in the enumeration or among the file's machine
lines), ``line`` (the file line, null for an enumeration), ``machine`` (standard text),
``halted`` / ``steps`` / ``nonblank`` (the simulator's run from the blank tape, within
``max_steps``), ``agrees`` (the decoded trace equals it at every step), ``first_divergence`` (the
machine step of the first difference, null if none), ``d`` (residual width), ``seconds`` /
``cpu_seconds`` (wall and CPU time of the row), ``first_divergence_<dtype>`` for each float
dtype, ``error``.

**Chunks, shards, resuming.** Machines are cut, in their fixed order, into chunks of ``chunk``
machines; one chunk is one task (so a cluster's scheduling overhead is paid once per chunk) and
one Parquet shard ``OUT.shards/part-NNNNNN.parquet``, written by the client (temp file, then
rename: a shard on disk is complete). ``census.json`` beside the shards records the census'
parameters. ``resume=True`` skips the chunks whose shard exists (refused when the parameters
differ); without it an existing shard folder is refused, never overwritten. When every chunk is
done the shards are merged, in order, into ``OUT`` (temp file, rename; the parameters go into the
file's schema metadata) and the shard folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from turingformer.analysis.precision import _Resolution, compare, decoder_positions
from turingformer.compiler.perez.verify import compare_traces
from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import WRITE_HOOK, DecodingError, run_model
from turingformer.compiler.perez.layout import SCALARS, state_dim, symbol_dim
from turingformer.compiler.perez.model import PerezModel
from turingformer.errors import CensusError, OutputError, TuringformerError, shorten
from turingformer.files import atomic_path, same_file, write_atomic
from turingformer.runtime.batched import BatchWeights, ExactBatch, FloatBatch, shape_of
from turingformer.runtime.fast import decode_fast
from turingformer.runtime.floating import resolve_dtype
from turingformer.runtime.transformer import MLP
from turingformer.runtime.space import Linear
from turingformer.tm.formats import bbchallenge
from turingformer.tm.machine import Move, TuringMachine
from turingformer.tm.simulator import HaltReason, run
from turingformer.tm.trace import verdict_of
from turingformer.tm.tnf import tnf_count, tnf_machines

__all__ = ["CensusError", "Census", "Summary", "census_machine", "census_chunk", "run_census", "schema",
           "shard_dir", "summarize"]

MANIFEST = "census.json"
METADATA_KEY = b"turingformer.census"
SHARD_KEY = b"turingformer.census.shard"
#: Machines per chunk: one task, one Parquet shard, decoded as one batch.
DEFAULT_CHUNK = 1024
MAX_CHUNK = 1_000_000
#: Seconds a --scheduler address gets to show it speaks Dask's protocol before Client is used.
PROBE_SECONDS = 3.0


# ------------------------------------------------------------------------------ what to count
@dataclass(frozen=True)
class Item:
    """One machine line: its position, file line (None for an enumeration) and text, or the
    problem that keeps the line from being read at all (then ``text`` is empty)."""

    index: int
    line: int | None
    text: str
    problem: str | None = None


@dataclass(frozen=True)
class Census:
    """What a census counts and how: the TNF class (``states``, ``symbols``) or a ``machines`` file,
    the step limit, the float dtypes and the chunk size. Plain values: it is pickled to workers."""

    states: int | None = None
    symbols: int = 2
    machines: str | None = None
    max_steps: int = 100
    dtypes: tuple[str, ...] = ()
    chunk: int = 1024
    digest: str | None = field(default=None, compare=False)   # sha256 of the machines file

    def __post_init__(self):
        if (self.states is None) == (self.machines is None):
            raise CensusError("give either a class of machines (states and symbols) or a file of machines",
                              hint="use --states N [--symbols M], or --machines FILE")
        if self.max_steps < 1:
            raise CensusError(f"--max-steps {self.max_steps}: a census runs each machine at least one step",
                              hint="use --max-steps 100 (or more)")
        if not 1 <= self.chunk <= MAX_CHUNK:
            shown = self.chunk if self.chunk < 10 ** 12 else "too large"
            raise CensusError(f"--chunk {shown}: a chunk holds 1 to {MAX_CHUNK:,} machines "
                              "(one chunk is one task, decoded as one batch in memory)",
                              hint=f"use --chunk {DEFAULT_CHUNK}")
        for dtype in self.dtypes:
            try:
                resolve_dtype(dtype)
            except ValueError:
                raise CensusError(f"unknown float type {shorten(dtype)}", hint="use --dtype float32,float64") from None
        repeated = sorted({dt for dt in self.dtypes if self.dtypes.count(dt) > 1})
        if repeated:
            raise CensusError(f"--dtype names {', '.join(repeated)} twice: each float mode is one column",
                              hint="name each float type once, e.g. --dtype float32,float64")
        if self.machines is not None and self.digest is None:
            try:
                data = Path(self.machines).read_bytes()
            except OSError as error:
                raise CensusError(f"cannot read {self.machines}: {error.strerror or error}",
                                  hint="name a file with one bbchallenge machine (e.g. 1RB1LB_1LA1RZ) per line") from None
            object.__setattr__(self, "digest", hashlib.sha256(data).hexdigest())
        if self.states is not None:
            tnf_machines(self.states, self.symbols, max_steps=self.max_steps)   # checks n and m at once

    def describe(self) -> str:
        if self.machines is not None:
            return f"machines of {self.machines}"
        return f"TNF {self.states} states, {self.symbols} symbols"

    def identity(self) -> dict:
        """What a resumed census must share with the interrupted one."""
        out = asdict(self)
        out["dtypes"] = list(self.dtypes)
        return out

    def items(self) -> Iterator[Item]:
        if self.machines is None:
            for index, text in enumerate(tnf_machines(self.states, self.symbols, max_steps=self.max_steps)):
                yield Item(index, None, text)
            return
        for index, (line, text) in enumerate(bbchallenge.machine_lines(self.machines)):
            if isinstance(text, TuringformerError):
                yield Item(index, line, "", str(text))
            else:
                yield Item(index, line, text)

    def total(self) -> int | None:
        """The number of machines when known without running the census (for a progress bar)."""
        if self.machines is None:
            return tnf_count(self.states, self.symbols, self.max_steps)
        return sum(1 for _ in bbchallenge.machine_lines(self.machines))

    def chunks(self) -> Iterator[tuple[int, tuple[Item, ...]]]:
        items = self.items()
        for number in range(1 << 62):
            block = tuple(islice(items, self.chunk))
            if not block:
                return
            yield number, block


def schema(dtypes: Sequence[str] = ()):
    """The Parquet schema of a census (module docstring)."""
    import pyarrow as pa

    return pa.schema(
        [("index", pa.int64()), ("line", pa.int64()), ("machine", pa.string()), ("halted", pa.bool_()),
         ("steps", pa.int64()), ("nonblank", pa.int64()), ("agrees", pa.bool_()),
         ("first_divergence", pa.int64()), ("d", pa.int64()), ("seconds", pa.float64()),
         ("cpu_seconds", pa.float64())]
        + [(f"first_divergence_{dt}", pa.int64()) for dt in dtypes]
        + [("error", pa.string())])


# ------------------------------------------------------------------------------ one machine
def census_machine(item: Item, census: Census) -> dict:
    """The row of one machine (module docstring): exact agreement and float divergences."""
    wall, cpu = time.perf_counter(), time.process_time()
    row = {name: None for name in schema(census.dtypes).names}
    row.update(index=item.index, line=item.line, machine=item.text.strip() or None)
    if item.problem is not None:
        row["error"] = item.problem
        return row
    try:
        machine = bbchallenge.loads(item.text, census.machines, line=item.line or 1)
        model = compile_machine(machine)
    except TuringformerError as error:
        row["error"] = str(error)
        return row
    row["machine"] = item.text.split()[0]
    reference = run(machine, "", max_steps=census.max_steps)
    row.update(halted=reference.reason is not HaltReason.STEP_LIMIT, steps=reference.steps,
               nonblank=reference.final.tape.nonblank(), d=model.transformer.d)
    try:
        decoded = run_model(model, "", max_steps=census.max_steps, decoder=decode_fast, keep_steps=False).trace
    except DecodingError as error:       # the exact network produced a non-configuration
        row.update(agrees=False, error=f"exact decoding failed: {error}")
    else:
        divergence = compare_traces(reference, decoded)
        row.update(agrees=divergence is None, first_divergence=None if divergence is None else divergence.step)
    if census.dtypes:
        budget = decoder_positions(machine, "", census.max_steps)
        for dtype in census.dtypes:
            row[f"first_divergence_{dtype}"] = compare(model, "", dtype=dtype, max_steps=budget).first_divergence
    row.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    return row


# ------------------------------------------------------------------------------ many machines at once
def perez_scale(i: int) -> int:
    """S_i = 6(i+1)²: every activation of the Pérez construction at decoder position i, on the blank
    input, is an integer over S_i (docs/census.md, "Why int64 is exact"); the batched decoder checks it."""
    return 6 * (i + 1) ** 2


class _Compiler:
    """Compiled models for a census, compiled once per shape (issue 23, item 4).

    Two machines with the same states, symbols and roles (a *layout*) compile to the same weights
    except the rows of layer 1's FFN output map that read a pair unit (q, a) of a machine state:
    those rows are M_δ's row for the rule δ(q, a) (spec §4, Lemma 8). The rows are taken from the
    compiled weights themselves: the first machine that uses a rule (q, a, δ(q, a)) unseen in its
    layout is compiled in full and every pair row of it is kept; a machine whose rules were all
    seen gets the template's weights with its own rows gathered in. Pair units are found by what
    they read (the unit of W1 that reads exactly q1:q and s1:a). Machines with stay moves (other
    normalised states) are compiled in full. ``tests/analysis/test_census.py`` checks the gathered
    weights equal :func:`compile_machine`'s.
    """

    def __init__(self):
        self.templates: dict[tuple, tuple] = {}
        self.rows: dict[tuple, tuple] = {}

    @staticmethod
    def _layout(machine: TuringMachine) -> tuple:
        return (machine.states, machine.tape_alphabet, machine.input_alphabet, machine.start, machine.blank,
                machine.halt_states, machine.accept_states, machine.reject_states)

    @staticmethod
    def _rule(machine: TuringMachine, q: str, a: str):
        rule = machine.rule(q, a)
        return None if rule is None else (rule.write, rule.move.value, rule.next_state)

    def __call__(self, machine: TuringMachine) -> PerezModel:
        if any(rule.move is Move.S for rule in machine.rules):
            return compile_machine(machine)
        layout = self._layout(machine)
        pairs = [(q, a) for q in machine.states for a in machine.tape_alphabet]
        keys = [(layout, q, a, self._rule(machine, q, a)) for q, a in pairs]
        template = self.templates.get(layout)
        if template is None or any(key not in self.rows for key in keys):
            model = compile_machine(machine)
            units, common = self._split(model, pairs)
            w2 = model.transformer.decoder[0].ffn.layers[1]
            for key, (q, a) in zip(keys, pairs):
                self.rows[key] = tuple(w for w in w2.weights if w[0] == units[q, a])
            if template is None:
                self.templates[layout] = (model, units, common)
                return model
            # else gathered like the others: the same weights, sharing the template's objects (a
            # batch then compares its machine-independent maps by identity, not entry by entry)
        model, units, common = self.templates[layout]
        t = model.transformer
        layer1 = t.decoder[0]
        w1, w2 = layer1.ffn.layers
        weights = tuple(sorted(common + tuple(w for key in keys for w in self.rows[key])))
        ffn = MLP((w1, Linear(w2.source, w2.target, weights, w2.bias)))
        transformer = replace(t, decoder=(replace(layer1, ffn=ffn), *t.decoder[1:]))
        return replace(model, transformer=transformer, labels=replace(model.labels, machine_name=machine.name))

    @staticmethod
    def _split(model: PerezModel, pairs) -> tuple[dict, tuple]:
        """The pair unit of each (q, a) and the output-map weights of every other unit."""
        space = model.transformer.space
        w1, w2 = model.transformer.decoder[0].ffn.layers
        reads: dict[int, set[int]] = {}
        for i, o, _ in w1.weights:
            reads.setdefault(o, set()).add(i)
        by_inputs = {frozenset(v): u for u, v in reads.items()}
        units = {(q, a): by_inputs[frozenset((space.index(state_dim("q1", q)), space.index(symbol_dim("s1", a))))]
                 for q, a in pairs}
        mine = set(units.values())
        return units, tuple(w for w in w2.weights if w[0] not in mine)


_COMPILER = _Compiler()
_BLAS_LIMITED = []


def _one_blas_thread() -> None:
    """numpy's BLAS on one thread, set once per worker process (not per machine)."""
    if not _BLAS_LIMITED:
        from threadpoolctl import threadpool_limits

        _BLAS_LIMITED.append(threadpool_limits(limits=1, user_api="blas"))


@dataclass(frozen=True)
class _Job:
    """One machine of a batch: its place in the chunk, compiled model and reference run."""

    k: int
    model: PerezModel
    machine: TuringMachine
    reference: object


class _Reader:
    """Reads the batched decoder's outputs as :class:`~turingformer.compiler.perez.decoding.Reader`
    does (the same blocks, the same rules), for a whole batch of one layout at once: exactly over
    the integer scale, or with the float tolerance in the float run's own dtype."""

    def __init__(self, model: PerezModel):
        space, labels = model.transformer.space, model.labels
        self.q1 = np.array([space.index(state_dim("q1", q)) for q in labels.states])
        self.s1 = np.array([space.index(symbol_dim("s1", a)) for a in labels.symbols])
        self.s2 = np.array([space.index(symbol_dim("s2", a)) for a in labels.symbols])
        self.x1 = space.index(SCALARS[1])
        self.stay = np.array([q in labels.stay for q in labels.states] + [False])

    @staticmethod
    def _one_hot(block: np.ndarray, one, tolerance=None) -> tuple[np.ndarray, np.ndarray]:
        """(label index or -1 for an all-zero block, readable) per row."""
        if tolerance is None:
            zero, hot = block == 0, block == one
        else:
            zero, hot = np.abs(block) <= tolerance, np.abs(block - one) <= tolerance
        zeros, ones = zero.sum(axis=1), hot.sum(axis=1)
        width = block.shape[1]
        label = np.where(zeros == width, -1, hot.argmax(axis=1))
        return label, (zeros == width) | ((ones == 1) & (zeros == width - 1))

    def read(self, y_in: np.ndarray, z1: np.ndarray, one, tolerance=None):
        """(state, read, move, write, readable) of every row; ``one`` is 1 over the scale."""
        state, ok = self._one_hot(y_in[:, self.q1], one, tolerance)
        read, ok_read = self._one_hot(y_in[:, self.s1], one, tolerance)
        write, ok_write = self._one_hot(z1[:, self.s2], one, tolerance)
        x = y_in[:, self.x1]
        if tolerance is None:
            move = x // one
            ok_move = (x % one == 0) & (np.abs(move) <= 1)
        else:
            rounded = np.rint(x)
            ok_move = ~(np.abs(x - rounded) > tolerance) & (np.abs(rounded) <= 1)
            move = np.where(ok_move, rounded, 0).astype(np.int64)
        return state, read, move, write, ok & ok_read & ok_write & ok_move

    def halted(self, y: np.ndarray, tolerance=None) -> np.ndarray:
        block = y[:, self.q1]
        return ~(block != 0).any(axis=1) if tolerance is None else (np.abs(block) <= tolerance).all(axis=1)


FLOAT_READER_TOLERANCE = 0.25     # analysis.precision.compare's reader tolerance


def _decode_batch(jobs: Sequence[_Job], census: Census) -> tuple[dict[int, dict], set[int]]:
    """Decode the blank input of a batch of one shape in lockstep, exactly and in every float dtype.

    Returns the row fields of each machine the batch settled, by chunk place, and the places to
    recompute one machine at a time (a check of the batched decoder failed, an output did not read
    as a configuration, or the decoded trace disagrees with the simulator: the per-machine path
    then gives the row, first divergence included). The reading and stopping rules are
    :class:`~turingformer.compiler.perez.decoding.ModelRun`'s; the float columns are
    :func:`~turingformer.analysis.precision.compare`'s (hard attention, sum averaging, reader
    tolerance 0.25), compared at every position with the exact batch instead of a second exact run.
    """
    template = jobs[0].model
    labels = template.labels
    reader = _Reader(template)
    models = BatchWeights([job.model.transformer for job in jobs])       # read once, for every mode
    count = len(jobs)
    start = labels.prelude_steps(0)
    limit = start + 2 * (census.max_steps + 1) + 1               # ModelRun's position budget
    exact = ExactBatch(models, scale=perez_scale, capture=(WRITE_HOOK,))
    floats = {dt: FloatBatch(models, dtype=dt, capture=(WRITE_HOOK,)) for dt in census.dtypes}
    resolution = _Resolution(template, 0)
    events = np.zeros((4, count, limit), dtype=np.int64)          # state, read, move, write per position
    positions = np.zeros(count, dtype=np.int64)
    m_steps = np.full(count, -1)
    step_limit = np.zeros(count, dtype=bool)
    first = {dt: np.full(count, -1) for dt in census.dtypes}
    again: set[int] = set()
    again_float: dict[str, set[int]] = {dt: set() for dt in census.dtypes}
    while len(exact.rows):
        step = exact.step()
        i, rows, scale = step.i, step.rows, step.scale
        again.update(step.failed.tolist())
        state, read, move, write, readable = reader.read(step.y_in, step.activations[WRITE_HOOK], scale)
        again.update(rows[~readable].tolist())
        events[:, rows, i] = state, read, move, write
        positions[rows] = i + 1
        counted = (i >= start) & ~reader.stay[state]
        m_steps[rows] += counted
        halted = reader.halted(step.y_out)
        at_limit = counted & (m_steps[rows] == census.max_steps)
        step_limit[rows] = at_limit & ~halted
        done = at_limit | halted | (i + 1 == limit) | ~readable
        gone = np.concatenate([step.failed, rows[~readable]])
        for dt, batch in floats.items():
            if len(gone):
                batch.keep(~np.isin(batch.rows, gone))
            if not len(batch.rows):
                continue
            fstep = batch.step()
            again_float[dt].update(fstep.failed.tolist())
            at = np.searchsorted(rows, fstep.rows)
            exact_y = step.y_out[at].astype(np.float64) / scale
            error = np.abs(fstep.y_out.astype(np.float64) - exact_y)
            error[np.isnan(error)] = np.inf
            broken = (error / resolution.at(i)).max(axis=1) >= 0.5
            tol = fstep.y_in.dtype.type(FLOAT_READER_TOLERANCE)
            f_state, f_read, f_move, f_write, f_ok = reader.read(
                fstep.y_in, fstep.activations[WRITE_HOOK], fstep.y_in.dtype.type(1), tol)
            differs = (broken | ~f_ok | (f_state != state[at]) | (f_read != read[at]) | (f_move != move[at])
                       | (f_write != write[at]) | (reader.halted(fstep.y_out, tol) != halted[at]))
            first[dt][fstep.rows[differs]] = i
            batch.keep(~differs & ~done[at])
        exact.keep(~done)
    agrees = _agreement(jobs, events, positions, step_limit, start) & ~np.isin(np.arange(count), list(again))
    out: dict[int, dict] = {}
    for b, job in enumerate(jobs):
        if not agrees[b]:
            again.add(b)
            continue
        row = {"agrees": True, "first_divergence": None}
        budget = None
        for dt in census.dtypes:
            if b in again_float[dt]:          # not finite: the per-machine float run decides
                budget = budget or decoder_positions(job.machine, "", census.max_steps)
                row[f"first_divergence_{dt}"] = compare(job.model, "", dtype=dt, max_steps=budget).first_divergence
            else:
                row[f"first_divergence_{dt}"] = None if first[dt][b] < 0 else int(first[dt][b])
        out[job.k] = row
    return out, {jobs[b].k for b in again}


def _agreement(jobs: Sequence[_Job], events: np.ndarray, positions: np.ndarray, step_limit: np.ndarray,
               start: int) -> np.ndarray:
    """Per machine: the decoded run is the simulator's, step for step (True), or it must be
    recomputed one machine at a time to say where it differs (False).

    The decoded trace is :class:`~turingformer.compiler.perez.decoding.ModelRun`'s: the configurations
    from position ``start`` on (after the prelude; the census' machines have no stay states, so
    every later position is a machine step), heads the running sum of the decoded moves minus one,
    the ending read as :meth:`_TraceBuilder.trace` reads it. Equal states, heads and writes at
    every step, equal length, reason and verdict make every configuration equal
    (:func:`~turingformer.analysis.verify.compare_traces`): the tapes are replays of the same
    blank input by the same writes.
    """
    labels = jobs[0].model.labels
    count = len(jobs)
    if labels.stay:
        return np.zeros(count, dtype=bool)
    states = {q: k for k, q in enumerate(labels.states)}
    symbols = {a: k for k, a in enumerate(labels.symbols)}
    lengths = np.array([len(job.reference.states) for job in jobs])
    ok = positions - start == lengths
    width = int(lengths.max())
    expected = np.full((3, count, width), -9, dtype=np.int64)
    for b, job in enumerate(jobs):
        ref, n = job.reference, lengths[b]
        expected[0, b, :n] = [states.get(q, -9) for q in ref.states]
        expected[1, b, :n] = ref.heads
        expected[2, b, :n - 1] = [symbols.get(a, -9) for a in ref.writes]
    window = slice(start, start + width)
    decoded = np.stack([events[0, :, window], np.cumsum(events[2], axis=1)[:, window] - 1, events[3, :, window]])
    if decoded.shape[2] < width:
        return np.zeros(count, dtype=bool)
    t = np.arange(width)
    inside = t[None, :] < lengths[:, None]
    written = t[None, :] < lengths[:, None] - 1
    ok &= ((decoded[0] == expected[0]) | ~inside).all(axis=1)
    ok &= ((decoded[1] == expected[1]) | ~inside).all(axis=1)
    ok &= ((decoded[2] == expected[2]) | ~written).all(axis=1)
    for b in np.flatnonzero(ok):
        ref = jobs[b].reference
        final = ref.states[-1]
        reason = HaltReason.STEP_LIMIT if step_limit[b] else (
            HaltReason.HALTING_STATE if labels.role(final) else HaltReason.NO_RULE)
        ok[b] = reason is ref.reason and verdict_of(final, reason, labels.accept, labels.reject) is ref.verdict
    return ok


def census_chunk(census: Census, items: Sequence[Item]) -> list[dict]:
    """The rows of one chunk (one task on a worker): the machines of each shape decoded as one
    batch (:func:`_decode_batch`), the rest (bad lines, machines the batch hands back) one at a
    time by :func:`census_machine`. A batched row's ``seconds`` and ``cpu_seconds`` are its
    batch's time (compiling, simulating and decoding) shared equally among the batch's rows."""
    _one_blas_thread()
    wall, cpu = time.perf_counter(), time.process_time()
    rows: list[dict | None] = [None] * len(items)
    names = schema(census.dtypes).names
    groups: dict[tuple, list[_Job]] = {}
    memo: dict = {}
    for k, item in enumerate(items):
        if item.problem is not None:
            continue
        try:
            machine = bbchallenge.loads(item.text, census.machines, line=item.line or 1)
            model = _COMPILER(machine)
        except TuringformerError:
            continue                                  # census_machine writes the error row
        reference = run(machine, "", max_steps=census.max_steps)
        row = dict.fromkeys(names)
        row.update(index=item.index, line=item.line, machine=item.text.split()[0],
                   halted=reference.reason is not HaltReason.STEP_LIMIT, steps=reference.steps,
                   nonblank=reference.final.tape.nonblank(), d=model.transformer.d)
        rows[k] = row
        groups.setdefault(shape_of(model.transformer, memo), []).append(_Job(k, model, machine, reference))
    batched = []
    for jobs in groups.values():
        settled, again = _decode_batch(jobs, census)
        for k, fields in settled.items():
            rows[k].update(fields)
            batched.append(k)
        for k in again:
            rows[k] = None
    share_wall = (time.perf_counter() - wall) / max(len(batched), 1)
    share_cpu = (time.process_time() - cpu) / max(len(batched), 1)
    for k in batched:
        rows[k].update(seconds=share_wall, cpu_seconds=share_cpu)
    return [row if row is not None else census_machine(item, census) for item, row in zip(items, rows)]


# ------------------------------------------------------------------------------ shards
def shard_dir(output: str | Path) -> Path:
    """Where the shards of the census writing ``output`` live while it runs."""
    output = Path(output)
    return output.with_name(output.name + ".shards")


def lock_path(output: str | Path) -> Path:
    """The lock file that keeps a second census from writing ``output`` at the same time."""
    output = Path(output)
    return output.with_name(output.name + ".lock")


def _shard(folder: Path, number: int) -> Path:
    return folder / f"part-{number:06d}.parquet"


def _write_table(table, path: Path) -> None:
    """Write a Parquet file atomically (:func:`turingformer.files.atomic_path`)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def _table(rows: Sequence[dict], census: Census):
    import pyarrow as pa

    sch = schema(census.dtypes)
    return pa.Table.from_pylist(list(rows), schema=sch)


def _shard_label(census: Census, number: int, items: Sequence[Item]) -> bytes:
    """What a shard says about itself: the census, its chunk and the machines it holds."""
    return json.dumps({"census": census.identity(), "chunk": number, "first": items[0].index,
                       "machines": len(items)}, sort_keys=True).encode()


def _shard_table(rows: Sequence[dict], census: Census, number: int, items: Sequence[Item]):
    return _table(rows, census).replace_schema_metadata({SHARD_KEY: _shard_label(census, number, items)})


def _verified(path: Path, census: Census, number: int, items: Sequence[Item]):
    """The shard's table if it is this census' chunk ``number`` holding exactly ``items``, else
    None (missing, truncated, empty, not Parquet, another census' or another chunk's: recompute)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException, ValueError):
        return None
    label = (table.schema.metadata or {}).get(SHARD_KEY)
    if label != _shard_label(census, number, items):
        return None
    if not table.schema.equals(schema(census.dtypes), check_metadata=False):
        return None
    if (table.column("index").to_pylist() != [item.index for item in items]
            or table.column("line").to_pylist() != [item.line for item in items]):
        return None
    return table


def _resumable(folder: Path, census: Census, resume: bool) -> tuple[set[int], int]:
    """(chunk numbers with a shard file, machines their footers claim) of the shard folder; refuses
    a folder without ``resume`` and another census' folder. Each shard is verified when its chunk
    comes up (:func:`_verified`); the machine count is only for the progress bar."""
    import pyarrow.parquet as pq

    if not folder.exists():
        return set(), 0
    if not folder.is_dir():
        raise CensusError(f"{folder} is in the way: the census keeps its shards in a folder of that name",
                          hint="move that file away, or choose another -o")
    if not resume:
        raise CensusError(f"{folder} holds the shards of an unfinished census",
                          hint="add --resume to continue it, or delete that folder to start over")
    try:
        previous = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(previous, dict):
            raise ValueError
    except (OSError, ValueError):
        raise CensusError(f"{folder} has no readable {MANIFEST}: it is not a census shard folder",
                          hint="delete the folder (or choose another -o) to start over") from None
    different = sorted(k for k, v in census.identity().items() if previous.get(k) != v)
    if different:
        raise CensusError(f"{folder} belongs to another census: {', '.join(different)} differ "
                          f"({', '.join(f'{k}={shorten(repr(previous.get(k)))}' for k in different)})",
                          hint="resume with the same options, or delete the folder to start over")
    present, claimed = set(), 0
    for path in folder.glob("part-*.parquet"):
        stem = path.stem[len("part-"):]
        if len(stem) == 6 and stem.isdigit() and stem.isascii():
            present.add(int(stem))
            try:
                claimed += pq.read_metadata(path).num_rows
            except Exception:                    # unreadable: recomputed when its chunk comes up
                pass
    return present, claimed


def _create_shards(folder: Path, census: Census) -> None:
    if not folder.exists():
        folder.mkdir(parents=True)
        write_atomic(folder / MANIFEST, json.dumps(census.identity(), indent=2) + "\n")


def _merge(folder: Path, output: Path, census: Census, chunks: int):
    """Concatenate the shards of chunks 0 .. chunks-1 (each verified or written by this run) into
    ``output``; remove the shard folder (strays included)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tables = [pq.read_table(_shard(folder, n)).replace_schema_metadata(None) for n in range(chunks)]
    table = pa.concat_tables(tables) if tables else _table([], census)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(census.identity())})
    _write_table(table, output)
    shutil.rmtree(folder)
    return table


def _check_output(output: Path, census: Census) -> None:
    """Refuse, before any work, an output the census could not write or that would destroy a file
    it reads (the machine list)."""
    if output.is_dir():
        raise OutputError(f"-o {output} is a folder: the census writes one Parquet file",
                          hint=f"name a file, e.g. -o {output / 'census.parquet'}")
    if not output.parent.is_dir():
        raise OutputError(f"-o {output}: the folder {output.parent} does not exist",
                          hint="create it first, or choose another -o")
    if census.machines is not None and (same_file(census.machines, output)
                                        or Path(census.machines).resolve() == output.resolve()):
        raise OutputError(f"-o {output} is the machine list {census.machines}: writing the census there "
                          "would destroy the list", hint="choose another output file (-o)")


@contextmanager
def _locked(output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``OUT.lock`` while the census writes ``output`` and its shards: a
    second census on the same output fails at once instead of mixing shards."""
    import fcntl

    path = lock_path(output)
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise CensusError(f"cannot create the lock file {path}: {error.strerror or error}",
                              hint="choose an -o in a folder you can write") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CensusError(f"another census is writing {output} (it holds {path})",
                              hint="wait for it to finish (then --resume if it was interrupted), "
                                   "or choose another -o") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino     # not unlinked by a finishing census
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        yield
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        os.close(fd)


# ------------------------------------------------------------------------------ where it runs
def _ignore_sigint() -> None:
    """Worker processes leave Ctrl-C to the client, which stops them cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor | None, int]]:
    """(executor, parallel slots): a Dask cluster's, a local process pool's, or (None, 1) in process."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise CensusError("--scheduler needs Dask distributed", hint="pip install 'dask[distributed]'") from None
        _probe(scheduler)
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as error:
            raise CensusError(f"cannot reach the Dask scheduler at {scheduler}: {error}",
                              hint="start one with 'dask scheduler' and workers with 'dask worker ADDRESS', "
                                   "or drop --scheduler to run on local processes") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise CensusError(f"the Dask scheduler at {scheduler} has no workers",
                                  hint=f"start some with 'dask worker {scheduler} --nworkers 2 --nthreads 1'") from None
            slots = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
            yield client.get_executor(), max(slots, 1)
        return
    if workers == 0:
        yield None, 1
        return
    workers = workers or _cores()
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_ignore_sigint)
    try:
        yield pool, workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _probe(scheduler: str) -> None:
    """Fail fast, with one clear error, when a ``tcp://`` address is not a Dask scheduler.

    A Dask server writes its handshake as soon as a connection opens (``distributed.comm.core``):
    an 8-byte frame length, then that many bytes. Anything else (no answer within
    :data:`PROBE_SECONDS`, as from a web server; a length no handshake has, as from a server that
    greets with text) would otherwise reach ``Client``, which waits for a minute or reads the text
    as a length of exabytes.
    """
    import socket
    import struct

    from distributed.comm import parse_address, parse_host_port

    hint = ("give the address 'dask scheduler' prints (tcp://HOST:8786), or drop --scheduler to run "
            "on local processes")
    try:
        scheme, location = parse_address(scheduler)
        if scheme != "tcp":
            return                                    # tls:// and others: Client checks them
        host, port = parse_host_port(location)
    except (ValueError, TypeError) as error:
        raise CensusError(f"cannot reach the Dask scheduler at {shorten(scheduler)}: {error}", hint=hint) from None
    what = None
    try:
        with socket.create_connection((host, port), timeout=PROBE_SECONDS) as sock:
            sock.settimeout(PROBE_SECONDS)
            header = _receive(sock, 8)
            size = struct.unpack("Q", header)[0] if len(header) == 8 else 0
            if len(header) < 8:
                what = "it closed the connection without a Dask handshake"
            elif not 0 < size < 1 << 20 or not _handshake(_receive(sock, size), size):
                what = f"its first bytes {shorten(repr(header))} are not a Dask handshake"
    except socket.timeout:
        what = f"it sent no Dask handshake within {PROBE_SECONDS:g} s (a web server, or another service?)"
    except OSError as error:
        raise CensusError(f"cannot reach the Dask scheduler at {shorten(scheduler)}: {error.strerror or error}",
                          hint=hint) from None
    if what is not None:
        raise CensusError(f"{shorten(scheduler)} is not a Dask scheduler: {what}", hint=hint)


def _receive(sock, size: int) -> bytes:
    """Up to ``size`` bytes from ``sock`` (fewer if it closes; the socket's timeout applies)."""
    data = b""
    while len(data) < size:
        part = sock.recv(min(size - len(data), 1 << 16))
        if not part:
            break
        data += part
    return data


def _handshake(payload: bytes, size: int) -> bool:
    """True when ``payload`` is a whole frame list whose further frames are of a handshake's size
    (``distributed.protocol.utils.unpack_frames``, the reader Client would use)."""
    from distributed.protocol.utils import unpack_frames

    if len(payload) != size:
        return False
    try:
        _, missing = unpack_frames(payload, partial=True)
    except Exception:                    # any garbage: not frames
        return False
    return sum(missing) < 1 << 20


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ------------------------------------------------------------------------------ the census
@dataclass(frozen=True)
class Summary:
    """What a census found (over all its rows) and what this run cost."""

    census: Census
    machines: int
    errors: int
    halting: int
    S: int | None                 # most steps of a halting machine
    S_machine: str | None
    sigma: int | None             # most non-blank cells left by a halting machine
    sigma_machine: str | None
    divergences: int              # rows that do not agree
    float_divergences: dict       # dtype -> machines whose float run diverged within the steps compared
    computed: int                 # machines computed by this run (the rest came from resumed shards)
    seconds: float                # wall time of this run
    cpu_seconds: float            # CPU time of the rows computed by this run (on every worker)
    where: str

    @property
    def per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        floats = "".join(f", {dt} diverges on {n:,}" for dt, n in self.float_divergences.items())
        errors = f", {self.errors:,} bad lines" if self.errors else ""
        champion = "" if self.S is None else (f", S = {self.S} ({self.S_machine}), "
                                              f"Σ = {self.sigma} ({self.sigma_machine})")
        return (f"census of {self.census.describe()}, {self.census.max_steps:,} steps: {self.machines:,} machines"
                f"{errors}, {self.halting:,} halt{champion}, {self.divergences:,} divergences{floats}; "
                f"{self.computed:,} computed in {self.seconds:.1f} s on {self.where} "
                f"({self.per_second:.1f} machines/s, {self.cpu_seconds:.1f} s CPU)")


def summarize(table, census: Census, *, computed: int = 0, seconds: float = 0.0, cpu_seconds: float = 0.0,
              where: str = "") -> Summary:
    """The :class:`Summary` of a census table (the merged Parquet file read back, for instance)."""
    rows = table.to_pylist()
    halting = [r for r in rows if r["halted"]]
    best_s = max(halting, key=lambda r: (r["steps"], -r["index"]), default=None)
    best_sigma = max(halting, key=lambda r: (r["nonblank"], -r["index"]), default=None)
    return Summary(
        census=census, machines=len(rows), errors=sum(r["error"] is not None and r["agrees"] is None for r in rows),
        halting=len(halting), S=best_s and best_s["steps"], S_machine=best_s and best_s["machine"],
        sigma=best_sigma and best_sigma["nonblank"], sigma_machine=best_sigma and best_sigma["machine"],
        divergences=sum(r["agrees"] is False for r in rows),
        float_divergences={dt: sum(r[f"first_divergence_{dt}"] is not None for r in rows) for dt in census.dtypes},
        computed=computed, seconds=seconds, cpu_seconds=cpu_seconds, where=where)


def run_census(
    output: str | Path, *, states: int | None = None, symbols: int = 2, machines: str | Path | None = None,
    max_steps: int = 100, dtypes: Sequence[str] = (), chunk: int = DEFAULT_CHUNK, workers: int | None = None,
    scheduler: str | None = None, resume: bool = False,
    on_rows: Callable[[list[dict]], None] | None = None, on_start: Callable[[int | None, int], None] | None = None,
) -> Summary:
    """Run a census and write it to ``output`` (Parquet); return its :class:`Summary`.

    ``states``/``symbols`` census the TNF class (:func:`turingformer.tm.tnf.tnf_machines`),
    ``machines`` a file of standard-text machines, one per line. ``workers``: local processes
    (``None`` = the number of cores, ``0`` = this process, no pool); ``scheduler``: the address of a
    Dask distributed scheduler (``tcp://HOST:PORT``) to run the chunks on instead. ``on_start(total,
    done)`` is called once (total machines if known, machines the shard folder's files claim),
    ``on_rows(rows)`` after every chunk written (for a progress bar and error reports).

    Everything that can be refused is refused before any work: the options, an output that is a
    folder or the machine list, another census' shard folder, an output another census is writing
    (``OUT.lock``), a ``--scheduler`` that is not a Dask scheduler. With ``resume`` each shard is
    used only if it is verified to be this census' chunk (:func:`_verified`); any other file is
    recomputed, so a resumed census is row for row the uninterrupted one.
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CensusError("the census writes Parquet files with pyarrow, which is not installed",
                          hint="pip install 'turingformer[census]' (pyarrow, dask[distributed], pandas)") from None
    census = Census(states=states, symbols=symbols, machines=None if machines is None else str(machines),
                    max_steps=max_steps, dtypes=tuple(dtypes), chunk=chunk)
    output = Path(output)
    _check_output(output, census)
    folder = shard_dir(output)
    with _locked(output):
        present, claimed = _resumable(folder, census, resume)
        with _executor(workers, scheduler) as (executor, slots):
            where = (f"the Dask cluster at {scheduler}, {slots} worker threads" if scheduler else
                     "this process" if executor is None else
                     f"{slots} local worker process{'es' if slots > 1 else ''}")
            total = census.total()
            if on_start is not None:
                on_start(total, min(claimed, total if total is not None else claimed))
            _create_shards(folder, census)
            started = time.perf_counter()
            computed, cpu, chunks = 0, 0.0, 0

            def store(number: int, items: Sequence[Item], rows: list[dict]) -> None:
                nonlocal computed, cpu
                _write_table(_shard_table(rows, census, number, items), _shard(folder, number))
                computed += len(rows)
                cpu += sum(r["cpu_seconds"] or 0.0 for r in rows)
                if on_rows is not None:
                    on_rows(rows)

            def todo():
                nonlocal chunks
                for number, items in census.chunks():
                    chunks = number + 1
                    if number in present and _verified(_shard(folder, number), census, number, items) is not None:
                        continue
                    yield number, items

            work = todo()
            if executor is None:
                for number, items in work:
                    store(number, items, census_chunk(census, items))
            else:
                pending: dict = {}
                try:
                    while True:
                        for number, items in islice(work, max(0, 2 * slots - len(pending))):
                            pending[executor.submit(census_chunk, census, items)] = (number, items)
                        if not pending:
                            break
                        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                        for future in sorted(finished, key=lambda f: pending[f][0]):
                            number, items = pending.pop(future)
                            store(number, items, future.result())
                finally:
                    for future in pending:
                        future.cancel()
        seconds = time.perf_counter() - started
        table = _merge(folder, output, census, chunks)
    return summarize(table, census, computed=computed, seconds=seconds, cpu_seconds=cpu, where=where)
