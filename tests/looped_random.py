"""The random program generators of looped spec §9.5 (fixed seeds in the tests and benchmarks)."""

from __future__ import annotations

import random

from turingformer.programs import FLEQ_FUNCTIONS, FleqH, FleqInstruction, SubleqH, SubleqInstruction, SubleqU


def _clip(v: int, B: int) -> int:
    return max(-B, min(B - 1, v))


def subleq_h(r: random.Random, *, max_cells: int = 16, max_bits: int = 8, max_size: int = 16) -> SubleqH:
    M, N, s = r.randint(1, max_cells), r.randint(2, max_bits), r.randint(1, max_size)
    B = 2 ** (N - 1)

    def word() -> int:
        u = r.random()
        if u < 0.5:
            return r.randint(-B, B - 1)
        if u < 0.75:
            return _clip(r.randint(-3, 3), B)
        return _clip(r.choice((-B, -B + 1, B - 1, B - 2, 0, 1, -1)), B)

    code = [SubleqInstruction(r.randrange(M), r.randrange(M), r.randrange(s) if r.random() < 0.95 else s)
            for _ in range(s)]
    pc = 0 if r.random() < 0.8 else r.randint(0, s)
    return SubleqH(bits=N, memory=tuple(word() for _ in range(M)), code=tuple(code), pc=pc, name="random")


def fleq_h(r: random.Random) -> FleqH:
    M, N, s = r.randint(1, 10), r.randint(2, 6), r.randint(1, 10)
    B = 2 ** (N - 1)

    def word() -> int:
        return r.randint(-B, B - 1) if r.random() < 0.6 else _clip(r.choice((-B, B - 1, 0, 1, -1)), B)

    code = [FleqInstruction(r.choice(FLEQ_FUNCTIONS), *(r.randrange(M) for _ in range(4)),
                            r.randrange(s) if r.random() < 0.9 else s) for _ in range(s)]
    return FleqH(bits=N, memory=tuple(word() for _ in range(M)), code=tuple(code), name="random")


def subleq_u(r: random.Random) -> SubleqU:
    N = r.randint(4, 8)
    B = 2 ** (N - 1)
    M = r.randint(4, min(B, 24))
    k = r.randint(1, max(1, (M - 1) // 3))
    mem = [r.randint(-3, min(B - 1, M)) for _ in range(M)]
    for i in range(k):
        mem[3 * i] = r.randrange(M)
        mem[3 * i + 1] = r.randrange(3 * k) if r.random() < 0.3 else r.randrange(M)
        mem[3 * i + 2] = 3 * r.randrange(k) if r.random() < 0.85 else r.randint(-2, min(M, B - 1))
    return SubleqU(bits=N, memory=tuple(mem), pc=3 * r.randrange(k), name="random",
                   instruction_cells=tuple(3 * i for i in range(k)))
