"""FLEQ-H: ``mem[c] = f_op(mem[a], mem[b]); if mem[f] ≤ 0 goto p`` as a looped transformer (spec §7).

Only the functions the program uses are compiled (``FleqH.functions``); ``prog:op`` is the index
in that list. Columns as SUBLEQ-H (§5.1); the halt column is ``mov`` (or the first function)
with a = b = c = f = H and p = next = s, and it is never written (it is not a memory column).

Blocks (one head each; x = mem[a], y = mem[b]):

0. fetch + decode, T = reg:pc + M: cur:* ← the seven fields; ``tmp:gate`` = [pos = c ∧ kind:mem]
   (G7) and the one-hot ``tmp:op=<name>`` = [cur:op = k] (G7 without gates).
1. read x, T = cur:a; FFN clears cur:a.
2. read y, T = cur:b; FFN: −gate·mem (G4) plus, per function, its σ-terms (§7.3) gated by
   gate ∧ op=k, so the column c receives f_op(x, y) and every other column 0. With ``mul`` it
   also forms ``tmp:prod`` = [op = mul]·(x+B)(y+B) as Σ_{v=1}^{W−1} (y+B)·[x+B ≥ v] (G6) and
   defers the clears to block 3.
3. (only with ``mul``, FFN only) writes wrap(prod − Bx − By − B²) = wrap(x·y) (G4 + G8 over the
   true range [−B(B−1), B²] when op = mul) gated by gate ∧ op=mul, and clears.
4. read the flag cell, T = cur:f (after the write); Δpc = next − pc + [z ≤ 0]·(p − next).

Per-loop invariant: X_t = E(mem_t, pc_t) (:func:`encode`).
"""

from __future__ import annotations

from typing import Callable, Sequence

from ...errors import ProgramSizeError
from ...programs import FleqH
from ...runtime.looped import LoopBlock, LoopedTransformer
from ...runtime.space import Space, Vector
from .blocks import branch_if_nonpositive, write_gate
from .gadgets import FFN, D, Form, Ranges, address_head, clear, constant, equal, passing, relu, select, step, wrap
from .layout import FLEQ_FIELDS, KIND, ONE, POS, column, fleq_dims
from .limits import check_columns, where

#: The most σ units the functions whose tables grow as 2^N (mul, shr) may take together:
#: ``mul`` fits up to N = 12 (10,239 units, about 2 s to build and a 4 MB model), ``shr`` up to 15.
MAX_TABLE_UNITS = 16_384
#: The functions whose σ units double with every bit, and their count at N bits (:func:`_apply`,
#: block 3; B = 2^(N−1), W = 2^N): ``mul``'s product table Σ_{v=1}^{W−1} (2 units each, G6) and
#: the linear part and B thresholds of the product's wrap over [−B(B−1), B²], 5·2^(N−1) − 1 in
#: all; ``shr``'s B − 1 thresholds and one constant, 2^(N−1).
TABLES: dict[str, Callable[[int], int]] = {"mul": lambda N: (5 << (N - 1)) - 1, "shr": lambda N: 1 << (N - 1)}


def table_units(name: str, N: int) -> int:
    """The σ units of function ``name`` at N bits that grow as 2^N (0 for the other functions)."""
    return TABLES[name](N) if name in TABLES else 0


def widest(name: str) -> int:
    """The largest N at which ``name`` alone stays within :data:`MAX_TABLE_UNITS`."""
    N = 2
    while table_units(name, N + 1) <= MAX_TABLE_UNITS:
        N += 1
    return N


def check_size(program: FleqH) -> None:
    """Refuse, before building, a FLEQ-H program whose function tables (``mul``, ``shr``: 2^N σ
    units, :func:`table_units`) exceed :data:`MAX_TABLE_UNITS` or whose punch card
    (n = M + s + 1) is too large (:mod:`.limits`)."""
    wide = [name for name in program.functions if name in TABLES]
    units = sum(table_units(name, program.bits) for name in wide)
    if units > MAX_TABLE_UNITS:
        limits = ", ".join(f"{name} up to N = {widest(name)}" for name in wide)
        raise ProgramSizeError(
            f"FLEQ-H compiles {' and '.join(wide)} as tables of σ units that double with every bit: "
            f"{units:,} units at N = {program.bits}, more than the {MAX_TABLE_UNITS:,} this construction "
            f"builds ({limits})", location=where(program),
            hint=f"lower .bits to {min(widest(name) for name in wide)}, or compute {' and '.join(wide)} with "
                 f"loops of add and sub")
    check_columns(program, "FLEQ-H", program.cells + program.size + 1,
                  f"M + s + 1 = {program.cells:,} + {program.size:,} + 1",
                  hint="split the program, or use fewer cells and instructions")


def ranges(M: int, N: int, s: int, functions: Sequence[str]) -> Ranges:
    B, W, H = 2 ** (N - 1), 2 ** N, M + s
    word, bit = (-B, B - 1), (0, 1)
    fields = {"op": (0, len(functions) - 1), "a": (0, H), "b": (0, H), "c": (0, H), "f": (0, H),
              "p": (0, s), "next": (0, s)}
    out = {ONE: (1, 1), POS: (0, H), KIND: bit, "mem:value": word, "reg:pc": (0, s), "tmp:gate": bit,
           "tmp:x": word, "tmp:y": word, "tmp:z": word, "tmp:prod": (0, (W - 1) ** 2)}
    for f, r in fields.items():
        out[f"prog:{f}"] = out[f"cur:{f}"] = r
    out.update({f"tmp:op={name}": bit for name in functions})
    return out


