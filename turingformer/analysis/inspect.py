"""Look inside a run: an exact activation cache, TransformerLens style, with named tables and LaTeX.

:func:`run_with_cache` decodes a word with every hook captured at every step (a thin layer over
:func:`turingformer.compiler.perez.decoding.run_model` with ``capture=None``) and returns an
:class:`ActivationCache`; given a looped model it runs the loops on the Fraction runtime and
returns a :class:`LoopedActivationCache` (hooks ``loop.{b}.*``, one step per loop)::

    cache = run_with_cache(model, "1011")
    cache["decoder.2.attn.pattern", 7]        # the layer-2 attention weights at position i = 7
    cache["decoder.3.resid_post"]             # every position: an ExactArray [positions, d] of Fractions
    cache["decoder.3.resid_post"].float()     # the same in float64
    cache.pattern("decoder.3")                # layer 3's weights at every position, [positions, positions]
    cache.names()                             # every hook name that was captured
    print(cache.table("decoder.1.resid_post", 7))   # named dimensions, non-zero entries
    cache.latex("decoder.2.resid_post", 7)    # the same as LaTeX (exact fractions, via sympy)
    cache.slot("decoder.2.resid_post", 7, "x4")     # one named slot: c(i+1)/(i+1)
    cache.dot_products("decoder.3.attn", 7)   # the layer-3 dot products χ_j (signed), j = 0..7

Decoder hooks are indexed by the decoder position i = 0, 1, … (step i reads y_i and writes
y_{i+1}); encoder hooks (``encoder.0.*``) hold one vector per input position, indexed from 0
(the paper's encoder position j is index j − 1); looped hooks by the loop step k = 0, 1, …
(step k reads the card X_k). Every number is an exact :class:`fractions.Fraction`. A mistyped
hook name is a :class:`~turingformer.runtime.hooks.HookError` with a did-you-mean, a step out of
range a :class:`~turingformer.runtime.hooks.PositionError`. ``docs/hooks.md`` lists the hooks,
their shapes and their lemmas.

The helpers :func:`weights_table` / :func:`weights_latex` / :func:`weights_matrix` show one named
affine map of the model (``decoder.3.attn.query``, ``decoder.1.ffn.0``, ``output.1``, … as
:meth:`turingformer.runtime.transformer.Transformer.linears` names them) with row and column labels.

Tables are returned as :class:`Text` (a ``str`` that a notebook shows as it prints) and LaTeX as
:class:`Latex` (a ``str`` that a notebook renders as mathematics).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Collection, Iterable, Sequence

import numpy as np

from turingformer.compiler.bridge.model import LoopedMachineModel, with_input
from turingformer.compiler.looped.decoding import read_state
from turingformer.compiler.looped.model import LoopedModel
from turingformer.compiler.perez.decoding import DecodedStep, Reader, run_model
from turingformer.compiler.perez.model import PerezModel
from turingformer.compiler.protocol import text_table
from turingformer.errors import DimensionError, InputError, TuringformerError, did_you_mean, shorten
from turingformer.runtime.hooks import (
    HookError, LayerNameError, PositionError, check_step, hook_points, looped_hook_points, unknown_hook,
)
from turingformer.runtime.looped import Loop
from turingformer.runtime.space import Linear, Space
from turingformer.runtime.transformer import HOOKS, Step, Transformer
from turingformer.tm.machine import TuringMachine
from turingformer.tm.trace import DEFAULT_MAX_STEPS, Trace, trace_from_events

__all__ = [
    "ActivationCache", "DimensionError", "ExactArray", "HookError", "Latex", "LoopedActivationCache", "NamedMatrix",
    "PositionError", "Text", "hook_order", "linear", "run_with_cache", "weights_latex", "weights_matrix",
    "weights_table",
]


# ---------------------------------------------------------------------------------- display
class Text(str):
    """A plain-text table: a ``str`` that notebooks display as printed (not as a quoted repr)."""

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython
        printer.text(str(self))


class Latex(str):
    """A LaTeX string that notebooks render (``display(cache.latex(...))`` or as a cell's value)."""

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self}$"


