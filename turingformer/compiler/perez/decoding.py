"""Stage 4: run a compiled model on an input and read its outputs back into the user machine's
configuration trace — from the weights, the input and the labels alone (spec §2b.6, §6).

Decoder output y_t holds (q⁽ᵗ⁾, s⁽ᵗ⁾, m⁽ᵗ⁻¹⁾) of the normalised machine M'; the written symbol
v⁽ᵗ⁾ is read from slot s2 of layer 1's output at position t (hook ``decoder.1.resid_post``).
M' positions: c'_t = Σ_{j<t} m⁽ʲ⁾. Decoding stops at the first all-zero state block (M' has no
rule: the machine halted) or at the step limit. Mapping back drops the 2n+3 prelude steps and
every step in a stay state ⟨stay:p⟩; the remaining configurations are M's, with M cell = M'
cell − 1, and the tape is the replay of the decoded writes.
"""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Collection, Iterator, Sequence

import numpy as np

from turingformer.errors import DecodingError, SourceKindError, TuringformerError
from turingformer.compiler.perez.layout import SCALARS, state_dim, symbol_dim
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace, trace_from_events, verdict_of
from turingformer.runtime.fast import Chunk, decode_chunks, decode_fast
from turingformer.runtime.transformer import Step, Transformer

WRITE_HOOK = "decoder.1.resid_post"
__all__ = ["DecodingError", "DecodedStep", "Reader", "ModelRun", "RunResult", "run_model", "WRITE_HOOK"]


@dataclass(frozen=True)
class DecodedStep:
    """One step of M' as the transformer produced it."""

    t: int            # the M' time of the configuration read from y_t
    state: str        # q⁽ᵗ⁾ (from y_t)
    read: str         # s⁽ᵗ⁾ (from y_t)
    move_in: int      # m⁽ᵗ⁻¹⁾ (from y_t)
    write: str | None  # v⁽ᵗ⁾ (from z¹_t.s2), None when M' has no rule there


