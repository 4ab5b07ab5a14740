"""How much precision the construction needs, and what breaks without it (issue 6; spec §7, §8 J).

Four measurements, each on a compiled model and an input:

* :func:`compare` runs the exact model and an **inexact** float run (:mod:`turingformer.runtime.floating`)
  side by side, step by step, on the same weights and input. At every decoder step it compares
  the float activations of each layer with the exact ones (see *Comparison* below) and reports the
  first step where layer 3's attention choice differs from the exact run, the first step where the
  float run's output diverges, and which layer broke first, with a diagnosis of the first layer-3
  error (how much of the score error came from the layer-2 averages).
* :func:`bit_growth` records, during an exact run, the largest numerator and denominator bit
  length over all activations per step (overall and per layer) and fits ``a·log2(t) + b``.
* :func:`beta_threshold` finds by bisection the smallest softmax sharpness beta for which soft
  attention (float64) still reproduces the trace of T steps.
* :func:`verify_scores` checks that both attention scores, −|x| and the clipped −min(|x|, 1),
  reproduce the simulator's trace exactly (layer-1 uniqueness only for i+1 ≤ n under the clipped
  score, spec §1; layer 3 unique under both).

**Comparison.** The compared hooks, in the order the network computes them:
``decoder.1.resid_pre`` (the input y_i + pos(i+1)), then for each decoder layer l its attention
winners (``decoder.l.attn.winners``, non-trivial attentions only), its cross-attention winners
(``decoder.l.cross.winners``) and ``decoder.l.resid_post``, and finally ``output.y``. For a vector
hook the float value v̂ is compared with the exact value v:

* *inexact* when v̂ ≠ fl(v) in some slot (the exact value rounded to the dtype): rounding error
  beyond storing the exact value;
* *broken* when |v̂ − v| ≥ r/2 in some slot, where r is the slot's *resolution*, the distance from
  v to the nearest other value the slot could legitimately hold: 1/(i+1) for
  x4 = c⁽ⁱ⁺¹⁾/(i+1) and x5 = c⁽ⁱ⁾/(i+1), 1/(i+1) − 1/(i+2) for x10, 1/(i+1)² − 1/(i+2)² for x11,
  1/n for s3 under the clipped score (it may hold an average of n one-hots) and 1 everywhere else
  (one-hots, moves, β, ℓ, i+1). A broken slot no longer identifies its value.

Winner hooks are broken when the float winner set differs from the exact one. "Broke first" is the
first broken hook (in network order) at the first step where anything broke. Comparison stops at
the first step where the float output diverges (its y is broken, the Reader cannot read it as a
configuration — :class:`~turingformer.compiler.perez.decoding.DecodingError` — or it reads a different
configuration): the float run is on another path from there on.

**Reference.** The exact side is :func:`turingformer.runtime.fast.decode_fast` when that module is
available (exact, equal step for step to :func:`turingformer.runtime.transformer.decode`, and fast enough
for tens of thousands of steps), else the plain exact runtime; ``reference="exact"`` forces the
plain one. No float ever enters the exact path: exact activations are only *read* here (converted
to float64 to measure errors).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

import numpy as np

from turingformer.errors import OptionError
from turingformer.compiler.perez.decoding import DecodingError, Reader, run_model
from turingformer.runtime.floating import INEXACT_NOTE, decode_float, resolve_dtype
from turingformer.compiler.perez.layout import SCALARS, symbol_dim
from turingformer.compiler.perez.model import PerezModel

if TYPE_CHECKING:
    from turingformer.compiler.bridge.model import LoopedMachineModel
from turingformer.runtime.transformer import Step, Transformer, decode

LAYER3 = "decoder.3.attn.winners"
LAYER2 = "decoder.2.resid_post"


# ------------------------------------------------------------------------------ references
def reference_decoder(reference: str = "auto") -> tuple[str, Callable[..., Iterator[Step]]]:
    """(name, decoder) of the exact side: ``"auto"`` (fast if available), ``"fast"`` or ``"exact"``."""
    if reference in ("auto", "fast"):
        try:
            from turingformer.runtime.fast import decode_fast
        except Exception:  # absent (or broken): fall back to the plain exact runtime
            if reference == "fast":
                raise
        else:
            return "exact (turingformer.runtime.fast.decode_fast)", decode_fast
    if reference not in ("auto", "fast", "exact"):
        raise OptionError(f"reference {reference!r} is not one of auto, fast, exact", hint="use auto (the default)")
    return "exact (turingformer.runtime.transformer.decode)", decode


def compared_hooks(model: Transformer) -> list[tuple[str, str]]:
    """``(hook, kind)`` in network order, kind ``"vector"`` or ``"winners"``."""
    out = [("decoder.1.resid_pre", "vector")]
    for l, layer in enumerate(model.decoder, start=1):
        if not layer.attn.is_trivial():
            out.append((f"decoder.{l}.attn.winners", "winners"))
        if layer.cross is not None and not layer.cross.is_trivial():
            out.append((f"decoder.{l}.cross.winners", "winners"))
        out.append((f"decoder.{l}.resid_post", "vector"))
    out.append(("output.y", "vector"))
    return out


def layer_of(hook: str) -> str:
    """``decoder.3.attn.winners`` -> ``decoder.3``; ``output.y`` -> ``output``."""
    parts = hook.split(".")
    return ".".join(parts[:2]) if parts[0] in ("decoder", "encoder") else parts[0]


class _Resolution:
    """Per-slot resolution r of the residual at position i (see the module docstring)."""

    def __init__(self, model: PerezModel, n: int):
        space = model.transformer.space
        self.d = len(space)
        self.base = np.ones(self.d)
        if model.transformer.score == "clipped" and n > 1:
            for a in model.labels.symbols:
                self.base[space.index(symbol_dim("s3", a))] = 1.0 / n
        self.x45 = [space.index(SCALARS[4]), space.index(SCALARS[5])]
        self.x10 = space.index(SCALARS[10])
        self.x11 = space.index(SCALARS[11])

    def at(self, i: int) -> np.ndarray:
        r = self.base.copy()
        k = i + 1
        r[self.x45] = 1.0 / k
        r[self.x10] = 1.0 / k - 1.0 / (k + 1)
        r[self.x11] = 1.0 / k ** 2 - 1.0 / (k + 1) ** 2
        return r


def _exact_floats(vector: Sequence) -> np.ndarray:
    return np.array([float(v) for v in vector], dtype=np.float64)


def _winners_equal(exact: Sequence[int], found: Sequence[int], i: int) -> bool:
    """Equal winner sets (both sorted, distinct positions); O(1) when both are all of 0..i."""
    if len(exact) != len(found):
        return False
    if len(exact) == i + 1:
        return True
    return all(int(a) == int(b) for a, b in zip(exact, found))


# ------------------------------------------------------------------------------ results
@dataclass
class HookStats:
    """What happened to one hook over a float run."""

    hook: str
    kind: str
    first_inexact: int | None = None     # first step where v̂ ≠ fl(v) (vectors) / winners differ
    first_broken: int | None = None      # first step where the hook no longer identifies its value
    max_error: float = 0.0               # max |v̂ − v| over the compared steps (vectors)
    max_ratio: float = 0.0               # max |v̂ − v| / r (≥ 0.5 = broken)


@dataclass
class Comparison:
    """One float run against the exact run (all steps are decoder steps i, 0-based)."""

    machine: str
    word: str
    dtype: str
    averaging: str
    attention: str
    beta: float | None
    tolerance: float
    reader_tolerance: float
    reference: str
    steps_compared: int
    reference_halted: bool
    first_layer3: int | None              # first step where layer 3 picks another key
    first_divergence: int | None          # first step where the float output diverges
    divergence: str | None                # what diverged there
    first_broken: int | None              # first step where any compared hook broke
    broke_first: str | None               # the first broken hook at that step (network order)
    broken_at_first: list[str]
    machine_steps: dict[str, int | None]  # the M step of the decoder steps above
    hooks: dict[str, HookStats]
    diagnosis: dict | None
    seconds: float
    series: dict[str, list] | None = None
    inexact: str = "INEXACT"

    @property
    def layer_broke_first(self) -> str | None:
        return None if self.broke_first is None else layer_of(self.broke_first)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["layer_broke_first"] = self.layer_broke_first
        out["note"] = INEXACT_NOTE.format(dtype=self.dtype)
        if self.series is None:
            out.pop("series")
        return _finite(out)


def _finite(value):
    """Non-finite floats (a NaN or overflowing float activation) as strings, so JSON stays JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def compare(
    model: PerezModel, word: str, *, dtype="float32", averaging: str = "sum",
    max_steps: int = 2000, tolerance: float | None = None, attention: str = "hard",
    beta: float | None = None, reader_tolerance: float = 0.25, reference: str = "auto",
    series: bool = False,
) -> Comparison:
    """Run exact and float (**inexact**) side by side for up to ``max_steps`` decoder steps.

    ``series=True`` also keeps, per step, the error ratio |v̂ − v|/r of every vector hook and the
    error of the layer-2 slots x4, x5 (for plots).
    """
    started = time.perf_counter()
    dt = resolve_dtype(dtype)
    transformer = model.transformer
    labels = model.labels
    tokens = labels.encoder_input(word)
    n = len(tokens)
    start = labels.prelude_steps(n)
    ref_name, ref_decode = reference_decoder(reference)
    order = compared_hooks(transformer)
    hooks = {h: HookStats(h, kind) for h, kind in order}
    capture = {h for h, _ in order} | {"decoder.1.resid_post", LAYER2}
    exact_reader = Reader(model, 0)
    float_reader = Reader(model, reader_tolerance)
    resolution = _Resolution(model, n)
    space = transformer.space
    ix4, ix5 = space.index(SCALARS[4]), space.index(SCALARS[5])
    exact_x5: list[Fraction] = []
    float_x5: list[float] = []
    keep = {h: [] for h, kind in order if kind == "vector"} if series else None
    if series:
        keep["x4_error"], keep["x5_error"] = [], []

    exact_steps = ref_decode(transformer, tokens, max_steps=max_steps, stop=exact_reader.halted,
                             capture=capture)
    float_steps = decode_float(transformer, tokens, max_steps=max_steps, capture=capture | {"decoder.3.attn.scores"},
                               dtype=dt, tolerance=tolerance, averaging=averaging, attention=attention,
                               beta=beta)
    first_layer3 = first_divergence = first_broken = None
    divergence = broke_first = None
    broken_at_first: list[str] = []
    diagnosis = None
    m_step = -1
    m_of: dict[int, int] = {}
    compared = 0
    halted = False
    for ref, flt in zip(exact_steps, float_steps):
        i = ref.i
        compared = i + 1
        expected = exact_reader.read(ref)
        if expected.t >= start and expected.state not in labels.stay:
            m_step += 1
        m_of[i] = m_step if i >= start else None
        res = resolution.at(i)
        broken_now: list[str] = []
        for hook, kind in order:
            stats = hooks[hook]
            e, f = ref.activations.get(hook), flt.activations.get(hook)
            if e is None or f is None:
                continue
            if kind == "winners":
                if not _winners_equal(e, f, i):
                    if stats.first_inexact is None:
                        stats.first_inexact = i
                    if stats.first_broken is None:
                        stats.first_broken = i
                    broken_now.append(hook)
                continue
            ev = _exact_floats(e)
            fv = np.asarray(f, dtype=np.float64)
            err = np.abs(fv - ev)
            err[np.isnan(err)] = np.inf
            ratio = float(np.max(err / res))
            stats.max_error = max(stats.max_error, float(err.max()))
            stats.max_ratio = max(stats.max_ratio, ratio)
            if stats.first_inexact is None and np.any(ev.astype(dt) != np.asarray(f)):
                stats.first_inexact = i
            if ratio >= 0.5:
                if stats.first_broken is None:
                    stats.first_broken = i
                broken_now.append(hook)
            if series:
                keep[hook].append(ratio)
        e2, f2 = ref.activations[LAYER2], flt.activations[LAYER2]
        exact_x5.append(e2[ix5])
        float_x5.append(float(f2[ix5]))
        if series:
            keep["x4_error"].append(abs(float(f2[ix4]) - float(e2[ix4])))
            keep["x5_error"].append(abs(float(f2[ix5]) - float(e2[ix5])))
        if broken_now and first_broken is None:
            first_broken, broke_first, broken_at_first = i, broken_now[0], broken_now
        if LAYER3 in broken_now and first_layer3 is None:
            first_layer3 = i
            diagnosis = _diagnose(i, ref, flt, exact_x5, float_x5, ix4, float(np.finfo(dt).eps) / 2)
        # The output, read as a configuration.
        why = None
        if "output.y" in broken_now:
            why = "output y is wrong in some slot"
        else:
            try:
                got = float_reader.read(flt)
            except DecodingError as error:
                why = f"not a configuration: {error}"
            else:
                if got != expected:
                    why = f"reads {got} instead of {expected}"
                elif float_reader.halted(flt.y_out) != exact_reader.halted(ref.y_out):
                    why = "halts at a different step"
        if why is not None:
            first_divergence, divergence = i, why
            break
        halted = exact_reader.halted(ref.y_out)
    return Comparison(
        machine=labels.machine_name, word=word, dtype=dt.name, averaging=averaging, attention=attention,
        beta=beta, tolerance=0.0 if tolerance is None else float(tolerance),
        reader_tolerance=reader_tolerance, reference=ref_name, steps_compared=compared,
        reference_halted=halted, first_layer3=first_layer3, first_divergence=first_divergence,
        divergence=divergence, first_broken=first_broken, broke_first=broke_first,
        broken_at_first=broken_at_first,
        machine_steps={"first_layer3": m_of.get(first_layer3), "first_divergence": m_of.get(first_divergence),
                       "first_broken": m_of.get(first_broken)},
        hooks=hooks, diagnosis=diagnosis, seconds=time.perf_counter() - started, series=keep,
    )