def _fraction_latex(value) -> str:
    import sympy

    if isinstance(value, Fraction):
        return sympy.latex(sympy.Rational(value.numerator, value.denominator))
    if isinstance(value, int):
        return str(value)
    return sympy.latex(sympy.Float(value, 6))


_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "_": r"\_", "#": r"\#", "$": r"\$", "%": r"\%",
                 "&": r"\&", "{": r"\{", "}": r"\}", "^": r"\^{}", "~": r"\~{}"}


def _text(s: str) -> str:
    """``s`` inside ``\\text{…}`` with LaTeX's special characters escaped."""
    return r"\text{" + "".join(_TEXT_ESCAPES.get(c, c) for c in s) + "}"


_SLOT = re.compile(r"^([qsx])(\d+):(?:(state|symbol)=(.*))?(.*)$")


def dimension_latex(name: str) -> str:
    """A compact LaTeX label for a residual dimension: ``x_{4}``, ``q_{2}[\\text{carry}]``, …

    Names that are not residual slots (hidden units such as ``pair:(q0,1)``) are set as text.
    """
    m = _SLOT.match(name)
    if not m:
        return _text(name)
    letter, number, kind, label, _ = m.groups()
    base = f"{letter}_{{{number}}}"
    return f"{base}[{_text(label)}]" if kind else base


def _tex_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> str:
    body = [" & ".join(header) + r" \\ \hline"]
    body += [" & ".join(row) + r" \\" for row in rows]
    return r"\begin{array}{" + align + "}\n" + "\n".join(body) + "\n" + r"\end{array}"


def _show(value) -> str:
    return str(value) if isinstance(value, (Fraction, int)) else f"{value:.6g}"


# ---------------------------------------------------------------------------------- hook names
_HOOK_RANK = [re.compile("^" + re.escape(p).replace(r"\{l\}", r"(\d+)").replace(r"\{k\}", r"(\d+)") + "$")
              for p in HOOKS]


def hook_order(name: str) -> tuple:
    """A sort key: encoder before decoder before output, layers in order, hooks in HOOKS order."""
    section = 0 if name.startswith("encoder.") else 1 if name.startswith("decoder.") else 2
    layer = int(name.split(".")[1]) if section < 2 and name.split(".")[1].isdigit() else 0
    for rank, pattern in enumerate(_HOOK_RANK):
        m = pattern.match(name)
        if m:
            return section, layer, rank, m.groups()
    return section, layer, len(_HOOK_RANK), (name,)


# ---------------------------------------------------------------------------------- arrays
class ExactArray(np.ndarray):
    """A numpy array of exact numbers (object dtype: :class:`~fractions.Fraction` or int; ``None``
    where a causal mask leaves no value). :meth:`float` gives the float64 array."""

    def __new__(cls, values) -> "ExactArray":
        return np.asarray(values, dtype=object).view(cls)

    def float(self) -> np.ndarray:
        """The float64 array: each rational correctly rounded, ``None`` (masked) as −inf, as
        TransformerLens masks attention scores."""
        flat = [(-math.inf if v is None else float(v)) for v in self.ravel().tolist()]
        return np.array(flat, dtype=np.float64).reshape(self.shape)


def _stack_rows(rows: Sequence, width: int, fill) -> ExactArray:
    """Rows of different lengths (causal patterns, scores) as one [len(rows), width] array."""
    out = np.empty((len(rows), width), dtype=object)
    out[...] = fill
    for r, row in enumerate(rows):
        if row is not None:
            out[r, :len(row)] = list(row)
    return out.view(ExactArray)


def _stack_winners(rows: Sequence, width: int) -> ExactArray:
    """Winner tuples as a boolean [len(rows), width] array: True at the tied maximisers."""
    out = np.zeros((len(rows), width), dtype=bool)
    for r, winners in enumerate(rows):
        out[r, list(winners)] = True
    return out.view(ExactArray)


