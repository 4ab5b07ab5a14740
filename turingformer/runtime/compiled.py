"""The compiled exact inner step: a C library (``_kernel.c``) driven through :mod:`ctypes`.

:mod:`turingformer.runtime.fast` hands it whole chunks of positions. It is generic over the weights
like the Python path (any :class:`~turingformer.runtime.transformer.Transformer` whose decoder
has the shape of :mod:`turingformer.runtime.layer`), computes in int64 rationals with every
product, sum and lcm checked, scores attention exactly in 128-bit integers and compares scores
by exact 192-bit cross-multiplication (``_kernel.c`` states the invariants). Whatever it cannot
prove — a value reaching 2⁶², a weight or an encoder key beyond int64 — is *not computed*: the
kernel stops before the position (nothing of it committed) with status ``UNPROVABLE`` and the
caller continues on the unbounded exact Python path from :meth:`Kernel.state`.

Why C through ctypes (README, "The compiled step"): the library needs nothing but a C compiler at
install time (no Python headers, no build-time package such as Cython or cffi, no JIT: loading
it takes about a millisecond), C has the checked-overflow builtins and the 128-bit integers the
exact scores need, and when it is absent (no compiler, or ``TURINGFORMER_KERNEL=0``) the plain
certified Python path runs instead, with the same results.

The caches live in the kernel's memory: per self-attention layer the keys and values as int64
rows with a per-row (keys) or shared (values, while every denominator is 1) denominator, the
index's member lists as int32 arrays, and the groups; grown with ``realloc``.
"""

from __future__ import annotations

import ctypes
import glob
import math
import os
from ctypes import POINTER, c_int32, c_int64
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np
from flint import fmpq

from turingformer.runtime.hooks import decoder_hooks, output_hooks
from turingformer.runtime.rows import ROW_LIMIT, Rows
from turingformer.runtime.space import Linear

#: The C library's interface version (``tk_abi()``); a mismatch means a stale build.
ABI = 1
DONE, STOPPED, UNPROVABLE, FULL = 0, 1, 2, 3
#: Capture kinds per layer (``_kernel.c``); the hidden layers of a layer's σ-net follow HIDDEN.
(RESID_PRE, ATTN_OUT, RESID_MID, CROSS_OUT, RESID_CROSS, FFN_OUT, RESID_POST, ATTN_WINNERS, CROSS_WINNERS,
 ATTN_QUERY, CROSS_QUERY, HIDDEN) = range(12)
MAX_HIDDEN = 8
SLOTS_PER_LAYER = HIDDEN + MAX_HIDDEN
#: Counters of the kernel's stats array, by the names :func:`turingformer.runtime.fast.decode_fast` reports.
STATS = ("index: exact", "index: keys scored exactly", "uniform (zero query)", "exact scan (compiled)",
         "compiled positions", "largest cached numerator (bits)", "largest cached denominator (bits)",
         "largest exact dot product numerator (bits)")
#: Counters that are maxima, not counts.
MAXIMA = STATS[5:]

_P32, _P64 = POINTER(c_int32), POINTER(c_int64)


class _Map(ctypes.Structure):
    _fields_ = [("n_rows", c_int32), ("row_in", _P32), ("row_ptr", _P32), ("out", _P32), ("w", _P64),
                ("n_bias", c_int32), ("bias_out", _P32), ("bias", _P64), ("L", c_int64), ("n_out", c_int32)]


class _Net(ctypes.Structure):
    _fields_ = [("depth", c_int32), ("maps", POINTER(_Map))]


class _Attn(ctypes.Structure):
    _fields_ = [("m", c_int32), ("vw", c_int32), ("value_coord", _P32), ("query", _Map), ("key", _Map),
                ("value", _Map)]


class _Layer(ctypes.Structure):
    _fields_ = [("has_self", c_int32), ("self", _Attn), ("has_cross", c_int32), ("cross", _Attn),
                ("n_enc", c_int32), ("enc_kn", _P64), ("enc_kd", _P64), ("enc_vn", _P64), ("enc_vd", _P64),
                ("has_ffn", c_int32), ("ffn", _Net)]