def _diagnose(i: int, ref: Step, flt: Step, exact_x5: list, float_x5: list, ix4: int, u: float) -> dict:
    """Why layer 3 chose another key at step i.

    With q = (x4, ε_i, ε_i²/3) and k_j = (ε_j, −x5_j, ε_j²) the dot product is
    χ_j = x4·ε_j − ε_i·x5_j + ε_i²ε_j²/3; for a key on the same cell the first two terms cancel
    exactly and only the recency term ε_i²ε_j²/3 is left. Reported: the exact score gap between
    the chosen key j and the exact winner ℓ, the float gap, the first-order error of that gap due
    to the layer-2 slots (x4 at i, x5 at ℓ and j; errors measured exactly against the exact run),
    the total error of the gap and the layer-2 fraction of it, and the gap in *rounding units*
    gap / (u·P), P = Σ_e |q_e k_ℓe| the size of the cancelling terms (u = unit roundoff of the
    dtype). The first-order layer-2 estimate is meaningful in float32/64; in float16 the scores
    are subnormal and the estimate is rough.
    """
    ell = int(ref.activations[LAYER3][0])
    winners = [int(j) for j in flt.activations[LAYER3]]
    j = next((w for w in winners if w != ell), winners[0])
    k = i + 1
    eps_i = Fraction(1, k)
    x4 = ref.activations[LAYER2][ix4]

    def chi(idx: int) -> Fraction:
        e = Fraction(1, idx + 1)
        return x4 * e - eps_i * exact_x5[idx] + eps_i * eps_i * e * e / 3

    exact_gap = abs(chi(j)) - abs(chi(ell))                 # > 0: the exact run prefers ℓ
    scores = flt.activations.get("decoder.3.attn.scores")
    float_gap = None if scores is None else float(scores[ell]) - float(scores[j])   # ≤ 0: float prefers j
    d4 = Fraction(float(flt.activations[LAYER2][ix4])) - x4
    d5 = {idx: Fraction(float_x5[idx]) - exact_x5[idx] for idx in (ell, j)}
    layer2 = d4 * (Fraction(1, j + 1) - Fraction(1, ell + 1)) - (d5[j] - d5[ell]) * eps_i
    e_ell = Fraction(1, ell + 1)
    P = abs(x4) * e_ell + eps_i * abs(exact_x5[ell]) + eps_i * eps_i * e_ell * e_ell / 3
    return {
        "step": i, "exact_winner": ell, "float_winners": winners, "chosen": j,
        "same_cell": x4 * k == exact_x5[j] * (j + 1),   # c(i+1) = c(j): a stale write to the cell
        "exact_score_gap": float(exact_gap), "float_score_gap": float_gap,
        "x4_error": float(d4), "x5_error_exact_winner": float(d5[ell]), "x5_error_chosen": float(d5[j]),
        "layer2_gap_error": float(layer2),
        "total_gap_error": None if float_gap is None else float(Fraction(float_gap) - exact_gap),
        "layer2_fraction": (None if float_gap is None or Fraction(float_gap) == exact_gap
                            else float(layer2 / (Fraction(float_gap) - exact_gap))),
        "recency_term": float(eps_i * eps_i * e_ell * e_ell / 3),
        "cancelling_terms": float(P),
        "rounding_units": float(exact_gap / P) / u,
    }