class _HookCache:
    """What both activation caches share: hook names checked against the model's own (with a
    did-you-mean), steps checked against the run, and the stacked arrays.

    ``cache[name]`` is the activation at every step as an :class:`ExactArray` (first axis: the
    step; vectors ``[steps, d]``, attention patterns and scores ``[steps, keys]`` — causal ones
    ``[steps, steps]``, weight 0 and score ``None`` past the diagonal — winners a boolean mask of
    the same shape); ``cache[name, i]`` is step i's activation as the runtime recorded it.
    """

    step_name = "step"

    def names(self) -> list[str]:
        """Every captured hook name, in firing order."""
        raise NotImplementedError

    def _all_names(self) -> tuple[str, ...]:
        """Every hook name the model has (:mod:`turingformer.runtime.hooks`)."""
        raise NotImplementedError

    def _width(self, name: str) -> int | None:
        """The number of keys of an attention hook (None for other hooks)."""
        raise NotImplementedError

    def stack(self, name: str) -> tuple:
        """``name`` at every step, as recorded."""
        raise NotImplementedError

    def __contains__(self, name: str) -> bool:
        captured = self.__dict__.get("_captured")
        if captured is None:            # the steps do not change: the set is built once
            captured = self.__dict__["_captured"] = frozenset(self.names())
        return name in captured

    def check(self, name: str) -> str:
        """``name`` if this run captured it, else the :class:`HookError` that says why not."""
        if name in self:
            return name
        known = self._all_names()
        if name in known:
            raise HookError(f"hook {name!r} was not captured in this run",
                            hint="run_with_cache(..., names=None) captures every hook; this run captured: "
                                 + ", ".join(self.names()))
        raise unknown_hook(name, list(known), extra=self._why_absent(name))

    def _why_absent(self, name: str) -> str:
        return ""

    def __getitem__(self, key):
        """``cache[name, i]``: one activation; ``cache[name]``: every step as an :class:`ExactArray`."""
        if isinstance(key, tuple):
            name, i = key
            return self.get(name, i)
        return self.array(key)

    def array(self, name: str) -> ExactArray:
        """``name`` at every step, stacked (see the class docstring)."""
        rows = self.stack(name)
        width = self._width(name)
        if name.endswith(".winners"):
            return _stack_winners(rows, width)
        if width is not None:
            return _stack_rows(rows, width, None if name.endswith(".scores") else Fraction(0))
        out = np.empty((len(rows), *np.shape(rows[0])), dtype=object) if rows else np.empty((0,), dtype=object)
        for r, row in enumerate(rows):
            out[r] = row
        return out.view(ExactArray)

    def float(self, name: str) -> np.ndarray:
        """``cache[name].float()``: the stacked activation in float64."""
        return self.array(name).float()