class _Program(ctypes.Structure):
    _fields_ = [("d", c_int32), ("clip", c_int32), ("n_pos", c_int32), ("pos_coord", _P32), ("pos_power", _P32),
                ("n_layers", c_int32), ("layers", POINTER(_Layer)), ("output", _Net), ("seed_n", _P64),
                ("seed_d", _P64), ("n_stop", c_int32), ("stop", _P32)]


class _Out(ctypes.Structure):
    _fields_ = [("rows", c_int64), ("yn", _P64), ("yd", _P64), ("slot", _P32), ("num", POINTER(_P64)),
                ("den", POINTER(_P64)), ("win", _P64), ("win_cap", c_int64), ("win_used", c_int64)]


_LIB: ctypes.CDLL | None | bool = False


def library() -> ctypes.CDLL | None:
    """The compiled library, or None when it is not built (or ``TURINGFORMER_KERNEL=0``)."""
    global _LIB
    if _LIB is False:
        _LIB = None
        if os.environ.get("TURINGFORMER_KERNEL", "1") != "0":
            here = Path(__file__).resolve().parent
            for path in sorted(glob.glob(str(here / "_kernel*.so")) + glob.glob(str(here / "_kernel*.pyd"))):
                try:
                    lib = ctypes.CDLL(path)
                except OSError:
                    continue
                if lib.tk_abi() == ABI:
                    _declare(lib)
                    _LIB = lib
                    break
    return _LIB


def available() -> bool:
    """True when the compiled step can run here."""
    return library() is not None


def _declare(lib: ctypes.CDLL) -> None:
    lib.tk_new.restype = ctypes.c_void_p
    lib.tk_new.argtypes = [POINTER(_Program)]
    lib.tk_free.argtypes = [ctypes.c_void_p]
    lib.tk_run.restype = c_int64
    lib.tk_run.argtypes = [ctypes.c_void_p, POINTER(_Out), _P32]
    lib.tk_position.restype = c_int64
    lib.tk_position.argtypes = [ctypes.c_void_p]
    for name in ("tk_y", "tk_cache_array"):
        getattr(lib, name).restype = _P64
    lib.tk_y.argtypes = [ctypes.c_void_p, c_int32]
    lib.tk_cache_array.argtypes = [ctypes.c_void_p, c_int32, c_int32]
    lib.tk_stats.restype = _P64
    lib.tk_stats.argtypes = [ctypes.c_void_p]
    for name in ("tk_cache_n", "tk_cache_sum_n"):
        getattr(lib, name).restype = c_int64
        getattr(lib, name).argtypes = [ctypes.c_void_p, c_int32]
    lib.tk_index_new.restype = ctypes.c_void_p
    lib.tk_index_new.argtypes = [c_int32]
    lib.tk_index_add.argtypes = [ctypes.c_void_p, _P64, c_int64]
    lib.tk_index_decide.restype = c_int64
    lib.tk_index_decide.argtypes = [ctypes.c_void_p, _P64, c_int64, c_int32, _P64, c_int64, _P64]
    lib.tk_index_free.argtypes = [ctypes.c_void_p]


class NotCompilable(Exception):
    """The weights, the encoder output or the seed hold a number beyond the kernel's int64 range."""


# ---------------------------------------------------------------------------------- the program
def _fit(x: int) -> int:
    if not -ROW_LIMIT < x < ROW_LIMIT:
        raise NotCompilable(f"{x} does not fit the compiled kernel's int64 range")
    return x


class _Keep:
    """Numpy arrays the C structures point into, kept alive as long as the program."""

    def __init__(self):
        self.arrays: list = []

    def i32(self, values) -> ctypes._Pointer:
        a = np.ascontiguousarray(np.array(values, dtype=np.int32).reshape(-1))
        self.arrays.append(a)
        return a.ctypes.data_as(_P32)

    def i64(self, values) -> ctypes._Pointer:
        a = np.ascontiguousarray(np.array([_fit(int(v)) for v in values], dtype=np.int64))
        self.arrays.append(a)
        return a.ctypes.data_as(_P64)


