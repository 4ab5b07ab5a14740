"""Verification of the Pérez construction — run the reference simulator and the transformer side by side.

Two levels are compared:

* **the user machine M**: at every step the state, head, symbol under the head and the whole
  tape of the decoded trace equal the simulator's, and so do the halting reason and verdict;
* **inside the network**, at every decoder position i, the quantities of spec §9 computed from
  an independent simulation of the normalised machine M' (never from the network):
  layer 1 reads α⁽ⁱ⁺¹⁾, β⁽ⁱ⁺¹⁾ with a unique winner (Lemma 7) and applies δ
  (q2, s2, x2, x3; Lemma 8); layer 2 holds c⁽ⁱ⁺¹⁾/(i+1) and c⁽ⁱ⁾/(i+1) (Lemma 9); layer 3 attends
  to exactly one position, ℓ(i+1), and copies ⟦v⁽ℓ⁽ⁱ⁺¹⁾⁾⟧ and ℓ(i+1) (Lemma 10); F's bits are
  b1 = [i+1 > n] and b2 = [ℓ(i+1) = i]; and y_{i+1} = (q⁽ⁱ⁺¹⁾, s⁽ⁱ⁺¹⁾, m⁽ⁱ⁾).

The first difference is reported with its step, the layer (hook name) and the named slot.
Verification is the only stage that looks at the machine; decoding itself never does.

Verification **streams**: it runs the fast exact decoder by default (bit for bit the plain one,
:mod:`turingformer.runtime.fast`) through :class:`~turingformer.compiler.perez.decoding.ModelRun`
and checks each decoder position as it is produced, so no decoder step is kept; besides the
decoder's own cache, memory is the two compact traces (O(1) per step) and at most ``keep_rows``
table rows. Comparing the traces costs O(T): equal inputs, heads and writes give equal tapes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from fractions import Fraction
from collections import deque
from typing import Callable, Iterator, Sequence

from turingformer.compiler.perez.construction import build_transformer
from turingformer.compiler.perez.decoding import ModelRun
from turingformer.compiler.perez.layout import SCALARS, Labels, state_dim, symbol_dim
from turingformer.compiler.perez.model import PerezModel
from turingformer.compiler.perez.normalize import normalize
from turingformer.compiler.protocol import Divergence, Verification, text_table
from turingformer.errors import DecodingError
from turingformer.runtime.fast import decode_fast
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import DEFAULT_MAX_STEPS, FinalResult, HaltReason, Step, Trace, iterate, run, verdict_for
from turingformer.tm.trace import steps_text

#: The hooks verification reads at every position.
CHECKED_HOOKS = (
    "decoder.1.resid_cross", "decoder.1.cross.winners", "decoder.1.resid_post",
    "decoder.2.resid_post", "decoder.3.attn.winners", "decoder.3.resid_post",
    "output.hidden.0", "output.y",
)


def _divergence(step: int, where: str, slot: str, expected: object, got: object) -> Divergence:
    """A divergence of the user machine's trace (``where == "machine"``) or at a decoder step."""
    return Divergence(step, "machine step" if where == "machine" else "decoder step", where, slot, expected, got)


@dataclass(frozen=True)
class PositionCheck:
    """The §9 quantities at one decoder position i, as the reference computes them."""

    i: int
    machine_step: int | None     # M's step number, None in the prelude or a stay state
    state: str
    head: int                    # c⁽ⁱ⁾ on M''s tape
    read: str
    write: str | None
    position_next: int | None    # c⁽ⁱ⁺¹⁾
    last_visit: int | None       # ℓ(i+1)
    first_visit: bool | None     # b2
    past_input: bool             # b1
    agrees: bool


#: How many table rows (:class:`PositionCheck`) :func:`verify` keeps by default.
KEEP_ROWS = 10_000


