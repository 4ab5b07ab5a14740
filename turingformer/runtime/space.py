"""Named vector spaces and exact sparse linear maps (in the spirit of tracr's ``bases.py``).

Every dimension of every vector the runtime touches has a name, ``block:label`` — for example
``q2:state=q0``, ``s3:symbol=1`` or ``x4:c(i+1)/(i+1)``. Weights are built by naming the
directions they connect (:meth:`Linear.build`), never by index arithmetic, and any activation
prints as a labelled table (:meth:`Space.table`).

All numbers are :class:`fractions.Fraction`: exact rationals, the same numbers sympy's
``Rational`` holds (:meth:`Linear.to_sympy` converts at the edge, for notebooks and LaTeX).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Iterable, Mapping, Sequence

from turingformer.errors import DimensionError, WeightsError, did_you_mean

Vector = tuple  # a tuple of Fractions (exact) or floats (float modes), one per dimension of a Space


@dataclass(frozen=True)
class Space:
    """An ordered tuple of distinct dimension names."""

    names: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index = {name: i for i, name in enumerate(self.names)}
        if len(index) != len(self.names):
            dup = next(n for n in self.names if self.names.count(n) > 1)
            raise WeightsError(f"duplicate dimension name {dup!r}", hint="name every residual dimension once")
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        shown = ", ".join(repr(n) for n in self.names[:3])
        more = f", … {len(self.names) - 3} more" if len(self.names) > 3 else ""
        return f"Space(d={len(self.names)}: {shown}{more})"

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise DimensionError(f"no dimension named {name!r} in {self!r}",
                                 hint=did_you_mean(str(name), self.names) or "space.names lists them") from None

    def block(self, block: str) -> tuple[str, ...]:
        """The names of one block, e.g. ``space.block("q1")`` -> ``("q1:state=a", ...)``."""
        prefix = block + ":"
        return tuple(n for n in self.names if n.startswith(prefix))

    def zeros(self) -> list[Fraction]:
        return [Fraction(0)] * len(self.names)

    def vector(self, entries: Mapping[str, object]) -> Vector:
        """A vector with the given named entries and zeros elsewhere."""
        values = self.zeros()
        for name, value in entries.items():
            values[self.index(name)] = Fraction(value)
        return tuple(values)

    def get(self, vector: Sequence, name: str):
        return vector[self.index(name)]

    def read_block(self, vector: Sequence, block: str) -> dict[str, object]:
        """``{label: value}`` for the dimensions of ``block`` (label = the part after the colon)."""
        return {n.split(":", 1)[1]: vector[self._index[n]] for n in self.block(block)}

    def table(self, vector: Sequence, *, nonzero: bool = True) -> str:
        """A two-column table ``name | value``; by default only the non-zero entries."""
        rows = [(n, v) for n, v in zip(self.names, vector) if v or not nonzero]
        width = max([len("dimension"), *(len(n) for n, _ in rows)])
        lines = [f"{'dimension':<{width}} | value", f"{'-' * width}-+------"]
        lines += [f"{n:<{width}} | {_show(v)}" for n, v in rows]
        return "\n".join(lines)


def _show(value) -> str:
    return str(value) if isinstance(value, Fraction) else f"{value:.6g}"


@dataclass(frozen=True)
class Linear:
    """An affine map ``x -> x W + b`` between two named spaces, stored sparsely and exactly.

    ``weights`` holds triples ``(input index, output index, weight)`` with non-zero weights;
    ``bias`` holds pairs ``(output index, value)``.
    """

    source: Space
    target: Space
    weights: tuple[tuple[int, int, Fraction], ...] = ()
    bias: tuple[tuple[int, Fraction], ...] = ()

    def __repr__(self) -> str:
        return (f"Linear({len(self.source)} -> {len(self.target)} dimensions, {len(self.weights)} weights, "
                f"{len(self.bias)} biases)")

    @classmethod
    def build(
        cls,
        source: Space,
        target: Space,
        weights: Mapping[tuple[str, str], object] | Iterable[tuple[str, str, object]] = (),
        bias: Mapping[str, object] = (),
    ) -> "Linear":
        """Build from named entries: ``{(input name, output name): weight}`` (entries add up)."""
        items = weights.items() if isinstance(weights, Mapping) else ((k[:2], k[2]) for k in weights)
        acc: dict[tuple[int, int], Fraction] = {}
        for (src, dst), w in items:
            key = (source.index(src), target.index(dst))
            w = w if type(w) is Fraction else Fraction(w)      # a model file's weights are Fractions already
            acc[key] = acc[key] + w if key in acc else w
        b: dict[int, Fraction] = {}
        for dst, w in dict(bias).items():
            b[target.index(dst)] = b.get(target.index(dst), Fraction(0)) + Fraction(w)
        return cls(
            source, target,
            tuple((i, o, w) for (i, o), w in sorted(acc.items()) if w),
            tuple((o, w) for o, w in sorted(b.items()) if w),
        )

    @classmethod
    def zero(cls, source: Space, target: Space) -> "Linear":
        return cls(source, target)

    @classmethod
    def identity(cls, space: Space) -> "Linear":
        return cls(space, space, tuple((i, i, Fraction(1)) for i in range(len(space))))

    def is_zero(self) -> bool:
        return not self.weights and not self.bias

    def __call__(self, x: Sequence) -> tuple:
        out = [type_zero(x)] * len(self.target)
        for o, b in self.bias:
            out[o] = out[o] + b
        for i, o, w in self.weights:
            xi = x[i]
            if xi:
                out[o] = out[o] + xi * w
        return tuple(out)

    def used_inputs(self) -> tuple[int, ...]:
        """Indices of the input dimensions the map reads."""
        return tuple(sorted({i for i, _, _ in self.weights}))

    def used_outputs(self) -> tuple[int, ...]:
        """Indices of the output dimensions the map can make non-zero."""
        return tuple(sorted({o for _, o, _ in self.weights} | {o for o, _ in self.bias}))

    def named_weights(self) -> list[tuple[str, str, Fraction]]:
        return [(self.source.names[i], self.target.names[o], w) for i, o, w in self.weights]

    def named_bias(self) -> list[tuple[str, Fraction]]:
        return [(self.target.names[o], b) for o, b in self.bias]

    def dense(self) -> list[list[Fraction]]:
        """The weight matrix W as nested lists (rows = source, columns = target)."""
        rows = [[Fraction(0)] * len(self.target) for _ in self.source.names]
        for i, o, w in self.weights:
            rows[i][o] = w
        return rows

    def to_sympy(self):
        """``(W, b)`` as exact sympy matrices (for notebooks: ``sympy.latex(W)``)."""
        import sympy

        W = sympy.zeros(len(self.source), len(self.target))
        for i, o, w in self.weights:
            W[i, o] = sympy.Rational(w.numerator, w.denominator)
        b = sympy.zeros(1, len(self.target))
        for o, v in self.bias:
            b[0, o] = sympy.Rational(v.numerator, v.denominator)
        return W, b


def type_zero(x: Sequence):
    """A zero of the same kind as the entries of ``x`` (Fraction for exact, float otherwise)."""
    for v in x:
        return v * 0
    return Fraction(0)


def sigma(x):
    """The piecewise-linear sigmoid of Siegelmann and Sontag: 0 below 0, x on [0, 1], 1 above."""
    if x <= 0:
        return x * 0
    if x >= 1:
        return x * 0 + 1
    return x