def _map(keep: _Keep, linear: Linear, out: dict[int, int] | None = None) -> _Map:
    """``x ↦ x W + b`` as L·W, L·b (integers), outputs optionally re-indexed by ``out``."""
    weights = [(i, (o if out is None else out[o]), w) for i, o, w in linear.weights if out is None or o in out]
    bias = [((o if out is None else out[o]), b) for o, b in linear.bias if out is None or o in out]
    L = math.lcm(1, *(w.denominator for _, _, w in weights), *(b.denominator for _, b in bias))
    rows: dict[int, list[tuple[int, int]]] = {}
    for i, o, w in weights:
        rows.setdefault(i, []).append((o, int(w * L)))
    order = sorted(rows)
    ptr = [0]
    for i in order:
        ptr.append(ptr[-1] + len(rows[i]))
    return _Map(len(order), keep.i32(order), keep.i32(ptr), keep.i32([o for i in order for o, _ in rows[i]]),
                keep.i64([w for i in order for _, w in rows[i]]), len(bias), keep.i32([o for o, _ in bias]),
                keep.i64([int(b * L) for _, b in bias]), _fit(L), len(out) if out is not None else len(linear.target))


def _net(keep: _Keep, mlp) -> _Net:
    if len(mlp.layers) - 1 > MAX_HIDDEN:
        raise NotCompilable(f"a σ-net with {len(mlp.layers) - 1} hidden layers (the kernel takes {MAX_HIDDEN})")
    maps = (_Map * len(mlp.layers))(*[_map(keep, layer) for layer in mlp.layers])
    keep.arrays.append(maps)
    return _Net(len(mlp.layers), maps)


def _attn(keep: _Keep, attn) -> _Attn:
    support = {s: k for k, s in enumerate(attn.support)}
    values = {s: k for k, s in enumerate(attn.value_support)}
    return _Attn(len(support), len(values), keep.i32(attn.value_support), _map(keep, attn.query, support),
                 _map(keep, attn.key, support), _map(keep, attn.value, values))


def _rational_rows(keep: _Keep, rows: Sequence[Sequence[Fraction]], width: int):
    """Rows of Fractions as (numerators [n*width], common denominators [n])."""
    nums, dens = [], []
    for row in rows:
        D = math.lcm(1, *(Fraction(v).denominator for v in row))
        nums += [int(Fraction(v) * D) for v in row]
        dens.append(D)
    return keep.i64(nums), keep.i64(dens)


class Program:
    """The C description of a model's decoder and one input's encoder output (raises
    :class:`NotCompilable` when a number is beyond int64)."""

    def __init__(self, model, encoded, stop_zero: Sequence[int] = ()):
        keep = self.keep = _Keep()
        layers = []
        for l, layer in enumerate(model.decoder):
            has_self = not layer.attn.is_trivial()
            has_cross = layer.cross is not None and not layer.cross.is_trivial()
            enc = (0, None, None, None, None)
            if has_cross:
                keys, values = encoded.cross_keys[l], encoded.cross_values[l]
                kn, kd = _rational_rows(keep, keys, len(layer.cross.support))
                vn, vd = _rational_rows(keep, values, len(layer.cross.value_support))
                enc = (len(keys), kn, kd, vn, vd)
            layers.append(_Layer(
                int(has_self), _attn(keep, layer.attn) if has_self else _Attn(), int(has_cross),
                _attn(keep, layer.cross) if has_cross else _Attn(), *enc,
                int(layer.ffn is not None), _net(keep, layer.ffn) if layer.ffn is not None else _Net()))
        self.layers = (_Layer * len(layers))(*layers)
        space = model.space
        powers = model.positional.powers
        seed = [Fraction(v) for v in model.seed]
        self.struct = _Program(
            model.d, int(model.score == "clipped"), len(powers), keep.i32([space.index(n) for n, _ in powers]),
            keep.i32([e for _, e in powers]), len(layers), self.layers, _net(keep, model.output),
            keep.i64([v.numerator for v in seed]), keep.i64([v.denominator for v in seed]),
            len(stop_zero), keep.i32(list(stop_zero)))
        self.model = model
        self.encoded = encoded