class Reader:
    """Reads one-hot blocks of output vectors by their names (exact or with a tolerance)."""

    def __init__(self, model, tolerance: float = 0.0):
        self.space = model.transformer.space
        self.labels = model.labels
        self.tolerance = tolerance
        self._q1 = [(q, self.space.index(state_dim("q1", q))) for q in self.labels.states]
        self._s1 = [(a, self.space.index(symbol_dim("s1", a))) for a in self.labels.symbols]
        self._s2 = [(a, self.space.index(symbol_dim("s2", a))) for a in self.labels.symbols]
        self._x1 = self.space.index(SCALARS[1])

    def _is(self, value, target: int) -> bool:
        """value == target, exactly (tolerance 0) or within the tolerance (float modes)."""
        if not self.tolerance:
            return value == target
        return abs(value - target) <= self.tolerance

    def _one_hot(self, vector: Sequence, slots, what: str, t: int) -> str | None:
        """The label whose slot is 1 with all others 0; None for an all-zero block."""
        if not self.tolerance:      # exact: the non-zero slots must be a single 1
            nonzero = [(name, vector[k]) for name, k in slots if vector[k]]
            if not nonzero:
                return None
            if len(nonzero) == 1 and nonzero[0][1] == 1:
                return nonzero[0][0]
            raise DecodingError(f"step {t}: the {what} block is not one-hot: {dict(nonzero)}")
        ones, zeros = [], 0
        for name, k in slots:
            value = vector[k]
            if self._is(value, 0):
                zeros += 1
            elif self._is(value, 1):
                ones.append(name)
        if len(ones) == 1 and zeros == len(slots) - 1:
            return ones[0]
        if zeros == len(slots):
            return None
        values = {name: vector[k] for name, k in slots if vector[k]}
        raise DecodingError(f"step {t}: the {what} block is not one-hot: {values}")

    @property
    def state_coords(self) -> tuple[int, ...]:
        """The coordinates of the state block q1 (all zero: M' had no rule, the run is over)."""
        return tuple(k for _, k in self._q1)

    def read_chunk(self, chunk: Chunk, num0: np.ndarray, den0: np.ndarray):
        """What :meth:`read` reads, for every position of a chunk at once, exactly:
        ``(states, moves, writes, halted_after)`` — the state and write indices (−1 for an
        all-zero block), m(t−1), and whether y_{t+1} is halted. ``num0``/``den0`` is the input
        y of the chunk's first position (the previous chunk's last output, or the seed)."""
        dtype = chunk.num.dtype
        try:
            first_num, first_den = np.asarray(num0, dtype=dtype), np.asarray(den0, dtype=dtype)
        except OverflowError:
            dtype = object
            first_num, first_den = np.asarray(num0, dtype=object), np.asarray(den0, dtype=object)
        y_num = np.vstack([first_num[None, :], chunk.num[:-1].astype(dtype)])
        y_den = np.vstack([first_den[None, :], chunk.den[:-1].astype(dtype)])
        z_num, z_den = chunk.hooks[WRITE_HOOK]
        t0 = chunk.start
        states = self._chunk_block(y_num, y_den, self._q1, "state (q1)", t0, "y")
        writes = self._chunk_block(z_num, z_den, self._s2, "written symbol (s2 after layer 1)", t0, "z")
        moves, move_den = y_num[:, self._x1], y_den[:, self._x1]
        bad = np.flatnonzero((move_den != 1) | (moves < -1) | (moves > 1))
        if len(bad):
            r = int(bad[0])
            raise DecodingError(f"step {t0 + r}: the move slot x1 holds {Fraction(int(moves[r]), int(move_den[r]))}, "
                                "not -1, 0 or 1")
        halted = (chunk.num[:, list(self.state_coords)] == 0).all(axis=1)
        return states, moves.astype(np.int64), writes, halted

    def _chunk_block(self, num, den, slots, what: str, t0: int, which: str) -> np.ndarray:
        """The index of the one-hot entry of a block per row (−1: all zero), or the scalar
        reader's :class:`DecodingError` for the first row that is not one-hot."""
        idx = [k for _, k in slots]
        block, bden = num[:, idx], den[:, idx]
        nonzero = block != 0
        count = nonzero.sum(axis=1)
        ones = ((block == 1) & (bden == 1)).sum(axis=1)
        bad = np.flatnonzero(~((count == 0) | ((count == 1) & (ones == 1))))
        if len(bad):
            r = int(bad[0])
            row = [Fraction(int(a), int(b)) for a, b in zip(num[r], den[r])]
            self._one_hot(row, slots, what, t0 + r)
        return np.where(count == 0, -1, np.argmax(nonzero, axis=1)).astype(np.int64)

    def halted(self, y: Sequence) -> bool:
        """True when the state block of y is all zero: M' had no rule, the machine halted."""
        if not self.tolerance:
            return not any(y[k] for _, k in self._q1)
        return all(self._is(y[k], 0) for _, k in self._q1)

    def read(self, step: Step) -> DecodedStep:
        """The configuration in ``step.y_in`` and the symbol written at that position."""
        y = step.y_in
        t = step.i
        state = self._one_hot(y, self._q1, "state (q1)", t)
        read = self._one_hot(y, self._s1, "symbol (s1)", t)
        move = y[self._x1]
        rounded = round(move)
        if abs(move - rounded) > self.tolerance or rounded not in (-1, 0, 1):
            raise DecodingError(f"step {t}: the move slot x1 holds {move}, not -1, 0 or 1")
        z1 = step.activations[WRITE_HOOK]
        write = self._one_hot(z1, self._s2, "written symbol (s2 after layer 1)", t)
        return DecodedStep(t, state, read, int(rounded), write)