# ---------------------------------------------------------------------------------- the cache
@dataclass
class ActivationCache(_HookCache):
    """Every activation of one run, exactly, by hook name and decoder position.

    ``trace`` is the user machine's trace read back from the outputs, ``steps`` the raw decoder
    steps (:class:`turingformer.runtime.transformer.Step`). See the module docstring for the API.
    """

    model: PerezModel
    word: str
    trace: Trace
    steps: tuple[Step, ...]
    encoder: dict[str, tuple] = field(default_factory=dict)
    _decoded: list[DecodedStep] | None = field(default=None, repr=False)

    step_name = "decoder position"

    def __post_init__(self) -> None:
        self.steps = tuple(self.steps)
        if self.steps and not self.encoder:
            self.encoder = {k: v for k, v in self.steps[0].activations.items() if k.startswith("encoder.")}

    def __repr__(self) -> str:
        return (f"ActivationCache(machine={self.model.labels.machine_name!r}, word={shorten(self.word)}, "
                f"decoder_steps={len(self.steps)}, machine_steps={self.trace.steps}, hooks={len(self.names())})")

    # -- sizes and positions
    def __len__(self) -> int:
        """The number of decoder steps (positions i = 0 .. len − 1)."""
        return len(self.steps)

    @property
    def transformer(self) -> Transformer:
        return self.model.transformer

    @property
    def space(self) -> Space:
        """The residual space (d named dimensions)."""
        return self.model.transformer.space

    @property
    def tokens(self) -> list[str]:
        """The encoder input w' (the word with blanks marked)."""
        return self.model.labels.encoder_input(self.word)

    @property
    def n(self) -> int:
        return len(self.word)

    @property
    def prelude(self) -> int:
        """The decoder position where M's own run starts: 2n + 3 (spec §2b.1)."""
        return self.model.labels.prelude_steps(self.n)

    def decoded(self, i: int | None = None):
        """What position i's input y_i says: (M' time, state, symbol read, move in, symbol written).

        Without ``i``, the list for every position.
        """
        if self._decoded is None:
            reader = Reader(self.model)
            self._decoded = [reader.read(step) for step in self.steps]
        return self._decoded if i is None else self._decoded[i]

    def machine_step(self, i: int) -> int | None:
        """The user machine's step whose configuration decoder position i reads (None in the
        prelude and in the stay states that stand for one stay move)."""
        return self._machine_steps().get(i)

    def position(self, machine_step: int) -> int:
        """The decoder position i that reads M's configuration at ``machine_step``."""
        positions = self.positions()
        return positions[check_step(machine_step, len(positions), "machine step")]

    def positions(self) -> tuple[int, ...]:
        """``positions()[k]``: the decoder position that reads M's configuration at step k."""
        return tuple(self._machine_steps())

    def _machine_steps(self) -> dict[int, int]:
        stay = self.model.labels.stay
        out, k = {}, -1
        for d in self.decoded():
            if d.t >= self.prelude and d.state not in stay:
                k += 1
                out[d.t] = k
        return out

    # -- access
    def names(self) -> list[str]:
        """Every captured hook name, encoder first, then decoder layers in order, then the output."""
        seen: set[str] = set(self.encoder)
        for step in self.steps:
            seen.update(k for k in step.activations if not k.startswith("encoder."))
        return sorted(seen, key=hook_order)

    def _all_names(self) -> tuple[str, ...]:
        return hook_points(self.model.transformer)

    def get(self, name: str, i: int):
        """The activation of ``name`` at decoder position ``i`` (input position for encoder hooks),
        as recorded; a position out of range is a :class:`PositionError`."""
        self.check(name)
        if name in self.encoder:
            rows = self.encoder[name]
            return rows[check_step(i, len(rows), "input position")]
        return self.steps[check_step(i, len(self.steps), self.step_name)].activations[name]

    def stack(self, name: str) -> tuple:
        """The activation of ``name`` at every decoder position (for encoder hooks: every input
        position), as recorded."""
        self.check(name)
        if name in self.encoder:
            return tuple(self.encoder[name])
        return tuple(s.activations.get(name) for s in self.steps)

    def _width(self, name: str) -> int | None:
        if not name.endswith((".pattern", ".scores", ".winners")):
            return None
        if name.startswith("encoder.") or ".cross." in name:
            return len(self.tokens)
        return len(self.steps)

    def pattern(self, layer: str) -> ExactArray:
        """One layer's attention weights at every position: ``pattern("decoder.3")`` (its
        self-attention, [positions, positions], zero above the diagonal) or
        ``pattern("decoder.1.cross")`` ([positions, n])."""
        name = layer if layer.endswith((".attn", ".cross")) else f"{layer}.attn"
        return self.array(f"{name}.pattern")

    def _why_absent(self, name: str) -> str:
        if name.endswith("attn.scores") and name.startswith("decoder."):
            return (" (a self-attention with a zero value map returns 0 without scoring: the scores of that layer "
                    "are never computed, spec §5)")
        if ".cross." in name:
            return " (only decoder layer 1 reads the encoder under cross_attention='per-layer')"
        return ""

    # -- named dimensions
    def space_of(self, name: str, i: int = 0) -> Space:
        """The named space of a hook's vector (positions ``j=…`` for patterns and scores)."""
        t = self.model.transformer
        self.check(name)
        parts = name.split(".")
        if name.endswith(("attn.pattern", "attn.scores")) and parts[0] == "decoder":
            return Space(tuple(f"j={j}" for j in range(i + 1)))
        if name.endswith(("cross.pattern", "cross.scores")):
            return Space(tuple(f"j={j}" for j in range(1, len(self.tokens) + 1)))
        if parts[0] == "encoder" and name.endswith("attn.pattern"):
            return Space(tuple(f"j={j}" for j in range(1, len(self.tokens) + 1)))
        if ".hidden" in name:                       # ffn.hidden[.k], output.hidden.k
            net = t.layer(name.split(".hidden")[0])
            k = int(name.rsplit(".", 1)[1]) if name.rsplit(".", 1)[1].isdigit() else 0
            return net.layers[k].target
        if name.endswith("winners"):
            raise HookError(f"{name} holds positions, not a vector", hint="read it with cache[name, i]")
        return t.space

    def vector(self, name: str, i: int, *, nonzero: bool = True) -> dict[str, object]:
        """``{dimension name: value}`` of one activation (by default only the non-zero entries)."""
        space = self.space_of(name, i)
        return {n: v for n, v in zip(space.names, self.get(name, i)) if v or not nonzero}

    def slot(self, name: str, i: int, dim: str):
        """One named value; ``dim`` is a full name (``x4:c(i+1)/(i+1)``) or a single-slot block
        (``x4``); for a one-hot block (``q2``) the dict ``{label: value}``."""
        space = self.space_of(name, i)
        value = self.get(name, i)
        if dim in space:
            return value[space.index(dim)]
        names = space.block(dim)
        if len(names) == 1:
            return value[space.index(names[0])]
        if names:
            return space.read_block(value, dim)
        blocks = sorted({n.split(":", 1)[0] for n in space.names})
        close = did_you_mean(dim, [*blocks, *space.names])
        raise DimensionError(f"{name} has no dimension or block {dim!r}",
                             hint=(close + " " if close else "") + f"its blocks are {', '.join(blocks)}")

    def read(self, name: str, i: int, block: str) -> str | None:
        """The label of a one-hot block (``cache.read("output.y", i, "q1")`` -> the state)."""
        values = self.slot(name, i, block)
        ones = [label.split("=", 1)[-1] for label, v in values.items() if v == 1]
        return ones[0] if len(ones) == 1 and sum(1 for v in values.values() if v) == 1 else None

    def table(self, name: str, i: int, *, nonzero: bool = True) -> Text:
        """One activation as a ``dimension | value`` table (winners: the list of positions)."""
        value = self.get(name, i)
        title = f"{name} at {'input index' if name in self.encoder else 'decoder position'} {i}"
        if name.endswith("winners"):
            return Text(f"{title}: positions {list(value)}")
        space = self.space_of(name, i)
        rows = [(n, _show(v)) for n, v in zip(space.names, value) if v or not nonzero]
        return Text(title + "\n" + text_table(("dimension", "value"), rows))

    def sympy(self, name: str, i: int):
        """One activation as an exact sympy row vector."""
        import sympy

        return sympy.Matrix([[sympy.Rational(v.numerator, v.denominator) if isinstance(v, Fraction)
                              else sympy.nsimplify(v) for v in self.get(name, i)]])

    def latex(self, name: str, i: int, *, nonzero: bool = True, short: bool = True) -> Latex:
        """One activation as a LaTeX table of named dimensions and exact values."""
        value = self.get(name, i)
        if name.endswith("winners"):
            return Latex(_text(f"{name} at {i}: ") + "\\{" + ", ".join(map(str, value)) + "\\}")
        space = self.space_of(name, i)
        label = dimension_latex if short else _text
        rows = [(label(n), _fraction_latex(v)) for n, v in zip(space.names, value) if v or not nonzero]
        return Latex(_tex_table((_text("dimension"), _text("value")), rows, "l|r"))

    # -- attention arithmetic
    def dot_products(self, attention: str, i: int) -> tuple:
        """The signed dot products ⟨q_i, k_j⟩ of one attention at position i (scores are −|·|).

        ``attention`` is ``decoder.l.attn`` (j = 0..i) or ``decoder.l.cross`` (encoder positions
        j = 1..n). For ``decoder.3.attn`` these are the χ_j of Lemma 10: ε_iε_j D_j + ε_i²ε_j²/3.
        """
        layer, _, which = attention.rpartition(".")
        if which not in ("attn", "cross") or not layer.startswith("decoder."):
            raise LayerNameError(f"not an attention: {attention!r}", hint="use decoder.l.attn or decoder.l.cross")
        attn = self.model.transformer.layer(attention)
        if which == "attn":
            query = attn.project_query(self.get(f"{layer}.resid_pre", i))
            keys = [attn.project_key(self.get(f"{layer}.resid_pre", j)) for j in range(i + 1)]
        else:
            query = attn.project_query(self.get(f"{layer}.resid_mid", i))
            keys = [attn.project_key(x) for x in self.encoder["encoder.0.out"]] if self.tokens else []
        return tuple(sum((a * b for a, b in zip(query, key)), Fraction(0)) for key in keys)

    # -- traces
    def normalised_trace(self) -> Trace:
        """The run of the normalised machine M' as the decoder produced it, position by position
        (prelude and stay states included; cells are M' cells, so M's cell c is c + 1)."""
        heads, head, states, writes = [], 0, [], []
        for d in self.decoded():
            head += d.move_in
            heads.append(head)
            states.append(d.state)
            writes.append(d.write if d.write is not None else self.model.labels.blank)
        initial = self.model.labels.blank + "".join(self.tokens)
        verdict = self.trace.verdict
        return trace_from_events(word=initial, blank=self.model.labels.blank, states=states, heads=heads,
                                 writes=writes[:-1], reason=self.trace.reason, verdict=verdict,
                                 machine_name=f"{self.model.labels.machine_name} (normalised)")

    def trace_table(self, *, normalised: bool = False, limit: int | None = None) -> Text:
        """The trace as ``step | state | head | tape`` with the head's cell in brackets."""
        return Text(text_table(("step", "state", "head", "tape"), _trace_rows(self._trace(normalised), limit)))

    def trace_latex(self, *, normalised: bool = False, limit: int | None = None) -> Latex:
        rows = [(r[0], _text(r[1]), r[2], _text(r[3])) for r in _trace_rows(self._trace(normalised), limit)]
        return Latex(_tex_table([_text(h) for h in ("step", "state", "head", "tape")], rows, "r|l|r|l"))

    def _trace(self, normalised: bool) -> Trace:
        return self.normalised_trace() if normalised else self.trace

    def steps_table(self, *, start: int = 0, stop: int | None = None) -> Text:
        """Per decoder position: what y_i says (M' state, symbol read, move in), the symbol
        written (from layer 1) and which step of M it is."""
        rows = []
        for d in self.decoded()[start:stop]:
            k = self.machine_step(d.t)
            rows.append((str(d.t), "" if k is None else str(k), d.state, repr(d.read),
                         f"{d.move_in:+d}" if d.move_in else "0", "" if d.write is None else repr(d.write)))
        return Text(text_table(("i", "M step", "state q(i)", "read s(i)", "m(i-1)", "write v(i)"), rows))


