"""Compact exact storage for the fast decoder's caches: rows of rationals in typed arrays.

A cached key or value row r = (r_0, …, r_{w−1}) of rationals is stored as integers N_e over one
positive denominator D (r_e = N_e / D, D the lcm of the entries' denominators, so N/D is the
row exactly):

* in an ``int64`` numerator matrix and an ``int64`` denominator column when every |N_e| and D
  are below 2⁶² (the proven bound: sums of two such numbers do not overflow int64, and the
  compiled kernel's products of two are exact in int128);
* otherwise, **decided per row**, as a tuple of exact ``fmpq`` in :attr:`Rows.big`, its
  denominator slot holding the marker 0. Nothing is ever rounded or wrapped.

While every row's denominator is 1 (typical for value rows) the denominator column is not
stored at all (a *shared* denominator). Arrays grow in place (``ndarray.resize``: ``realloc``,
which moves large blocks with ``mremap`` instead of copying them), so growth never holds two
copies of a cache. A row costs 8·(w + 1) bytes (8·w with the shared denominator).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from flint import fmpq

#: Integers stored in int64 rows are below this in magnitude (see the module docstring).
ROW_LIMIT = 2 ** 62


def common_denominator(row: Sequence[fmpq]) -> tuple[int, list[int]]:
    """(D, N) with row = N / D exactly: D the lcm of the denominators, N integers."""
    D = 1
    for x in row:
        q = x.q
        if q != 1:
            D = math.lcm(D, int(q))
    if D == 1:
        return 1, [int(x.p) for x in row]
    return D, [int(x.p) * (D // int(x.q)) for x in row]


class Rows:
    """Append-only rows of ``width`` exact rationals (see the module docstring)."""

    __slots__ = ("width", "n", "num", "den", "big")

    def __init__(self, width: int, capacity: int = 256):
        self.width = width
        self.n = 0
        self.num = np.zeros((max(capacity, 1), width), dtype=np.int64)
        self.den: np.ndarray | None = None
        self.big: dict[int, tuple[fmpq, ...]] = {}

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return f"Rows(width={self.width}, n={self.n:,}, big={len(self.big)}, bytes={self.nbytes:,})"

    @property
    def nbytes(self) -> int:
        """Bytes held for the rows stored so far (not counting spare capacity or big rows)."""
        return self.n * 8 * (self.width + (self.den is not None))

    def _grow(self, capacity: int) -> None:
        self.num.resize((capacity, self.width), refcheck=False)
        if self.den is not None:
            self.den.resize(capacity, refcheck=False)

    def reserve(self, n: int) -> None:
        """Make room for ``n`` rows in all (capacity doubles)."""
        if n > len(self.num):
            self._grow(max(n, 2 * len(self.num)))

    def _per_row_denominators(self) -> np.ndarray:
        if self.den is None:
            self.den = np.ones(len(self.num), dtype=np.int64)
        return self.den

    def append(self, row: Sequence[fmpq]) -> int:
        """Store one row (exact rationals); returns its index."""
        j = self.n
        self.reserve(j + 1)
        D, N = common_denominator(row)
        if D < ROW_LIMIT and all(-ROW_LIMIT < v < ROW_LIMIT for v in N):
            self.num[j] = N
            if D != 1 or self.den is not None:
                self._per_row_denominators()[j] = D
        else:
            self._per_row_denominators()[j] = 0
            self.big[j] = tuple(row)
        self.n = j + 1
        return j

    def append_integers(self, numerators: np.ndarray, denominators: np.ndarray | None) -> None:
        """Store rows already in int64 form (below :data:`ROW_LIMIT`; ``None``: denominators 1)."""
        k = len(numerators)
        self.reserve(self.n + k)
        self.num[self.n:self.n + k] = numerators
        if denominators is not None and (self.den is not None or (denominators != 1).any()):
            self._per_row_denominators()[self.n:self.n + k] = denominators
        elif self.den is not None:
            self.den[self.n:self.n + k] = 1
        self.n += k

    def __getitem__(self, j: int) -> tuple[fmpq, ...]:
        """Row ``j`` as exact rationals."""
        if self.den is not None:
            D = int(self.den[j])
            if D == 0:
                return self.big[j]
            if D != 1:
                return tuple(fmpq(v, D) for v in self.num[j].tolist())
        return tuple(fmpq(v) for v in self.num[j].tolist())