# ------------------------------------------------------------------------------ layer-3 margins
@dataclass(frozen=True)
class Layer3Margin:
    """At a revisit step i of the exact run: how far the winner ℓ is from the stale key j.

    ``gap`` = |χ_j| − |χ_ℓ| (exact, shown as a float) for j the second-latest visit of the cell;
    ``cancelling`` = P = Σ_e |q_e k_ℓe|, the size of the terms that cancel in χ_ℓ (rounding
    errors scale with it); ``recency`` = ε_i²ε_ℓ²/3, all that is left of χ_ℓ after the cancellation.
    """

    step: int
    winner: int
    stale: int
    gap: float
    cancelling: float
    recency: float

    def rounding_units(self, dtype) -> float:
        """gap / (u·P): the gap in units of the rounding of the cancelling terms."""
        return self.gap / (float(np.finfo(resolve_dtype(dtype)).eps) / 2 * self.cancelling)


def layer3_margins(model: PerezModel, word: str, *, max_steps: int = 1000,
                   reference: str = "auto") -> list[Layer3Margin]:
    """The exact layer-3 margins at every step where the head returns to a cell visited twice."""
    _, ref_decode = reference_decoder(reference)
    transformer = model.transformer
    attn = transformer.decoder[2].attn
    space = transformer.space
    ix4, ix5 = space.index(SCALARS[4]), space.index(SCALARS[5])
    reader = Reader(model, 0)
    tokens = model.labels.encoder_input(word)
    keys: list[tuple] = []
    visits: dict[Fraction, list[int]] = {}
    out = []
    for step in ref_decode(transformer, tokens, max_steps=max_steps, stop=reader.halted,
                           capture=(LAYER2, LAYER3)):
        i, h = step.i, step.activations[LAYER2]
        keys.append(attn.project_key(h))
        visits.setdefault(h[ix5] * (i + 1), []).append(i)           # c(i) is visited at i
        seen = visits.get(h[ix4] * (i + 1), [])                       # earlier visits of c(i+1)
        if len(seen) < 2:
            continue
        ell, stale = seen[-1], seen[-2]
        if tuple(step.activations[LAYER3]) != (ell,):
            raise AssertionError(f"step {i}: the exact layer 3 chose {step.activations[LAYER3]}, not {ell}")
        q = attn.project_query(h)
        chi = [sum(a * b for a, b in zip(q, keys[j])) for j in (ell, stale)]
        P = sum(abs(a * b) for a, b in zip(q, keys[ell]))
        e_ell = Fraction(1, ell + 1)
        out.append(Layer3Margin(i, ell, stale, float(abs(chi[1]) - abs(chi[0])), float(P),
                                float(Fraction(1, 3 * (i + 1) ** 2) * e_ell * e_ell)))
    return out