def _trace_rows(trace: Trace, limit: int | None) -> list[tuple[str, str, str, str]]:
    rows = []
    for k, conf in enumerate(trace):
        if limit is not None and k >= limit:
            break
        low = min(conf.tape.offset, conf.head)
        high = max(conf.tape.offset + len(conf.tape.cells) - 1, conf.head)
        cells = [f"[{conf.tape[c]}]" if c == conf.head else conf.tape[c] for c in range(low, high + 1)]
        rows.append((str(conf.step), conf.state, str(conf.head), "".join(cells)))
    return rows


@dataclass
class LoopedActivationCache(_HookCache):
    """Every activation of a looped run, exactly, by hook name (``loop.{b}.*``, b the block) and
    loop step k = 0, 1, …: step k is the loop that reads the card X_k (the driver's loop
    t = k + 1). A hook holds one row per card column: ``cache["loop.1.out"]`` is an
    :class:`ExactArray` [loops, n, d], ``cache["loop.1.attn.pattern"]`` [loops, n, n] (winners:
    the boolean mask of the same shape)."""

    model: LoopedModel
    loops: tuple[Loop, ...]

    step_name = "loop step"

    def __post_init__(self) -> None:
        self.loops = tuple(self.loops)

    def __repr__(self) -> str:
        return (f"LoopedActivationCache(program={self.model.labels.name!r}, loops={len(self.loops)}, "
                f"columns={self.model.n}, hooks={len(self.names())})")

    def __len__(self) -> int:
        """The number of loops (steps k = 0 .. len − 1)."""
        return len(self.loops)

    def names(self) -> list[str]:
        seen = set()
        for loop in self.loops:
            seen.update(loop.activations)
        order = {name: k for k, name in enumerate(self._all_names())}
        return sorted(seen, key=lambda n: order.get(n, len(order)))

    def _all_names(self) -> tuple[str, ...]:
        return looped_hook_points(self.model.transformer)

    def get(self, name: str, k: int):
        """The activation of ``name`` in loop step ``k``, as recorded (one entry per column)."""
        self.check(name)
        return self.loops[check_step(k, len(self.loops), self.step_name)].activations[name]

    def stack(self, name: str) -> tuple:
        self.check(name)
        return tuple(loop.activations.get(name) for loop in self.loops)

    def _width(self, name: str) -> int | None:
        return None

    def array(self, name: str) -> ExactArray:
        if name.endswith(".winners"):
            n = self.model.n
            out = np.zeros((len(self.loops), n, n), dtype=bool)
            for k, per_column in enumerate(self.stack(name)):
                for j, winners in enumerate(per_column):
                    out[k, j, list(winners)] = True
            return out.view(ExactArray)
        return super().array(name)

    def card(self, k: int) -> tuple:
        """The punch card X_k (k = 0 … len): the input of loop step k, the output of step k − 1."""
        k = check_step(k, len(self.loops) + 1, "card")
        return self.loops[0].X_in if k == 0 and self.loops else self.loops[k - 1].X_out if k else self.model.card

    def pattern(self, block: str) -> ExactArray:
        """One block's attention weights at every loop: ``pattern("loop.1")`` (its head, or
        ``"loop.1.attn.0"`` for one of several), [loops, n, n]."""
        name = block if ".attn" in block else f"{block}.attn"
        return self.array(f"{name}.pattern")