@dataclass(frozen=True, repr=False)
class PerezVerification(Verification):
    """The outcome of :func:`verify`: the simulator's run (``reference``: the whole trace when every
    row was kept, else its final configuration), the simulator's configurations the table shows
    (``shown``: the whole run or its first ``keep_rows`` steps), the decoded trace, the first
    divergence (None: they agree), the number of decoder positions ``checked``, and the table rows
    of the first ones (``positions``, at most ``keep_rows`` of them)."""

    reference: Trace | FinalResult
    shown: Trace
    decoded: Trace
    positions: tuple[PositionCheck, ...]
    divergence: Divergence | None
    ties: dict[str, int] = field(default_factory=dict)
    checked: int = 0

    def __repr__(self) -> str:
        where = "ok" if self.ok else str(self.divergence)
        return (f"PerezVerification({self.reference.machine_name!r} on {self.reference.input!r}: "
                f"{self.reference.steps} machine steps, {self.checked} decoder positions, {where})")

    def agreement(self) -> str:
        decoded = self.decoded
        return (f"the transformer agrees with the simulator at every step: {steps_text(decoded.steps)} of the machine, "
                f"{self.checked:,} decoder positions, verdict {decoded.verdict.value}, no attention ties in layers 1 and 3")

    def _repr_html_(self) -> str:
        """A colour-coded table of the machine's first steps, or around the first divergence."""
        if self.divergence is None or self.divergence.where == "machine":
            step = self.divergence.step if self.divergence is not None else 0
            return verification_table(self, start=max(step - 5, 0), limit=HTML_ROWS)._repr_html_()
        first = max(self.divergence.step - HTML_ROWS // 2, 0)
        table = verification_table(self)
        window = VerificationTable(self, table.rows[first:first + HTML_ROWS], first,
                                   len(table.rows) - len(table.rows[first:first + HTML_ROWS]))
        return window._repr_html_()

    def table(self, *, limit: int | None = None) -> str:
        """The side-by-side table: one row per decoder position (the first ``limit`` of them)."""
        head = (f"{'i':>5} {'M step':>6} {'state':<14} {'c(i)':>5} {'read':>4} {'write':>5} "
                f"{'c(i+1)':>6} {'l(i+1)':>6} {'b1':>2} {'b2':>2}  agrees")
        legend = ("one row per decoder position i; c is the cell of the normalised machine M' (the machine's "
                  "cell + 1), l(i+1) the last visit (layer 3), b1 = past the input, b2 = first visit (F)")
        rows = [legend, head, "-" * len(head)]
        shown = self.positions if limit is None else self.positions[:limit]
        for p in shown:
            rows.append(
                f"{p.i:>5} {'' if p.machine_step is None else p.machine_step:>6} {p.state:<14.14} "
                f"{p.head:>5} {p.read!r:>4} {'' if p.write is None else repr(p.write):>5} "
                f"{'' if p.position_next is None else p.position_next:>6} "
                f"{'' if p.last_visit is None else p.last_visit:>6} {int(p.past_input):>2} "
                f"{'' if p.first_visit is None else int(p.first_visit):>2}  {'yes' if p.agrees else 'NO'}")
        hidden = self.checked - len(shown)
        if hidden > 0:
            rows.append(f"... {hidden:,} more positions")
        return "\n".join(rows)


class _Reference:
    """M' simulated independently, streamed: a window of its configurations around the decoder
    position being checked, the cells' last visits and the input tokens — O(cells) memory however
    long the run (``tm.simulator.iterate``), so verification holds no second trace of M'.

    Position i needs configurations i − 1 … i + 1 (:meth:`at`) and ℓ(i + 1), the largest j ≤ i
    with c⁽ʲ⁾ = c⁽ⁱ⁺¹⁾ (else i), with the symbol written there (:meth:`last_visit`).
    """

    def __init__(self, machine: TuringMachine, tape: str, tokens: Sequence[str], steps: int):
        self.tokens = tuple(tokens)
        self._stream = iterate(machine, tape, max_steps=steps)
        self._window: deque[Step] = deque()
        self._first = 0                      # the time of _window[0]
        self.end: int | None = None          # the time of the last configuration, once known
        self._seen: dict[int, tuple[int, str]] = {}      # cell -> (last time j, symbol written at j)
        self._entered = -1                   # the steps 0.._entered are in _seen

    def _load(self, t: int) -> None:
        while self.end is None and self._first + len(self._window) <= t:
            step = next(self._stream, None)
            if step is None:
                self.end = self._first + len(self._window) - 1
            else:
                self._window.append(step)
                if step.write is None:
                    self.end = self._first + len(self._window) - 1

    def exists(self, t: int) -> bool:
        """True when M' has a configuration at time t."""
        self._load(t)
        return self.end is None or t <= self.end

    def running(self, t: int) -> bool:
        """True when M' has a rule at time t (a configuration t + 1 follows)."""
        return self.exists(t + 1)

    def at(self, t: int) -> Step:
        """Configuration t (t ≤ the end; not more than one position behind the checked one)."""
        self._load(t)
        return self._window[t - self._first]

    def move_to(self, i: int) -> None:
        """Enter the steps up to i into the last visits and forget configurations before i − 1."""
        self._load(i + 1)
        while self._entered < i and self.exists(self._entered + 1):
            self._entered += 1
            step = self.at(self._entered)
            self._seen[step.head] = (self._entered, step.write)
        while self._window and self._first < i - 1:
            self._window.popleft()
            self._first += 1

    def move(self, t: int) -> int:
        """m⁽ᵗ⁾ (0 for t < 0 and where M' has stopped)."""
        if t < 0 or not self.exists(t + 1):
            return 0
        return self.at(t + 1).head - self.at(t).head

    def last_visit(self, t: int) -> tuple[int, str]:
        """(ℓ(t), the symbol written at ℓ(t)) for t = i + 1 after :meth:`move_to` (i): the largest
        j < t with c⁽ʲ⁾ = c⁽ᵗ⁾, else t − 1 (spec §3)."""
        found = self._seen.get(self.at(t).head)
        return found if found is not None else (t - 1, self.at(t - 1).write)


def verify(
    machine: TuringMachine, word: str = "", *, max_steps: int = DEFAULT_MAX_STEPS,
    model: PerezModel | None = None, decoder: Callable[..., Iterator] = decode_fast,
    cross_attention: str = "per-layer", score: str = "abs", keep_rows: int | None = KEEP_ROWS,
    progress: Callable[[int], bool | None] | None = None,
) -> PerezVerification:
    """Compile ``machine`` (unless ``model`` is given), decode ``word`` and compare everything.

    The machine is normalised once; a given model must carry the labels of that normalised
    machine (else the verification fails at its labels, before any decoding). Streams (module
    docstring): each decoder position is checked as it is decoded and dropped; the first
    ``keep_rows`` rows of the table are kept (``None``: all). ``progress`` is called with the
    number of machine steps decoded so far, as in :class:`ModelRun`. An edited model whose outputs
    are no configurations diverges where the first one is read.
    """
    machine.check_input(word)
    nm = normalize(machine)
    model = model or build_transformer(nm, cross_attention=cross_attention, score=score)
    # The reference run is kept whole only for a table of every position; else its summary and a
    # prefix for the rows kept, while the comparison streams the simulator (compare_with_simulator).
    reference = run(machine, word, max_steps=max_steps, record=keep_rows is None)
    shown = reference if keep_rows is None else run(machine, word, max_steps=min(max_steps, keep_rows))
    mismatch = label_mismatch(model.labels, nm.labels)
    if mismatch is not None:
        field, mine, theirs = mismatch
        return PerezVerification(reference, shown, shown, (), Divergence(0, "decoder step", "labels", field, theirs, mine))
    tokens = model.labels.encoder_input(word)
    budget = model.labels.prelude_steps(len(tokens)) + 2 * (max_steps + 1) + 1
    ref = _Reference(nm.machine, nm.tape_input(word), tokens, budget)
    checker = _PositionChecker(model, ref)
    stream = ModelRun(model, word, max_steps=max_steps, capture=CHECKED_HOOKS, decoder=decoder, progress=progress)
    positions, divergence, checked = [], None, 0
    try:
        for step, _ in stream:
            found = checker.check(step.i, step.activations)
            if found and divergence is None:
                divergence = found
            if not ref.exists(step.i):
                break
            if keep_rows is None or checked < keep_rows:
                positions.append(checker.row(step.i, found is None))
            checked += 1
    except DecodingError as error:
        found = _divergence(checked, "output.y", "configuration", "a configuration of the machine", error.message)
        return PerezVerification(reference, shown, shown, tuple(positions), divergence or found, checker.ties, checked)
    decoded = stream.trace
    if divergence is None:
        divergence = compare_with_simulator(decoded, machine, word, max_steps)
    return PerezVerification(reference, shown, decoded, tuple(positions), divergence, checker.ties, checked)


#: The label fields a model must share with the machine it is verified against.
LABEL_FIELDS = ("states", "symbols", "blank", "marked_blank", "start", "prelude", "stay", "accept", "reject", "halt",
                "input_alphabet")


def label_mismatch(mine: Labels, theirs: Labels) -> tuple[str, str, str] | None:
    """The first label field in which a model's labels differ from the machine's: (field, the
    model's value, the machine's value), each shortened; None when they agree."""
    for name in LABEL_FIELDS:
        a, b = getattr(mine, name), getattr(theirs, name)
        if a != b:
            return f"labels.{name}", _few(a), _few(b)
    return None


def _few(value) -> str:
    items = sorted(value) if isinstance(value, frozenset) else value
    text = repr(list(items) if isinstance(items, (tuple, list)) else items)
    return text if len(text) <= 120 else text[:117] + "..."


def compare_with_simulator(decoded: Trace, machine: TuringMachine, word: str, max_steps: int) -> Divergence | None:
    """The first machine step where ``decoded`` differs from the simulator's run of ``machine`` on
    ``word``, streamed: each simulated configuration is compared as it is produced — state, head,
    symbol under the head, symbol written — and none is kept; then the number of steps, the reason
    and the verdict. Equal inputs, heads and writes give equal tapes, so the tape needs no check."""
    cells = dict(enumerate(decoded.input))
    blank = decoded.blank
    step, t = None, -1
    for t, step in enumerate(iterate(machine, word, max_steps=max_steps)):
        if t >= len(decoded.states):
            return _divergence(t, "machine", "number of steps", f"more than {t - 1}", decoded.steps)
        head = decoded.heads[t]
        for slot, a, b in (("state", step.state, decoded.states[t]), ("head", step.head, head),
                           ("symbol under the head", step.read, cells.get(head, blank))):
            if a != b:
                return _divergence(t, "machine", slot, a, b)
        if t < len(decoded.writes):
            if step.write != decoded.writes[t]:
                return _divergence(t, "machine", "symbol written", step.write, decoded.writes[t])
            cells[head] = decoded.writes[t]
    if len(decoded.states) != t + 1:
        return _divergence(t + 1, "machine", "number of steps", t, decoded.steps)
    reason = (HaltReason.STEP_LIMIT if step.write is not None else
              HaltReason.HALTING_STATE if step.state in machine.halting_states else HaltReason.NO_RULE)
    for slot, expected in (("reason", reason), ("verdict", verdict_for(machine, step.state, reason))):
        if getattr(decoded, slot) != expected:
            return _divergence(t, "machine", slot, expected.value, getattr(decoded, slot).value)
    return None


def compare_traces(reference: Trace, decoded: Trace) -> Divergence | None:
    """The first machine step where the two traces differ (state, head, symbol, tape, outcome).

    O(T): the tapes are replays of the same input by the writes, so the first step whose state,
    head or previous write differs is the first step where any of the four can differ; only that
    step's configurations are built.
    """
    if reference.input != decoded.input or reference.blank != decoded.blank:
        pairs = zip(reference, decoded)          # different inputs: compare every configuration
    else:
        pairs = ()
        for t, (a, b) in enumerate(zip(reference.states, decoded.states)):
            if a != b or reference.heads[t] != decoded.heads[t] or (t and reference.writes[t - 1] != decoded.writes[t - 1]):
                pairs = ((reference[t], decoded[t]),)
                break
    for expected, got in pairs:
        for slot, a, b in (("state", expected.state, got.state), ("head", expected.head, got.head),
                           ("symbol under the head", expected.symbol, got.symbol),
                           ("tape", expected.tape.span(expected.head), got.tape.span(got.head))):
            if a != b:
                return _divergence(expected.step, "machine", slot, a, b)
    if len(reference) != len(decoded):
        return _divergence(min(len(reference), len(decoded)), "machine", "number of steps",
                          reference.steps, decoded.steps)
    for slot in ("reason", "verdict"):
        if getattr(reference, slot) != getattr(decoded, slot):
            return _divergence(reference.steps, "machine", slot, getattr(reference, slot).value,
                              getattr(decoded, slot).value)
    return None


class _PositionChecker:
    """Expected §9 values at each position, compared slot by slot with the captured hooks."""

    def __init__(self, model: PerezModel, ref: _Reference):
        self.model = model
        self.ref = ref
        self.space = model.transformer.space
        self.labels = model.labels
        self.n = len(ref.tokens)
        self.start = self.labels.prelude_steps(self.n)
        self.ties = {"decoder.1.cross": 0, "decoder.3.attn": 0}
        self._machine_step = -1             # M's step at the position last moved to

    def _one_hot(self, block: str, label: str | None, kind: str) -> dict[str, Fraction]:
        names = self.space.block(block)
        target = None if label is None else (state_dim(block, label) if kind == "q" else symbol_dim(block, label))
        return {name: Fraction(int(name == target)) for name in names}

    def expected(self, i: int) -> list[tuple[str, dict[str, object]]]:
        ref, n = self.ref, self.n
        here = ref.at(i)
        running = ref.running(i)                   # M' has a rule at time i
        beta = min(i + 1, n)
        clipped_tie = self.model.transformer.score == "clipped" and i + 1 > n
        checks: list[tuple[str, dict[str, object]]] = []
        if n and not clipped_tie:
            alpha = self._one_hot("s3", ref.tokens[beta - 1], "s")
            checks.append(("decoder.1.resid_cross", {**alpha, SCALARS[6]: Fraction(beta)}))
            checks.append(("decoder.1.cross.winners", {"winner": (beta - 1,)}))
        following = ref.at(i + 1) if running else None
        z1 = {**self._one_hot("q1", None, "q"), **self._one_hot("s1", None, "s"), SCALARS[1]: 0,
              **self._one_hot("q2", following.state if running else None, "q"),
              **self._one_hot("s2", here.write if running else None, "s"),
              SCALARS[2]: ref.move(i), SCALARS[3]: ref.move(i - 1)}
        checks.append(("decoder.1.resid_post", z1))
        c_next = following.head if running else here.head
        checks.append(("decoder.2.resid_post", {SCALARS[4]: Fraction(c_next, i + 1), SCALARS[5]: Fraction(here.head, i + 1)}))
        if running:
            last, written = ref.last_visit(i + 1)
            checks.append(("decoder.3.attn.winners", {"winner": (last,)}))
            checks.append(("decoder.3.resid_post", {**self._one_hot("s4", written, "s"), SCALARS[7]: Fraction(last)}))
            checks.append(("output.hidden.0", {"b1": int(i + 1 > n), "b2": int(last == i)}))
            checks.append(("output.y", {**self._one_hot("q1", following.state, "q"),
                                        **self._one_hot("s1", following.read, "s"), SCALARS[1]: ref.move(i)}))
        else:
            checks.append(("output.y", self._one_hot("q1", None, "q")))
        return checks

    def check(self, i: int, acts) -> Divergence | None:
        """Move the reference to position i and compare every checked hook there."""
        if not self.ref.exists(i):
            return _divergence(i, "output.y", "q1", "a halted machine (zero state block)", "another step")
        self.ref.move_to(i)
        if i >= self.start and self.ref.at(i).state not in self.labels.stay:
            self._machine_step += 1
        for hook, expected in self.expected(i):
            got = acts[hook]
            if hook.endswith("winners"):
                kind = hook.rsplit(".", 1)[0]
                if len(got) > 1:
                    self.ties[kind] += 1
                if tuple(got) != expected["winner"]:
                    return _divergence(i, hook, "winner", expected["winner"], tuple(got))
                continue
            space = self.space if not hook.startswith("output.hidden") else \
                self.model.transformer.output.layers[0].target
            for slot, value in expected.items():
                actual = got[space.index(slot)]
                if actual != value:
                    return _divergence(i, hook, slot, value, actual)
        return None

    def row(self, i: int, agrees: bool) -> PositionCheck:
        """The table row of position i (after :meth:`check` of i)."""
        ref = self.ref
        here = ref.at(i)
        running = ref.running(i)
        last = ref.last_visit(i + 1)[0] if running else None
        counted = i >= self.start and here.state not in self.labels.stay
        return PositionCheck(
            i=i, machine_step=self._machine_step if counted else None, state=here.state, head=here.head,
            read=here.read, write=here.write if running else None,
            position_next=ref.at(i + 1).head if running else None, last_visit=last,
            first_visit=None if last is None else last == i, past_input=i + 1 > self.n, agrees=agrees,
        )


# ---------------------------------------------------------------------------------- the table
_COLUMNS = ("i", "M step", "machine: state", "head", "symbol", "transformer: state", "head ", "symbol ",
            "c(i)", "c(i+1)", "ℓ(i+1)", "b1", "b2", "agrees")
#: Rows a notebook shows of a verification by default (the table's HTML is windowed).
HTML_ROWS = 60


@dataclass(frozen=True)
class VerificationTable:
    """Machine vs transformer side by side, one row per decoder position of a window (see
    :func:`verification_table`); ``str`` gives text, ``_repr_html_`` a colour-coded table
    (grey: positions of M' only, red: the first divergence). The figure is
    :func:`turingformer.views.figures.verification_figure`."""

    verification: PerezVerification
    rows: tuple[tuple[str, ...], ...]
    first: int                   # the decoder position of rows[0]
    hidden: int                  # positions of the run outside the window

    @property
    def ok(self) -> bool:
        return self.verification.ok

    @property
    def columns(self) -> tuple[str, ...]:
        return _COLUMNS

    def caption(self) -> str:
        v = self.verification
        verdict = "the transformer IS the machine at every step" if v.ok else str(v.divergence)
        window = (f"; positions {self.first}..{self.first + len(self.rows) - 1} shown"
                  if self.hidden and self.rows else "")
        return (f"{v.reference.machine_name or 'machine'} on {v.reference.input!r}: {v.checked} "
                f"decoder positions, {v.reference.steps} machine steps; {verdict}{window}")

    def __str__(self) -> str:
        text = self.caption() + "\n" + text_table(_COLUMNS, self.rows)
        if self.hidden:
            text += f"\n... {self.hidden} more positions"
        return text

    def __repr__(self) -> str:
        return f"VerificationTable(rows={len(self.rows)}, first={self.first}, hidden={self.hidden}, ok={self.ok})"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        divergence = self.verification.divergence
        bad = divergence.step if divergence is not None and divergence.where != "machine" else None
        head = "".join(f"<th>{html.escape(c.strip())}</th>" for c in _COLUMNS)
        group = ('<tr><th colspan="2"></th><th colspan="3" style="background:#eef">machine (simulator)</th>'
                 '<th colspan="3" style="background:#efe">transformer (decoded)</th>'
                 '<th colspan="6" style="background:#ffe">§9 quantities of M\' at position i</th></tr>')
        body = []
        for row in self.rows:
            style = ""
            if (bad is not None and row[0] == str(bad)) or row[-1] != "yes":
                style = ' style="background:#fbb"'
            elif not row[1]:
                style = ' style="color:#888"'
            body.append(f"<tr{style}>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
        more = f"<p>… {self.hidden} more positions outside this window</p>" if self.hidden else ""
        colour = "#1b5e20" if self.ok else "#b71c1c"
        return (f"<div><p style='color:{colour}'><b>{html.escape(self.caption())}</b></p>"
                '<table style="font-family:monospace;font-size:85%;border-collapse:collapse">'
                f"<thead>{group}<tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"
                "<p style='font-size:85%'>Grey rows (M' …): the prelude and the stay halves, which exist only in the "
                "normalised machine M'. c = head position of M', ℓ(i+1) = the last time that cell was visited, "
                "b1 = [i+1 &gt; n], b2 = [first visit]. Red: a disagreement.</p></div>")


def verification_table(verification: PerezVerification, *, limit: int | None = None, start: int | None = None,
                       stop: int | None = None) -> VerificationTable:
    """The rows of decoder positions ``start ..`` (at most ``limit`` of them, up to machine step
    ``stop``): M's configuration from the simulator and from the decoded trace (at the positions
    that are M steps) and the §9 quantities of the normalised machine (c(i), c(i+1), ℓ(i+1), b1, b2).

    ``start`` and ``stop`` are *machine* steps (as ``--from`` / ``--to``); the window runs from the
    position reading step ``start`` to the last position before step ``stop + 1``.
    """
    v = verification
    positions = v.positions
    first, last = 0, len(positions)
    at = {p.machine_step: p.i for p in positions if p.machine_step is not None}
    if start is not None:
        first = at.get(start, last)
    if stop is not None:
        last = at.get(stop + 1, last)
    shown = positions[first:last] if limit is None else positions[first:last][:limit]
    configurations = (list(v.shown), list(v.decoded))
    rows = []
    for p in shown:
        k = p.machine_step
        cells: list[str] = [str(p.i), "" if k is None else str(k)]
        for confs in configurations:
            if k is not None and k < len(confs):
                conf = confs[k]
                cells += [conf.state, str(conf.head), repr(conf.symbol)]
            elif k is None:
                cells += [f"M' {p.state}", "", ""]
            else:
                cells += ["—", "", ""]
        cells += [str(p.head), "" if p.position_next is None else str(p.position_next),
                  "" if p.last_visit is None else str(p.last_visit), str(int(p.past_input)),
                  "" if p.first_visit is None else str(int(p.first_visit)), "yes" if p.agrees else "NO"]
        rows.append(tuple(cells))
    return VerificationTable(v, tuple(rows), first, v.checked - len(shown))
