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

from turingformer.errors import TuringformerError
from turingformer.compiler.perez.layout import CompiledModel, Q, S, X
from turingformer.tm.trace import DEFAULT_MAX_STEPS, HaltReason, Trace, trace_from_events, verdict_of
from turingformer.runtime.transformer import Step, Transformer, decode

WRITE_HOOK = "decoder.1.resid_post"


class DecodingError(TuringformerError):
    """An output that is not the embedding of a configuration (e.g. in a float mode)."""


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

    def __init__(self, model: CompiledModel, tolerance: float = 0.0):
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


def run_model(
    model: CompiledModel, word: str, *, max_steps: int = DEFAULT_MAX_STEPS,
    capture: Collection[str] | None = (), decoder: Callable[..., Iterator[Step]] = decode,
    tolerance: float = 0.0, transformer: Transformer | None = None,
) -> tuple[Trace, list[Step]]:
    """Decode ``word`` and return M's trace and the raw decoder steps (with ``capture``d hooks).

    ``max_steps`` bounds M's steps, as in :func:`turingformer.tm.simulator.run`. ``decoder`` and
    ``transformer`` let faster or inexact runtimes run the same weights.
    """
    labels = model.labels
    tokens = labels.encoder_input(word)
    reader = Reader(model, tolerance)
    wanted = None if capture is None else {WRITE_HOOK, *capture}
    n = len(tokens)
    start = labels.prelude_steps(n)
    steps: list[Step] = []
    decoded: list[DecodedStep] = []
    m_steps = -1                        # M configurations seen so far, minus one
    budget = start + 2 * (max_steps + 1) + 1   # stays double M's steps
    for step in decoder(transformer or model.transformer, tokens, max_steps=budget,
                        stop=reader.halted, capture=wanted):
        steps.append(step)
        d = reader.read(step)
        decoded.append(d)
        if d.t >= start and d.state not in labels.stay:
            m_steps += 1
            if m_steps == max_steps:
                # One more output tells whether M halts here (zero block) or would go on.
                if not reader.halted(step.y_out):
                    return _to_trace(model, word, decoded, HaltReason.STEP_LIMIT), steps
                break
    return _to_trace(model, word, decoded, None), steps


def _to_trace(model: CompiledModel, word: str, decoded: list[DecodedStep],
              reason: HaltReason | None) -> Trace:
    labels = model.labels
    start = labels.prelude_steps(len(word))
    cells: dict[int, str] = {}
    head = 0
    states, heads, writes = [], [], []
    for d in decoded:
        head += d.move_in
        if d.t >= start and d.state not in labels.stay:
            if d.t == start:
                initial = "".join(cells.get(c, labels.blank) for c in range(1, len(word) + 1))
            states.append(d.state)
            heads.append(head - 1)
            writes.append(d.write)
        if d.write is not None:
            cells[head] = d.write
    if len(decoded) <= start:
        raise DecodingError(f"the decoder stopped after {len(decoded)} steps, inside the "
                            f"{start}-step prelude: the weights do not implement the construction")
    final = states[-1]
    if reason is None:
        reason = HaltReason.HALTING_STATE if labels.role(final) else HaltReason.NO_RULE
    writes.pop()  # the last configuration's rule (if any) is not part of the trace
    verdict = verdict_of(final, reason, labels.accept, labels.reject)
    return trace_from_events(word=initial, blank=labels.blank, states=states, heads=heads,
                             writes=writes, reason=reason, verdict=verdict,
                             machine_name=labels.machine_name)