def run_with_cache(
    model: PerezModel | TuringMachine | LoopedModel | LoopedMachineModel, word: str = "", *,
    max_steps: int = DEFAULT_MAX_STEPS, names: Collection[str] | None = None, **compile_options,
) -> ActivationCache | LoopedActivationCache:
    """Decode ``word`` capturing every hook (or only ``names``) at every step.

    ``model`` is a compiled model, or a machine to compile first (``compile_options`` go to
    :func:`turingformer.compiler.perez.construction.compile_machine`); ``max_steps`` bounds M's
    steps. A looped model (a program's, or a machine's compiled for the looped computer, which
    takes ``word``) runs on the Fraction runtime until its card halts or for ``max_steps`` loops,
    into a :class:`LoopedActivationCache`. A mistyped name in ``names`` is a :class:`HookError`.
    """
    if isinstance(model, LoopedMachineModel):
        model = (with_input(model, word) if word else model).looped
    elif isinstance(model, LoopedModel):
        if word:
            raise InputError("a program's looped model holds its input in the punch card",
                             hint="run_with_cache(model) without a word, or recompile the program")
    if isinstance(model, LoopedModel):
        known = looped_hook_points(model.transformer)
        _check_names(names, known)
        labels, space = model.labels, model.space
        loops = model.transformer.run(model.card, max_loops=max_steps, capture=names,
                                      stop=lambda X: read_state(labels, space, X).halted(labels))
        return LoopedActivationCache(model, tuple(loops))
    if isinstance(model, TuringMachine):
        from turingformer.compiler.perez.construction import compile_machine

        model = compile_machine(model, **compile_options)
    _check_names(names, hook_points(model.transformer))
    result = run_model(model, word, max_steps=max_steps, capture=names)
    return ActivationCache(model, word, result.trace, result.decoder_steps)