def predicted_window(margins: Sequence[Layer3Margin], dtype, *, units: float = 8.0) -> tuple[int | None, int | None]:
    """(earliest, latest) step at which a float run's layer 3 is expected to first go wrong.

    earliest: the first revisit where the exact gap is within ``units`` rounding units of the
    cancelling terms (before it, rounding errors of a few ulps of x4, x5, pos and the products
    cannot reorder the two keys); latest: the first revisit where the recency term ε_i²ε_ℓ²/3
    is below half the dtype's smallest subnormal, so it rounds to 0 and nothing is left to tell an
    older write from the latest (float16: a few dozen steps; float32/64: never in practice, None).
    """
    dt = resolve_dtype(dtype)
    u = float(np.finfo(dt).eps) / 2
    tiny = float(np.finfo(dt).smallest_subnormal)
    earliest = next((m.step for m in margins if m.gap < units * u * m.cancelling), None)
    latest = next((m.step for m in margins if m.recency < tiny / 2), None)
    return earliest, latest


# ------------------------------------------------------------------------------ bits
@dataclass
class Fit:
    """Least squares ``bits ≈ a·log2(t) + b`` (and a linear fit ``c·t + d`` for contrast)."""

    a: float
    b: float
    r2: float
    rms: float
    linear_c: float
    linear_d: float
    linear_rms: float

    constant: bool = False

    @property
    def logarithmic(self) -> bool:
        """The log model explains the data (R² ≥ 0.9) better than a straight line does."""
        return not self.constant and self.r2 >= 0.9 and self.rms < self.linear_rms

    @property
    def verdict(self) -> str:
        if self.constant:
            return "constant"
        return "logarithmic" if self.logarithmic else "not logarithmic"