# ---------------------------------------------------------------------------------- captures
@dataclass(frozen=True)
class Slot:
    """One buffer a kernel call fills: ``kind`` is ``"vector"`` (per-coordinate rationals, width d),
    ``"row"`` (a common-denominator row: a query or a hidden layer) or ``"winners"``."""

    layer: int
    code: int
    kind: str
    width: int


@dataclass(frozen=True)
class Capture:
    """How one hook is read after a kernel call: ``kind`` is ``vector``, ``hidden``, ``winners``,
    ``pattern`` (from the winners), ``scores`` (from the query row and the keys) or ``y``; ``slot``
    indexes the buffers; ``head`` is ``ATTN_WINNERS`` or ``CROSS_WINNERS`` for an attention's hooks."""

    kind: str
    slot: int | None = None
    layer: int = 0
    head: int = 0


def capture_plan(model, wanted) -> tuple[dict[str, Capture] | None, list[Slot]]:
    """The buffers that capture the ``wanted`` hooks (``None``: all) and how each hook is read from
    them: ``(captures, slots)``; ``(None, [])`` when a wanted hook is not one the model has."""
    slots: list[Slot] = []
    index: dict[tuple[int, int], int] = {}

    def slot(layer: int, code: int, kind: str, width: int) -> int:
        if (layer, code) not in index:
            index[layer, code] = len(slots)
            slots.append(Slot(layer, code, kind, width))
        return index[layer, code]

    d = model.d
    catalogue: dict[str, tuple] = {}          # name -> (kind, layer, code, width, head)
    codes = {"resid_pre": RESID_PRE, "resid_mid": RESID_MID, "resid_cross": RESID_CROSS, "ffn_out": FFN_OUT,
             "resid_post": RESID_POST}
    for l, (hooks, layer) in enumerate(zip(decoder_hooks(model), model.decoder)):
        for field, code in codes.items():
            if getattr(hooks, field):
                catalogue[getattr(hooks, field)] = ("vector", l, code, d, 0)
        for att, head, winners, query, out in ((hooks.attn, layer.attn, ATTN_WINNERS, ATTN_QUERY, ATTN_OUT),
                                               (hooks.cross, layer.cross, CROSS_WINNERS, CROSS_QUERY, CROSS_OUT)):
            if att is None:
                continue
            catalogue[att.out] = ("vector", l, out, d, 0)
            catalogue[att.winners] = ("winners", l, winners, 0, winners)
            catalogue[att.pattern] = ("pattern", l, winners, 0, winners)
            if att.scores:
                catalogue[att.scores] = ("scores", l, query, len(head.support), winners)
        for k, name in enumerate(hooks.ffn_hidden):
            catalogue[name] = ("hidden", l, HIDDEN + k, layer.ffn.hidden_sizes[k], 0)
    out = output_hooks(model)
    for k, name in enumerate(out.hidden):
        catalogue[name] = ("hidden", len(model.decoder), HIDDEN + k, model.output.hidden_sizes[k], 0)
    if wanted is not None and not set(wanted) <= set(catalogue) | {out.y}:
        return None, []
    buffers = {"vector": "vector", "hidden": "row", "scores": "row", "winners": "winners", "pattern": "winners"}
    captures = {name: Capture(kind, slot(l, code, buffers[kind], width), l, head)
                for name, (kind, l, code, width, head) in catalogue.items() if wanted is None or name in wanted}
    if wanted is None or out.y in wanted:
        captures[out.y] = Capture("y")
    return captures, slots