class _TraceBuilder:
    """M's trace, built one decoded step (or one chunk of steps) at a time (spec §2b.6): the
    states, heads and writes of M in typed arrays (2 + 8 + 2 bytes per step; the M' prelude and
    stays are dropped), O(1) work per step."""

    def __init__(self, model, word: str):
        labels = model.labels
        self.labels = labels
        self.word = word
        self.start = labels.prelude_steps(len(word))
        self.stay = labels.stay
        self.stay_codes = np.array([k for k, q in enumerate(labels.states) if q in labels.stay], dtype=np.int64)
        self.cells: dict[int, str] = {}   # prelude writes only: they lay out the input
        self.head = 0
        self.initial = ""
        self.states = array("h")          # indices into labels.states
        self.heads = array("q")
        self.writes = array("h")          # indices into labels.symbols, -1: no rule (None)
        self.decoded = 0

    def _begin(self) -> None:
        blank = self.labels.blank
        self.initial = "".join(self.cells.get(c, blank) for c in range(1, len(self.word) + 1))

    def add(self, d: DecodedStep) -> bool:
        """Record one decoded M' step; True when it is a configuration of M."""
        self.decoded += 1
        self.head += d.move_in
        counted = d.t >= self.start and d.state not in self.stay
        if counted:
            if d.t == self.start:
                self._begin()
            labels = self.labels
            self.states.append(labels.states.index(d.state))
            self.heads.append(self.head - 1)
            self.writes.append(-1 if d.write is None else labels.symbols.index(d.write))
        if d.write is not None and d.t < self.start:
            self.cells[self.head] = d.write
        return counted

    def counted(self, t0: int, states: np.ndarray) -> np.ndarray:
        """Which of the positions t0, t0+1, … (with these state indices) are configurations of M."""
        t = t0 + np.arange(len(states))
        return (t >= self.start) & ~np.isin(states, self.stay_codes)

    def add_chunk(self, t0: int, states: np.ndarray, moves: np.ndarray, writes: np.ndarray,
                  counted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Record positions t0, t0+1, … in bulk; returns the M configurations among them
        (state indices, heads, written symbol indices)."""
        heads = self.head + np.cumsum(moves)
        for r in np.flatnonzero((t0 + np.arange(len(states)) < self.start) & (writes >= 0)).tolist():
            self.cells[int(heads[r])] = self.labels.symbols[int(writes[r])]
        if t0 <= self.start < t0 + len(states):
            self._begin()
        new = (states[counted].astype(np.int16), (heads[counted] - 1).astype(np.int64), writes[counted].astype(np.int16))
        self.states.frombytes(new[0].tobytes())
        self.heads.frombytes(new[1].tobytes())
        self.writes.frombytes(new[2].tobytes())
        self.decoded += len(states)
        if len(states):
            self.head = int(heads[-1])
        return new

    def trace(self, reason: HaltReason | None) -> Trace:
        labels = self.labels
        if self.decoded <= self.start:
            raise DecodingError(f"the decoder stopped after {self.decoded} steps, inside the "
                                f"{self.start}-step prelude: the weights do not implement the construction")
        final = labels.states[self.states[-1]]
        if reason is None:
            reason = HaltReason.HALTING_STATE if labels.role(final) else HaltReason.NO_RULE
        verdict = verdict_of(final, reason, labels.accept, labels.reject)
        states, symbols = labels.states, labels.symbols
        # The last configuration's rule (if any) is not part of the trace.
        return trace_from_events(word=self.initial, blank=labels.blank, states=[states[k] for k in self.states],
                                 heads=self.heads, writes=[None if k < 0 else symbols[k] for k in self.writes[:-1]],
                                 reason=reason, verdict=verdict, machine_name=labels.machine_name)


@dataclass(frozen=True, repr=False)
class DecodedChunk:
    """Decoder positions ``t0 … t0 + positions − 1`` read back in bulk, and the configurations of
    M among them, as arrays: ``states`` (indices into ``labels.states``), ``heads`` (M's cells)
    and ``writes`` (indices into ``labels.symbols``; −1 where M has no rule, at its last step)."""

    t0: int
    positions: int
    states: np.ndarray
    heads: np.ndarray
    writes: np.ndarray

    def __len__(self) -> int:
        return len(self.states)

    def __repr__(self) -> str:
        return f"DecodedChunk(t0={self.t0:,}, positions={self.positions:,}, configurations={len(self):,})"


class ModelRun:
    """A streaming run of a compiled model: iterate it for ``(Step, DecodedStep)`` pairs, one per
    decoder position, in order; once the iteration ends, :attr:`trace` is M's trace.

    Nothing but M's trace (states, heads, writes) is kept, so a long run costs the decoder's
    cache plus O(1) per step; a consumer that needs the steps keeps them itself. ``progress``, if
    given, is called with the number of M steps decoded so far each time it grows; when it returns
    True the run stops there, and the trace so far ends with :attr:`HaltReason.INTERRUPTED`.

    :meth:`chunks` streams the same run in bulk (:class:`DecodedChunk`: arrays, no Fractions)
    when the decoder is the fast exact one with no extra hooks — what :func:`run_model` does for
    a run that keeps no steps; ``progress`` is then called once per chunk, and ``stats`` (a
    :class:`collections.Counter`) receives the decoder's decision counts.
    """

    def __init__(self, model, word: str, *, max_steps: int = DEFAULT_MAX_STEPS,
                 capture: Collection[str] | None = (), decoder: Callable[..., Iterator[Step]] = decode_fast,
                 tolerance: float = 0.0, transformer: Transformer | None = None,
                 progress: Callable[[int], bool | None] | None = None, stats: Counter | None = None):
        if getattr(model, "kind", None) != "perez":
            raise SourceKindError(f"run_model decodes a Pérez model, not a {type(model).__name__}",
                                  hint="every model runs the same way: model.run(input)")
        self.model = model
        self.word = word
        self.max_steps = max_steps
        self.capture = None if capture is None else {WRITE_HOOK, *capture}
        self.decoder = decoder
        self.tolerance = tolerance
        self.transformer = transformer or model.transformer
        self.progress = progress
        self.stats = stats
        self._trace: Trace | None = None
        self._ended: tuple[_TraceBuilder, HaltReason | None] | None = None
        self.positions = 0

    def _budget(self, tokens) -> int:
        # stays double M's steps; one more output tells whether M halts at the step limit
        return self.model.labels.prelude_steps(len(tokens)) + 2 * (self.max_steps + 1) + 1

    def __iter__(self) -> Iterator[tuple[Step, DecodedStep]]:
        labels = self.model.labels
        tokens = labels.encoder_input(self.word)
        reader = Reader(self.model, self.tolerance)
        builder = _TraceBuilder(self.model, self.word)
        max_steps, progress = self.max_steps, self.progress
        m_steps = -1                        # M configurations seen so far, minus one
        reason = None
        for step in self.decoder(self.transformer, tokens, max_steps=self._budget(tokens), stop=reader.halted,
                                 capture=self.capture):
            d = reader.read(step)
            self.positions += 1
            yield step, d
            if builder.add(d):
                m_steps += 1
                if progress is not None and m_steps and progress(m_steps):
                    reason = HaltReason.INTERRUPTED
                    break
                if m_steps == max_steps:
                    # One more output tells whether M halts here (zero block) or would go on.
                    if not reader.halted(step.y_out):
                        reason = HaltReason.STEP_LIMIT
                    break
        self._ended = (builder, reason)

    @property
    def trace(self) -> Trace | None:
        """M's trace once the run has ended (built from the typed arrays on first access)."""
        if self._trace is None and self._ended is not None:
            builder, reason = self._ended
            self._trace = builder.trace(reason)
        return self._trace

    @property
    def chunked(self) -> bool:
        """True when :meth:`chunks` can stream this run (the fast exact decoder, no extra hooks)."""
        return self.decoder is decode_fast and self.capture == {WRITE_HOOK} and not self.tolerance

    def chunks(self) -> Iterator[DecodedChunk]:
        """The run in bulk (:class:`DecodedChunk`: arrays, no Fractions); :attr:`trace` is M's
        trace when the iteration ends, exactly as after iterating the run itself."""
        if not self.chunked:
            raise TuringformerError("this run cannot be streamed in bulk",
                                    hint="chunks() needs decoder=decode_fast and no captured hooks; iterate the run instead")
        labels = self.model.labels
        tokens = labels.encoder_input(self.word)
        reader = Reader(self.model)
        builder = _TraceBuilder(self.model, self.word)
        max_steps, progress = self.max_steps, self.progress
        m_steps = -1                        # M configurations seen so far, minus one
        reason = None
        previous = [Fraction(v) for v in self.transformer.seed]
        y_num = np.array([v.numerator for v in previous], dtype=object)
        y_den = np.array([v.denominator for v in previous], dtype=object)
        for chunk in decode_chunks(self.transformer, tokens, max_steps=self._budget(tokens),
                                   stop_zero=reader.state_coords, capture=(WRITE_HOOK,), stats=self.stats):
            states, moves, writes, halted = reader.read_chunk(chunk, y_num, y_den)
            y_num, y_den = chunk.num[-1].copy(), chunk.den[-1].copy()     # the chunk's arrays are reused
            counted = builder.counted(chunk.start, states)
            limit = np.flatnonzero(counted & (m_steps + np.cumsum(counted) == max_steps))
            cut = int(limit[0]) + 1 if len(limit) else len(states)   # M's step limit inside the chunk
            new = builder.add_chunk(chunk.start, states[:cut], moves[:cut], writes[:cut], counted[:cut])
            m_steps += len(new[0])
            self.positions += cut
            yield DecodedChunk(chunk.start, cut, *new)
            if progress is not None and len(new[0]) and m_steps > 0 and progress(m_steps):
                reason = HaltReason.INTERRUPTED
                break
            if len(limit):
                if not halted[cut - 1]:     # one more output tells whether M halts here or would go on
                    reason = HaltReason.STEP_LIMIT
                break
        self._ended = (builder, reason)


@dataclass(frozen=True, repr=False)
class RunResult:
    """What :func:`run_model` returns: M's :attr:`trace` as the transformer decoded it, the number
    of decoder :attr:`positions` it took, and the raw decoder steps (:attr:`decoder_steps`, with
    the captured hooks) when they were kept.

    :attr:`steps` is M's step count (``trace.steps``) and :attr:`summary` the trace's JSON summary.
    """

    trace: Trace
    positions: int
    decoder_steps: tuple[Step, ...] = ()

    @property
    def steps(self) -> int:
        return self.trace.steps

    @property
    def summary(self) -> dict:
        return self.trace.summary()

    def __repr__(self) -> str:
        t = self.trace
        name = f"{t.machine_name!r}, " if t.machine_name else ""
        return (f"RunResult({name}input={t.input!r}, steps={t.steps:,}, {t.reason.value}, verdict={t.verdict.value}, "
                f"positions={self.positions:,}, kept={len(self.decoder_steps):,})")


def run_model(
    model, word: str, *, max_steps: int = DEFAULT_MAX_STEPS,
    capture: Collection[str] | None = (), decoder: Callable[..., Iterator[Step]] = decode_fast,
    tolerance: float = 0.0, transformer: Transformer | None = None, keep_steps: bool = True,
    progress: Callable[[int], bool | None] | None = None,
) -> RunResult:
    """Decode ``word`` with the fast exact decoder (or ``decoder``) and read M's trace back.

    ``max_steps`` bounds M's steps, as in :func:`turingformer.tm.simulator.run`. ``decoder`` and
    ``transformer`` let other runtimes (the plain exact one, the inexact float modes) run the
    same weights. The raw decoder steps, with the ``capture``d hooks, are kept in
    :attr:`RunResult.decoder_steps` unless ``keep_steps`` is false (long runs: then memory is the
    decoder's cache and the trace; see :class:`ModelRun` to stream them).
    """
    run = ModelRun(model, word, max_steps=max_steps, capture=capture, decoder=decoder, tolerance=tolerance,
                   transformer=transformer, progress=progress)
    kept: tuple[Step, ...] = ()
    if keep_steps:
        kept = tuple(step for step, _ in run)
    elif run.chunked:
        for _ in run.chunks():
            pass
    else:
        for _ in run:
            pass
    return RunResult(run.trace, run.positions, kept)