def _apply(ffn: FFN, name: str, N: int) -> None:
    """The σ-terms of f_name(x, y) (spec §7.3), gated by gate ∧ op=name, read out into mem:value."""
    B, W = 2 ** (N - 1), 2 ** N
    g = ("tmp:gate", f"tmp:op={name}")
    x, y, out = D("tmp:x"), D("tmp:y"), {"mem:value": 1}

    def lin(label: str, v: Form) -> None:
        passing(ffn, f"{name}.{label}", v, out, gates=g)

    def wrapped(v: Form) -> None:
        lin("lin", v)
        wrap(ffn, f"{name}.wrap", v, N, out, gates=g)

    if name == "sub":
        wrapped(y - x)
    elif name == "add":
        wrapped(x + y)
    elif name == "shl":
        wrapped(2 * x)
    elif name == "neg":
        wrapped(-x)
    elif name == "mov":
        lin("lin", x)
    elif name == "min":
        lin("lin", y)
        relu(ffn, f"{name}.relu", y - x, {"mem:value": -1}, gates=g)
    elif name == "max":
        lin("lin", y)
        relu(ffn, f"{name}.relu", x - y, out, gates=g)
    elif name == "lt":
        step(ffn, f"{name}.step", y - x, out, gates=g)
    elif name == "eq":
        equal(ffn, f"{name}.eq", y - x, out, gates=g)
    elif name == "shr":
        constant(ffn, f"{name}.const", -B // 2, out, g)
        for t in range(-B + 2, B - 1, 2):
            step(ffn, f"{name}.t{t}", x - t + 1, out, gates=g)
    elif name == "mul":
        # block 2 part: tmp:prod = [op = mul]·x'y', x' = x + B, y' = y + B (the write is block 3's)
        for v in range(1, W):
            select(ffn, f"mul.p{v}", y + B, x + B - v, {"tmp:prod": 1}, gates=("tmp:op=mul",))
    else:
        raise ValueError(f"no FLEQ function {name!r}")


def build(M: int, N: int, s: int, functions: Sequence[str]) -> LoopedTransformer:
    """FLEQ-H for M cells of N bits, s instructions and the given function list."""
    functions = tuple(functions)
    space, rng = Space(fleq_dims(functions)), ranges(M, N, s, functions)
    B = 2 ** (N - 1)
    has_mul = "mul" in functions

    fetch = address_head(space, D("reg:pc") + M, {f"prog:{f}": f"cur:{f}" for f in FLEQ_FIELDS})
    ffn0 = FFN(space, rng, "ffn0")
    write_gate(ffn0, "cur:c")
    for k, name in enumerate(functions):
        equal(ffn0, f"op={name}", D("cur:op") - k, {f"tmp:op={name}": 1})

    read_x = address_head(space, D("cur:a"), {"mem:value": "tmp:x"})
    ffn1 = FFN(space, rng, "ffn1")
    clear(ffn1, "cur:a")

    read_y = address_head(space, D("cur:b"), {"mem:value": "tmp:y"})
    ffn2 = FFN(space, rng, "ffn2")
    passing(ffn2, "minus_mem", D("mem:value"), {"mem:value": -1}, gates=("tmp:gate",))
    for name in functions:
        _apply(ffn2, name, N)
    transients = ("tmp:x", "tmp:y", "tmp:gate", *(f"tmp:op={name}" for name in functions),
                  "cur:b", "cur:c", "cur:op")
    blocks = [LoopBlock((fetch,), ffn0.build()), LoopBlock((read_x,), ffn1.build())]
    if has_mul:
        blocks.append(LoopBlock((read_y,), ffn2.build()))
        ffn3 = FFN(space, rng, "ffn3")
        product = D("tmp:prod") - B * D("tmp:x") - B * D("tmp:y") - B * B
        true = (-B * (B - 1), B * B)
        g = ("tmp:gate", "tmp:op=mul")
        passing(ffn3, "mul.lin", product, {"mem:value": 1}, gates=g, value_range=true)
        wrap(ffn3, "mul.wrap", product, N, {"mem:value": 1}, gates=g, value_range=true)
        for dim in (*transients, "tmp:prod"):
            clear(ffn3, dim)
        blocks.append(LoopBlock((), ffn3.build()))
    else:
        for dim in transients:
            clear(ffn2, dim)
        blocks.append(LoopBlock((read_y,), ffn2.build()))

    read_z = address_head(space, D("cur:f"), {"mem:value": "tmp:z"})
    ffn4 = FFN(space, rng, "ffn4")
    branch_if_nonpositive(ffn4, "cur:p", "tmp:z")
    for dim in ("cur:f", "cur:p", "cur:next", "tmp:z"):
        clear(ffn4, dim)
    blocks.append(LoopBlock((read_z,), ffn4.build()))
    return LoopedTransformer(space, tuple(blocks))


def encode(space: Space, program: FleqH, pc: int, memory: Sequence[int]) -> tuple[Vector, ...]:
    """E(memory, pc) for ``program``'s code (spec §7.1; transients 0)."""
    M, s, functions = program.cells, program.size, program.functions
    H = M + s
    cols = [column(space, {ONE: 1, POS: i, KIND: 1, "mem:value": v, "reg:pc": pc}) for i, v in enumerate(memory)]
    for k, ins in enumerate(program.code):
        cols.append(column(space, {ONE: 1, POS: M + k, "prog:op": functions.index(ins.op), "prog:a": ins.a,
                                   "prog:b": ins.b, "prog:c": ins.c, "prog:f": ins.f, "prog:p": ins.p,
                                   "prog:next": k + 1, "reg:pc": pc}))
    halt_op = functions.index("mov") if "mov" in functions else 0
    cols.append(column(space, {ONE: 1, POS: H, "prog:op": halt_op, "prog:a": H, "prog:b": H, "prog:c": H,
                               "prog:f": H, "prog:p": s, "prog:next": s, "reg:pc": pc}))
    return tuple(cols)