def _check_names(names: Collection[str] | None, known: Sequence[str]) -> None:
    for name in names or ():
        if name not in known:
            raise unknown_hook(name, list(known))


# ---------------------------------------------------------------------------------- weights
def linear(model: PerezModel | Transformer, name: str) -> Linear:
    """The affine map called ``name`` (``decoder.3.attn.key``, ``decoder.1.ffn.0``, ``output.2``…)."""
    t = model.transformer if isinstance(model, PerezModel) else model
    maps = dict(t.linears())
    if name not in maps:
        close = did_you_mean(name, maps)
        raise LayerNameError(f"no map named {name!r}",
                             hint=(close + " " if close else "") + f"the maps are: {', '.join(maps)}")
    return maps[name]


@dataclass(frozen=True)
class NamedMatrix:
    """A weight matrix W (rows = input dimensions, columns = output dimensions) with its labels;
    ``bias`` is the row of biases over the same columns (all zero when the map has none)."""

    name: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    matrix: object   # sympy.Matrix
    bias: object     # sympy.Matrix, 1 × len(cols)

    @property
    def has_bias(self) -> bool:
        return any(v != 0 for v in self.bias)

    def table(self) -> Text:
        header = ("", *self.cols)
        body = [(r, *(str(self.matrix[a, b]) for b in range(len(self.cols)))) for a, r in enumerate(self.rows)]
        if self.has_bias:
            body.append(("(bias)", *(str(v) for v in self.bias)))
        return Text(f"{self.name}: x ↦ x W + b, rows = inputs, columns = outputs\n" + text_table(header, body))

    def latex(self, short: bool = True) -> Latex:
        import sympy

        label = dimension_latex if short else _text
        header = ["", *(label(c) for c in self.cols)]
        body = [(label(r), *(sympy.latex(self.matrix[a, b]) for b in range(len(self.cols))))
                for a, r in enumerate(self.rows)]
        if self.has_bias:
            body.append((_text("bias"), *(sympy.latex(v) for v in self.bias)))
        return Latex(_tex_table(header, body, "r|" + "c" * len(self.cols)))

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.table())

    def _repr_latex_(self) -> str:
        return self.latex()._repr_latex_()


