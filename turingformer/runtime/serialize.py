"""Weights as JSON, exactly: the validating reader and the writer of the runtime's maps.

A model file (``docs/model-format.md``) stores every affine map as
``LINEAR = {"source": space, "target": space, "weights": [[from, to, "p/q"], ...], "bias": [[to, "p/q"], ...]}``
over **named** spaces, an attention head as ``ATTN = {"query": LINEAR, "key": LINEAR, "value": LINEAR}``
and a σ-net as a list of LINEARs. Numbers are strings ``"p/q"`` (or ``"p"``): nothing is rounded.

:class:`JsonReader` gives type-checked access to a parsed document, every failure a
:class:`~turingformer.errors.ModelFileError` naming the JSON path (``decoder[1].cross.query.weights[3]``);
:class:`WeightReader` reads the maps of one document over its ``spaces`` and :class:`WeightWriter`
writes them. Both know maps, not constructions: a construction's model class reads and writes its
own document with them (``Model.from_json`` / ``Model.to_json``), so a new construction never
edits the model-file envelope (``turingformer/modelfile.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from fractions import Fraction

from turingformer.errors import Location, ModelFileError

from .space import Linear, Space
from .transformer import MLP, Attention

#: How a digest names its hash.
DIGEST_PREFIX = "sha256:"


def canonical_digest(document) -> str:
    """``sha256:`` and the SHA-256 of ``document`` as canonical JSON (sorted keys, no spaces,
    UTF-8): equal documents, however their keys were ordered, have equal digests."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return DIGEST_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest()

#: The fix every damaged model file gets.
RECOMPILE = "recompile: turingformer compile FILE -o MODEL"
#: Python refuses to read longer digit strings as int (``sys.get_int_max_str_digits``).
MAX_DIGITS = 4300
_RATIONAL = re.compile(r"-?([0-9]+)(?:/([0-9]+))?\Z")
ATTENTION_PARTS = ("query", "key", "value")
_LINEAR = ("source", "target", "weights", "bias")


def kind_of_value(value) -> str:
    """How an error names the JSON type of ``value``."""
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), "a number")


def number(value: Fraction) -> str:
    """An exact rational as a model file writes it: ``"p/q"`` or ``"p"``."""
    return str(value)