def fit_log(t: Sequence[float], bits: Sequence[float]) -> Fit:
    t = np.asarray(t, dtype=float)
    y = np.asarray(bits, dtype=float)
    A = np.column_stack([np.log2(t), np.ones_like(t)])
    (a, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    pred = A @ np.array([a, b])
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    constant = ss_tot == 0.0
    ss_tot = ss_tot or 1.0
    L = np.column_stack([t, np.ones_like(t)])
    (c, d), *_ = np.linalg.lstsq(L, y, rcond=None)
    lin = L @ np.array([c, d])
    return Fit(float(a), float(b), 1 - ss_res / ss_tot, math.sqrt(ss_res / len(y)), float(c), float(d),
               math.sqrt(float(np.mean((y - lin) ** 2))), constant)


@dataclass
class BitGrowth:
    """Per decoder step t = i+1, the largest numerator/denominator bit length of any activation."""

    machine: str
    word: str
    t: list[int]
    numerator: list[int]
    denominator: list[int]
    per_layer: dict[str, dict[str, list[int]]]
    fit_numerator: Fit
    fit_denominator: Fit
    per_layer_fits: dict[str, dict[str, Fit]]
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def _fractions(value) -> Iterator[Fraction]:
    if isinstance(value, Fraction):
        yield value
    elif isinstance(value, int):
        yield Fraction(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _fractions(v)


def _bits(values) -> tuple[int, int]:
    num = den = 0
    for v in _fractions(values):
        num = max(num, abs(v.numerator).bit_length())
        den = max(den, v.denominator.bit_length())
    return num, den


def bit_growth(model: PerezModel, word: str, *, max_steps: int = 500, decoder=decode) -> BitGrowth:
    """Run exactly with every hook captured and measure the bit lengths step by step.

    Winner lists (indices) are not activations and are skipped; the attention scores and
    patterns are included. ``max_steps`` counts decoder steps.
    """
    started = time.perf_counter()
    labels = model.labels
    tokens = labels.encoder_input(word)
    reader = Reader(model, 0)
    ts, nums, dens = [], [], []
    per_layer: dict[str, dict[str, list[int]]] = {}
    for step in decoder(model.transformer, tokens, max_steps=max_steps, stop=reader.halted, capture=None):
        groups: dict[str, list[int]] = {}
        for hook, value in step.activations.items():
            if hook.endswith(".winners"):
                continue
            num, den = _bits(value)
            g = groups.setdefault(layer_of(hook), [0, 0])
            g[0], g[1] = max(g[0], num), max(g[1], den)
        num, den = _bits((step.y_in, step.y_out))
        g = groups.setdefault("output", [0, 0])
        g[0], g[1] = max(g[0], num), max(g[1], den)
        ts.append(step.i + 1)
        nums.append(max(v[0] for v in groups.values()))
        dens.append(max(v[1] for v in groups.values()))
        for layer in {*per_layer, *groups}:
            if layer.startswith("encoder"):
                continue
            rec = per_layer.setdefault(layer, {"numerator": [], "denominator": []})
            v = groups.get(layer, [0, 0])
            rec["numerator"].append(v[0])
            rec["denominator"].append(v[1])
    fits = {layer: {k: fit_log(ts, rec[k]) for k in ("numerator", "denominator")}
            for layer, rec in per_layer.items()}
    return BitGrowth(labels.machine_name, word, ts, nums, dens, per_layer, fit_log(ts, nums),
                     fit_log(ts, dens), fits, time.perf_counter() - started)


# ------------------------------------------------------------------------------ soft attention
def soft_reproduces(model: PerezModel, word: str, steps: int, beta: float, *, reference=None,
                    reader_tolerance: float = 0.1, dtype: str = "float64") -> bool:
    """Does softmax(beta·score) attention (float, **inexact**) reproduce the exact trace of
    ``steps`` machine steps? A :class:`DecodingError` counts as no."""
    if reference is None:
        reference = exact_trace(model, word, steps)
    try:
        trace = run_model(model, word, max_steps=steps, tolerance=reader_tolerance, keep_steps=False,
                          decoder=partial(decode_float, dtype=dtype, attention="soft", beta=beta)).trace
    except DecodingError:
        return False
    return _same_trace(trace, reference)


def exact_trace(model: PerezModel, word: str, steps: int):
    _, decoder = reference_decoder("auto")
    return run_model(model, word, max_steps=steps, decoder=decoder, keep_steps=False).trace


@dataclass
class SoftThreshold:
    """beta*(T): the smallest beta found (to a factor ``1 + rel``) that reproduces T steps."""

    machine: str
    word: str
    steps: int                  # T, machine steps
    decoder_steps: int
    beta: float | None          # smallest beta known to reproduce (None: none up to beta_max)
    beta_fails: float | None    # largest beta known to fail
    evaluations: int
    reader_tolerance: float
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def beta_threshold(model: PerezModel, word: str, steps: int, *, rel: float = 0.05,
                   beta_min: float = 1.0, beta_max: float = 1e40, reader_tolerance: float = 0.1,
                   dtype: str = "float64") -> SoftThreshold:
    """Bisection (in log beta) for the smallest beta that reproduces ``steps`` machine steps.

    Assumes reproduction is monotone in beta (a sharper softmax is closer to hardmax); first
    brackets by factors of 10 from ``beta_min``.
    """
    started = time.perf_counter()
    exact = run_model(model, word, max_steps=steps, decoder=reference_decoder("auto")[1], keep_steps=False)
    reference = exact.trace
    evaluations = 0

    def ok(beta: float) -> bool:
        nonlocal evaluations
        evaluations += 1
        return soft_reproduces(model, word, steps, beta, reference=reference,
                               reader_tolerance=reader_tolerance, dtype=dtype)

    lo, hi = None, beta_min
    while not ok(hi):
        lo, hi = hi, hi * 10
        if hi > beta_max:
            return SoftThreshold(model.labels.machine_name, word, steps, exact.positions, None, lo,
                                 evaluations, reader_tolerance, time.perf_counter() - started)
    if lo is not None:
        while hi / lo > 1 + rel:
            mid = math.sqrt(lo * hi)
            if ok(mid):
                hi = mid
            else:
                lo = mid
    return SoftThreshold(model.labels.machine_name, word, steps, exact.positions, hi, lo, evaluations,
                         reader_tolerance, time.perf_counter() - started)


# ------------------------------------------------------------------------------ score variants
@dataclass
class ScoreCheck:
    """One score function, run exactly against the reference simulator."""

    score: str
    machine: str
    word: str
    steps: int                       # machine steps
    decoder_steps: int
    trace_equal: bool
    layer1_unique_inside: bool       # unique cross-attention winner at every i+1 ≤ n
    layer1_ties_outside: int         # positions i+1 > n where the cross-attention tied
    layer3_ties: int                 # positions where layer 3 tied (must be 0)

    def as_dict(self) -> dict:
        return asdict(self)


def verify_scores(machine, word: str = "", *, max_steps: int = 200, cross_attention: str = "per-layer",
                  decoder=None) -> list[ScoreCheck]:
    """Compile ``machine`` with each score, decode exactly, compare with the simulator."""
    from turingformer.compiler.perez.construction import compile_machine
    from turingformer.tm.simulator import run

    decoder = decoder or reference_decoder("auto")[1]
    reference = run(machine, word, max_steps=max_steps)
    out = []
    for score in ("abs", "clipped"):
        model = compile_machine(machine, cross_attention=cross_attention, score=score)
        n = len(model.labels.encoder_input(word))
        result = run_model(model, word, max_steps=max_steps, decoder=decoder,
                           capture=("decoder.1.cross.winners", LAYER3))
        trace, steps = result.trace, result.decoder_steps
        inside, outside, ties3 = True, 0, 0
        for step in steps:
            cross = step.activations.get("decoder.1.cross.winners", ())
            if step.i + 1 <= n:
                inside &= len(cross) == 1
            elif len(cross) > 1:
                outside += 1
            ties3 += len(step.activations[LAYER3]) != 1
        out.append(ScoreCheck(score, machine.name, word, reference.steps, len(steps),
                              _same_trace(trace, reference), inside, outside, ties3))
    return out


def _same_trace(a, b) -> bool:
    return (a.states, a.heads, a.writes, a.reason, a.verdict) == (b.states, b.heads, b.writes, b.reason, b.verdict)


def decoder_positions(machine, word: str, machine_steps: int) -> int:
    """How many decoder steps cover ``machine_steps`` steps of ``machine`` on ``word``.

    The prelude takes 2n+3 steps, every stay move one more (spec §2b.1-2), and one more position
    shows whether the machine halts there. Computed with the reference simulator, not the network.
    """
    from turingformer.tm.machine import Move
    from turingformer.tm.simulator import run

    trace = run(machine, word, max_steps=machine_steps)
    stays = sum(machine.rule(trace.states[t], c.symbol).move is Move.S
                for t, c in zip(range(trace.steps), trace))
    return 2 * len(word) + 3 + trace.steps + stays + 1


# ---------------------------------------------------------------------------------- the looped computer
@dataclass(frozen=True)
class LoopedPrecision:
    """How large the looped run's integers get, and whether float runs of the same weights stay exact.

    ``largest_entry`` is the largest |entry| of any punch card over the run; ``largest_integer``
    bounds every integer any block forms from such cards (attention products, σ pre-activations
    over their power-of-two denominators; :meth:`~turingformer.runtime.looped.IntegerLoop.largest_integer`).
    ``float_departure[dtype]`` is the first loop whose float card differs from the exact one (None:
    equal at every loop, i.e. the float run is the exact run).
    """

    loops: int
    largest_entry: int
    largest_integer: int
    float_departure: dict[str, int | None]

    @property
    def entry_bits(self) -> int:
        """Bits (with sign) of the largest card entry."""
        return self.largest_entry.bit_length() + 1

    @property
    def integer_bits(self) -> int:
        """Bits (with sign) of the largest integer any block forms."""
        return self.largest_integer.bit_length() + 1


def looped_precision(model: "LoopedMachineModel", loops: int,
                     dtypes: tuple[str, ...] = ("float64", "float32")) -> LoopedPrecision:
    """Run ``loops`` loops exactly and in each float ``dtype`` side by side (see :class:`LoopedPrecision`);
    a float run stops being followed at the first loop it departs from the exact one. ``model``: a
    looped machine model (its ``looped`` program model) or any looped model itself (e.g. FLEQ-M's)."""
    from turingformer.compiler.looped.model import loop_cards
    from turingformer.runtime.looped import FloatLoop, IntegerLoop
    looped = getattr(model, "looped", model)
    exact = IntegerLoop(looped.transformer)
    floats = {dtype: loop_cards(looped, FloatLoop(looped.transformer, dtype)) for dtype in dtypes}
    departure: dict[str, int | None] = {dtype: None for dtype in dtypes}
    largest = 0
    for t, X in enumerate(loop_cards(looped, exact)):
        largest = max(largest, int(abs(X).max()))
        for dtype, cards in floats.items():
            if departure[dtype] is None and not np.array_equal(next(cards), X.astype(np.float64)):
                departure[dtype] = t
        if t == loops:
            break
    return LoopedPrecision(loops, largest, exact.largest_integer(largest), departure)