def _selector(spec: Iterable[str] | str | Callable[[str], bool] | None) -> Callable[[str], bool]:
    if spec is None:
        return lambda name: True
    if callable(spec):
        return spec
    wanted = (spec,) if isinstance(spec, str) else tuple(spec)
    return lambda name: any(name == w or name.startswith(w + ":") or (":" in w and name.startswith(w))
                            for w in wanted)


def weights_matrix(
    model: PerezModel | Transformer | Linear, name: str | None = None, *,
    rows: Iterable[str] | str | Callable[[str], bool] | None = None,
    cols: Iterable[str] | str | Callable[[str], bool] | None = None, nonzero: bool = True,
) -> NamedMatrix:
    """One map as a labelled exact sympy matrix.

    ``rows`` / ``cols`` keep only some input / output dimensions: block names (``"x4"``, ``"q2"``,
    ``"pair"``), full names, or a predicate. With ``nonzero`` (the default) rows and columns that
    are entirely zero (bias included) are dropped.
    """
    import sympy

    lin = model if isinstance(model, Linear) else linear(model, name)
    label = name or "W"
    W, b = lin.to_sympy()
    keep_r, keep_c = _selector(rows), _selector(cols)
    ri = [k for k, n in enumerate(lin.source.names) if keep_r(n)]
    ci = [k for k, n in enumerate(lin.target.names) if keep_c(n)]
    if nonzero:
        ri = [k for k in ri if any(W[k, c] != 0 for c in ci)]
        ci = [c for c in ci if any(W[k, c] != 0 for k in ri) or b[0, c] != 0]
    matrix = sympy.Matrix([[W[r, c] for c in ci] for r in ri]) if ri and ci else sympy.zeros(len(ri), len(ci))
    bias = sympy.Matrix([[b[0, c] for c in ci]]) if ci else sympy.zeros(1, 0)
    return NamedMatrix(label, tuple(lin.source.names[k] for k in ri), tuple(lin.target.names[c] for c in ci),
                       matrix, bias)


def weights_table(model, name: str | None = None, **options) -> Text:
    """:func:`weights_matrix` as a plain-text table."""
    return weights_matrix(model, name, **options).table()


def weights_latex(model, name: str | None = None, *, short: bool = True, **options) -> Latex:
    """:func:`weights_matrix` as a LaTeX array with row and column labels."""
    return weights_matrix(model, name, **options).latex(short=short)

