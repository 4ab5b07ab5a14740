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

from dataclasses import dataclass
from typing import Callable, Collection, Iterator, Sequence

from turingformer.errors import DecodingError, SourceKindError
from turingformer.compiler.perez.layout import Q, S, X
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace, trace_from_events, verdict_of
from turingformer.runtime.fast import decode_fast
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
        self._q1 = [(q, self.space.index(Q("q1", q))) for q in self.labels.states]
        self._s1 = [(a, self.space.index(S("s1", a))) for a in self.labels.symbols]
        self._s2 = [(a, self.space.index(S("s2", a))) for a in self.labels.symbols]
        self._x1 = self.space.index(X[1])

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
    """M's trace, built one decoded step at a time (spec §2b.6): O(1) work and memory per step
    beyond the trace itself (states, heads and writes of M; the M' prelude and stays are dropped)."""

    def __init__(self, model, word: str):
        labels = model.labels
        self.labels = labels
        self.word = word
        self.start = labels.prelude_steps(len(word))
        self.stay = labels.stay
        self.cells: dict[int, str] = {}   # prelude writes only: they lay out the input
        self.head = 0
        self.initial = ""
        self.states: list[str] = []
        self.heads: list[int] = []
        self.writes: list[str | None] = []
        self.decoded = 0

    def add(self, d: DecodedStep) -> bool:
        """Record one decoded M' step; True when it is a configuration of M."""
        self.decoded += 1
        self.head += d.move_in
        counted = d.t >= self.start and d.state not in self.stay
        if counted:
            if d.t == self.start:
                blank = self.labels.blank
                self.initial = "".join(self.cells.get(c, blank) for c in range(1, len(self.word) + 1))
            self.states.append(d.state)
            self.heads.append(self.head - 1)
            self.writes.append(d.write)
        if d.write is not None and d.t < self.start:
            self.cells[self.head] = d.write
        return counted

    def trace(self, reason: HaltReason | None) -> Trace:
        labels = self.labels
        if self.decoded <= self.start:
            raise DecodingError(f"the decoder stopped after {self.decoded} steps, inside the "
                                f"{self.start}-step prelude: the weights do not implement the construction")
        final = self.states[-1]
        if reason is None:
            reason = HaltReason.HALTING_STATE if labels.role(final) else HaltReason.NO_RULE
        verdict = verdict_of(final, reason, labels.accept, labels.reject)
        # The last configuration's rule (if any) is not part of the trace.
        return trace_from_events(word=self.initial, blank=labels.blank, states=self.states, heads=self.heads,
                                 writes=self.writes[:-1], reason=reason, verdict=verdict,
                                 machine_name=labels.machine_name)


class ModelRun:
    """A streaming run of a compiled model: iterate it for ``(Step, DecodedStep)`` pairs, one per
    decoder position, in order; once the iteration ends, :attr:`trace` is M's trace.

    Nothing but M's trace (states, heads, writes) is kept, so a long run costs the decoder's
    cache plus O(1) per step; a consumer that needs the steps keeps them itself. ``progress``, if
    given, is called with the number of M steps decoded so far each time it grows; when it returns
    True the run stops there, and the trace so far ends with :attr:`HaltReason.INTERRUPTED`.
    """

    def __init__(self, model, word: str, *, max_steps: int = DEFAULT_MAX_STEPS,
                 capture: Collection[str] | None = (), decoder: Callable[..., Iterator[Step]] = decode_fast,
                 tolerance: float = 0.0, transformer: Transformer | None = None,
                 progress: Callable[[int], bool | None] | None = None):
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
        self.trace: Trace | None = None
        self.positions = 0

    def __iter__(self) -> Iterator[tuple[Step, DecodedStep]]:
        labels = self.model.labels
        tokens = labels.encoder_input(self.word)
        reader = Reader(self.model, self.tolerance)
        builder = _TraceBuilder(self.model, self.word)
        max_steps, progress = self.max_steps, self.progress
        m_steps = -1                        # M configurations seen so far, minus one
        budget = labels.prelude_steps(len(tokens)) + 2 * (max_steps + 1) + 1   # stays double M's steps
        reason = None
        for step in self.decoder(self.transformer, tokens, max_steps=budget, stop=reader.halted,
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
        self.trace = builder.trace(reason)


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
    else:
        for _ in run:
            pass
    return RunResult(run.trace, run.positions, kept)