class JsonReader:
    """Type-checked access to a parsed JSON document; every failure names its JSON path."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, where: str, problem: str) -> ModelFileError:
        return ModelFileError(f"the model file is damaged: {where}: {problem}", location=Location(self.source),
                              hint=RECOMPILE)

    def obj(self, value, where: str, keys: tuple[str, ...] | None = None) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected an object, got {kind_of_value(value)}")
        if keys is not None:
            missing = [k for k in keys if k not in value]
            extra = [k for k in value if k not in keys]
            if missing:
                raise self.fail(where, f"missing {', '.join(map(repr, missing))}")
            if extra:
                raise self.fail(where, f"unknown key {extra[0][:40]!r} (the keys are {', '.join(keys)})")
        return value

    def list(self, value, where: str) -> list:
        if not isinstance(value, list):
            raise self.fail(where, f"expected a list, got {kind_of_value(value)}")
        return value

    def string(self, value, where: str, choices=None) -> str:
        if not isinstance(value, str):
            raise self.fail(where, f"expected a string, got {kind_of_value(value)}")
        if choices is not None and value not in choices:
            raise self.fail(where, f"{value[:40]!r} is not one of {', '.join(map(repr, choices))}")
        return value

    def strings(self, value, where: str, within=None, unique: bool = False) -> tuple[str, ...]:
        items = tuple(self.name(v, f"{where}[{k}]", within) for k, v in enumerate(self.list(value, where)))
        if unique and len(set(items)) != len(items):
            twice = next(v for k, v in enumerate(items) if v in items[:k])
            raise self.fail(where, f"{twice[:40]!r} appears twice")
        return items

    def name(self, value, where: str, within=None) -> str:
        """A string that must be one of ``within`` (a Space or a collection) when given."""
        text = self.string(value, where)
        if within is not None and text not in within:
            raise self.fail(where, f"unknown name {text[:60]!r}")
        return text

    def rational(self, value, where: str) -> Fraction:
        text = self.string(value, where)
        match = _RATIONAL.match(text)
        if not match or not text.isascii():
            raise self.fail(where, f"{text[:40]!r} is not an exact rational 'p/q' or 'p'")
        numerator, denominator = match.groups()
        if len(numerator) > MAX_DIGITS or (denominator and len(denominator) > MAX_DIGITS):
            raise self.fail(where, f"a number of more than {MAX_DIGITS:,} digits")
        if denominator is None:                 # an integer: the common case, parsed without Fraction's regex
            return Fraction(int(text))
        if int(denominator) == 0:
            raise self.fail(where, f"{text[:40]!r} divides by zero")
        return Fraction(int(text[:-len(denominator) - 1]), int(denominator))

    def integer(self, value, where: str, low: int = 0, high: int | None = None) -> int:
        if type(value) is not int:
            raise self.fail(where, f"expected a whole number, got {kind_of_value(value)}")
        if value < low:
            raise self.fail(where, f"{value} is below {low}")
        if high is not None and value > high:
            raise self.fail(where, f"{value} is above {high}")
        return value

    def sparse(self, value, where: str, space: Space) -> dict[str, Fraction]:
        """``{name: "p/q"}`` over the names of ``space``."""
        return {self.name(n, f"{where} key", space): self.rational(v, f"{where}[{n[:40]!r}]")
                for n, v in self.obj(value, where).items()}


class WeightReader:
    """Validating readers of the LINEAR, ATTN and σ-net entries of one document over its named
    ``spaces``; every attention map reads and writes the residual space, every σ-net starts and
    ends there (its hidden spaces aside)."""

    def __init__(self, r: JsonReader, value):
        self.r = r
        self.spaces: dict[str, Space] = {}
        for name, names in r.obj(value, "spaces").items():
            self.spaces[name] = Space(r.strings(names, f"spaces[{name[:40]!r}]", unique=True))
        if "residual" not in self.spaces:
            raise r.fail("spaces", "no 'residual' space")
        self.residual = self.spaces["residual"]

    def linear(self, value, where: str, source: Space | None = None, target: Space | None = None) -> Linear:
        r, spaces, residual = self.r, self.spaces, self.residual
        d = r.obj(value, where, _LINEAR)
        src = spaces[r.name(d["source"], f"{where}.source", spaces)]
        dst = spaces[r.name(d["target"], f"{where}.target", spaces)]
        for actual, wanted, end in ((src, source, "source"), (dst, target, "target")):
            if wanted is not None and actual.names != wanted.names:
                raise r.fail(f"{where}.{end}", f"{d[end][:40]!r} where the construction has "
                                               f"{'the residual space' if wanted is residual else 'another space'}")
        weights: dict[tuple[str, str], Fraction] = {}
        for k, entry in enumerate(r.list(d["weights"], f"{where}.weights")):
            at = f"{where}.weights[{k}]"
            if not (isinstance(entry, list) and len(entry) == 3):
                raise r.fail(at, "expected [source name, target name, \"p/q\"]")
            key = (r.name(entry[0], at + "[0]", src), r.name(entry[1], at + "[1]", dst))
            value = r.rational(entry[2], at + "[2]")
            weights[key] = weights[key] + value if key in weights else value
        bias: dict[str, Fraction] = {}
        for k, entry in enumerate(r.list(d["bias"], f"{where}.bias")):
            at = f"{where}.bias[{k}]"
            if not (isinstance(entry, list) and len(entry) == 2):
                raise r.fail(at, "expected [target name, \"p/q\"]")
            name = r.name(entry[0], at + "[0]", dst)
            value = r.rational(entry[1], at + "[1]")
            bias[name] = bias[name] + value if name in bias else value
        return Linear.build(src, dst, weights, bias)

    def attention(self, value, where: str) -> Attention:
        d = self.r.obj(value, where, ATTENTION_PARTS)
        return Attention(*(self.linear(d[p], f"{where}.{p}", self.residual, self.residual) for p in ATTENTION_PARTS))

    def mlp(self, value, where: str) -> MLP:
        r, residual = self.r, self.residual
        maps = r.list(value, where)
        if not maps:
            raise r.fail(where, "a feed-forward net needs at least one map")
        layers: list[Linear] = []
        for k, m in enumerate(maps):
            source = residual if k == 0 else layers[-1].target
            layers.append(self.linear(m, f"{where}[{k}]", source, residual if k == len(maps) - 1 else None))
        return MLP(tuple(layers))

    def optional(self, value, where: str, build, present: bool | None):
        """``build(value, where)``, or None for a JSON null; ``present`` says whether the
        construction has one here (None: either)."""
        if present is True and value is None:
            raise self.r.fail(where, "null, but the construction has one here")
        if present is False and value is not None:
            raise self.r.fail(where, "present, but the construction has none here (layers swapped?)")
        return None if value is None else build(value, where)


class WeightWriter:
    """Writes maps as the entries :class:`WeightReader` reads, naming every space it meets
    (the residual space is ``"residual"``, an FFN's hidden space ``<name>.hidden``)."""

    def __init__(self, residual: Space):
        self._names: dict[tuple[str, ...], str] = {residual.names: "residual"}

    def spaces(self) -> dict[str, list[str]]:
        """The ``spaces`` entry: every space written so far, by name."""
        return {name: list(names) for names, name in self._names.items()}

    def linear(self, m: Linear, name: str) -> dict:
        for space, default in ((m.source, name + ".in"), (m.target, name + ".out")):
            self._names.setdefault(space.names, default)
        return {"source": self._names[m.source.names], "target": self._names[m.target.names],
                "weights": [[a, b, number(w)] for a, b, w in m.named_weights()],
                "bias": [[b, number(w)] for b, w in m.named_bias()]}

    def attention(self, a: Attention | None, name: str) -> dict | None:
        if a is None:
            return None
        return {part: self.linear(getattr(a, part), f"{name}.{part}") for part in ATTENTION_PARTS}

    def mlp(self, m: MLP | None, name: str) -> list | None:
        if m is None:
            return None
        for k, layer in enumerate(m.layers[:-1]):
            self._names.setdefault(layer.target.names, f"{name}.hidden" if len(m.layers) == 2 else f"{name}.hidden.{k}")
        return [self.linear(layer, f"{name}.{k}") for k, layer in enumerate(m.layers)]


def sparse_vector(space: Space, vector) -> dict[str, str]:
    """The non-zero entries of ``vector`` by name, as a model file writes a card column or a seed."""
    return {n: number(v) for n, v in zip(space.names, vector) if v}