# ---------------------------------------------------------------------------------- the kernel
class Kernel:
    """One decoding in the compiled kernel: its C state, and the buffers one call writes."""

    def __init__(self, program: Program, slots: Sequence[Slot]):
        self.lib = library()
        self.program = program
        self.handle = self.lib.tk_new(ctypes.byref(program.struct))
        if not self.handle:
            raise MemoryError("the compiled kernel could not allocate its state")
        self.slots = list(slots)
        n_layers = len(program.model.decoder)
        table = np.full((n_layers + 1) * SLOTS_PER_LAYER, -1, dtype=np.int32)
        for k, s in enumerate(self.slots):
            table[s.layer * SLOTS_PER_LAYER + s.code] = k
        self.table = table
        self.rows = 0
        self.win_cap = 0

    def __del__(self):
        handle = getattr(self, "handle", None)
        if handle:
            self.lib.tk_free(handle)
            self.handle = None

    def _buffers(self, rows: int) -> None:
        d = self.program.model.d
        self.rows = rows
        self.yn = np.empty((rows, d), dtype=np.int64)
        self.yd = np.empty((rows, d), dtype=np.int64)
        self.num, self.den = [], []
        for s in self.slots:
            if s.kind == "vector":
                self.num.append(np.empty((rows, s.width), dtype=np.int64))
                self.den.append(np.empty((rows, s.width), dtype=np.int64))
            elif s.kind == "row":
                self.num.append(np.empty((rows, s.width), dtype=np.int64))
                self.den.append(np.empty(rows, dtype=np.int64))
            else:
                self.num.append(np.empty((rows, 2), dtype=np.int64))
                self.den.append(np.empty(1, dtype=np.int64))
        self.win_cap = max(self.win_cap, 4 * rows)
        self.win = np.empty(self.win_cap, dtype=np.int64)
        n = max(1, len(self.slots))
        self.num_ptrs = (_P64 * n)(*[a.ctypes.data_as(_P64) for a in self.num])
        self.den_ptrs = (_P64 * n)(*[a.ctypes.data_as(_P64) for a in self.den])

    def run(self, rows: int) -> tuple[int, int]:
        """Decode up to ``rows`` positions: ``(rows written, status)``; the rows are in ``yn``/``yd``
        and the slot buffers until the next call."""
        if rows > self.rows:
            self._buffers(rows)
        out = _Out(rows, self.yn.ctypes.data_as(_P64), self.yd.ctypes.data_as(_P64),
                   self.table.ctypes.data_as(_P32) if self.slots else None, self.num_ptrs, self.den_ptrs,
                   self.win.ctypes.data_as(_P64), self.win_cap, 0)
        status = c_int32(0)
        done = self.lib.tk_run(self.handle, ctypes.byref(out), ctypes.byref(status))
        if status.value == FULL:            # winners overflowed the buffer: larger next time
            self.win_cap *= 4
            self.win = np.empty(self.win_cap, dtype=np.int64)
        elif status.value < 0:
            raise MemoryError("the compiled kernel ran out of memory")
        return int(done), status.value

    # -- reading the state
    @property
    def position(self) -> int:
        return int(self.lib.tk_position(self.handle))

    def stats(self) -> dict[str, int]:
        raw = self.lib.tk_stats(self.handle)
        return {name: int(raw[k]) for k, name in enumerate(STATS)}

    def _array(self, layer: int, which: int, shape) -> np.ndarray | None:
        ptr = self.lib.tk_cache_array(self.handle, layer, which)
        if not ptr or not math.prod(shape):
            return None if not ptr else np.zeros(shape, dtype=np.int64)
        return np.ctypeslib.as_array(ptr, shape=shape)

    def keys(self, layer: int) -> tuple[np.ndarray, np.ndarray]:
        """Layer ``layer``'s committed keys (numerators [n, m], denominators [n]): views of the
        kernel's memory, valid until the next :meth:`run`."""
        attn = self.program.model.decoder[layer].attn
        n, m = int(self.lib.tk_cache_n(self.handle, layer)), len(attn.support)
        return self._array(layer, 0, (n, m)), self._array(layer, 1, (n,))

    def state(self) -> "KernelState":
        """Everything the Python path needs to continue the decoding (copies)."""
        model = self.program.model
        d = model.d
        yn = np.ctypeslib.as_array(self.lib.tk_y(self.handle, 0), shape=(d,))
        yd = np.ctypeslib.as_array(self.lib.tk_y(self.handle, 1), shape=(d,))
        y = {c: fmpq(int(n), int(q)) for c, (n, q) in enumerate(zip(yn.tolist(), yd.tolist())) if n}
        layers = []
        for l, layer in enumerate(model.decoder):
            if layer.attn.is_trivial():
                layers.append(None)
                continue
            m, vw = len(layer.attn.support), len(layer.attn.value_support)
            n = int(self.lib.tk_cache_n(self.handle, l))
            sum_n = int(self.lib.tk_cache_sum_n(self.handle, l))
            sn, sd = self._array(l, 4, (vw,)), self._array(l, 5, (vw,))
            total = {c: fmpq(int(a), int(b)) for c, a, b in zip(layer.attn.value_support, sn.tolist(), sd.tolist())
                     if a} if vw else {}
            keys = values = None
            if m:
                keys = Rows(m, max(n, 1))
                kn, kd = self._array(l, 0, (n, m)), self._array(l, 1, (n,))
                keys.append_integers(kn, kd)
                values = Rows(vw, max(n, 1))
                vn = self._array(l, 2, (n, vw))
                vd = self._array(l, 3, (n,))
                values.append_integers(vn if vn is not None else np.zeros((n, vw), dtype=np.int64), vd)
            layers.append(KernelCache(n, keys, values, total, sum_n))
        return KernelState(self.position, y, tuple(layers), self.stats())


@dataclass(frozen=True)
class KernelCache:
    """One self-attention's committed state: ``n`` positions, keys and values (None with an empty
    support), the running sum of the first ``sum_n`` values."""

    n: int
    keys: Rows | None
    values: Rows | None
    total: dict
    sum_n: int


@dataclass(frozen=True)
class KernelState:
    """The kernel's state before position ``i``: y_i (sparse fmpq) and every layer's cache."""

    i: int
    y: dict
    layers: tuple
    stats: dict


class CompiledIndex:
    """The kernel's exact key index on its own (its unit tests compare it with the definition):
    :meth:`add` commits a key, :meth:`decide` returns every key of least |⟨q, k⟩|."""

    def __init__(self, m: int):
        self.lib = library()
        self.m = m
        self.handle = self.lib.tk_index_new(m)
        self.n = 0

    def __del__(self):
        if getattr(self, "handle", None):
            self.lib.tk_index_free(self.handle)
            self.handle = None

    @staticmethod
    def _integers(row) -> tuple[np.ndarray, int]:
        """(N, D) with row = N / D (entries: Fractions, ints or fmpq)."""
        row = [Fraction(int(v.p), int(v.q)) if isinstance(v, fmpq) else Fraction(v) for v in row]
        D = math.lcm(1, *(v.denominator for v in row))
        return np.array([int(v * D) for v in row], dtype=object), D

    def add(self, key) -> bool:
        """Commit a key (rationals); False when it is beyond the kernel's range (not added)."""
        N, D = self._integers(key)
        if not all(-ROW_LIMIT < int(v) < ROW_LIMIT for v in N) or D >= ROW_LIMIT:
            return False
        row = N.astype(np.int64)
        if not self.lib.tk_index_add(self.handle, row.ctypes.data_as(_P64), D):
            return False
        self.n += 1
        return True

    def decide(self, query, clip: bool = False):
        """(winners, keys scored): the sorted winners, ``"all"`` when every key ties, or None when
        the kernel could not prove the decision (the query beyond its range included)."""
        N, D = self._integers(query)
        if not all(-ROW_LIMIT < int(v) < ROW_LIMIT for v in N) or D >= ROW_LIMIT:
            return None, 0
        q = N.astype(np.int64)
        out = np.empty(max(self.n, 1), dtype=np.int64)
        scored = c_int64(0)
        count = self.lib.tk_index_decide(self.handle, q.ctypes.data_as(_P64), D, int(clip),
                                         out.ctypes.data_as(_P64), len(out), ctypes.byref(scored))
        if count == -2:
            return None, 0
        return ("all" if count == -1 else tuple(out[:count].tolist())), scored.value
