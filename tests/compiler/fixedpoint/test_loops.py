"""The FLEQ-M construction end to end (linear-algebra spec §3, §5): random programs over every
function (k = 1..4, N = 16 and 24, fixed seeds) agree with the interpreter after every loop, card
for card, with one winner per head; every example runs to its halt and one more loop (a
fixpoint) and meets its ``.expect``; the per-block invariants hold from random states; the integer
path equals the Fraction runtime, and the folded path the plain one; the sizes of §3's table; the
first divergence of a planted bug is named down to the block, column, dimension and entry."""

from __future__ import annotations

import random

import numpy as np
import pytest

import fleqm_random
from paths import ROOT
from turingformer.compiler.fixedpoint import blocks, products
from turingformer.compiler.fixedpoint.construction import compile_fleqm, estimated_units, shape_of, weights
from turingformer.compiler.fixedpoint.decoding import run_fleqm
from turingformer.compiler.fixedpoint.invariants import expected_blocks
from turingformer.compiler.fixedpoint.layout import Shape, card_array, to_card
from turingformer.compiler.fixedpoint.verify import matrix_entry, verify_fleqm
from turingformer.errors import ProgramSizeError
from turingformer.programs import FleqInstruction, FleqM, run, step
from turingformer.programs.formats import load_program
from turingformer.runtime.looped import IntegerLoop

EXAMPLES = sorted((ROOT / "machines" / "programs").glob("*.fleqm"))
FORMATS = {16: 8, 24: 16}
#: Random programs × 20 loops per (N, k); the bigger campaign is benchmarks/linear_algebra.py --campaign.
PROGRAMS = {1: 5, 2: 5, 3: 3, 4: 2}


def all_functions(bits: int, k: int, cells: int = 8, size: int = 10) -> Shape:
    """Every function the format allows, with one shift (shl1 for even k, shl3 for odd k)."""
    shift = "shl1" if k % 2 == 0 else "shl3"
    ops = tuple(f for f in fleqm_random.functions(bits) if not f.startswith("shl") or f == "shl1")
    return Shape(cells, size, bits, FORMATS[bits], k, 4, tuple(shift if f == "shl1" else f for f in ops))


@pytest.mark.parametrize("bits", [16, 24])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_random_programs_agree_with_the_interpreter_after_every_loop(bits, k):
    shape = all_functions(bits, k)
    t = weights(shape)
    fast = IntegerLoop(t, bounds=shape.bounds())
    r = random.Random(1000 * bits + k)
    executed: set[str] = set()
    active = 0
    for _ in range(PROGRAMS[k]):
        program = fleqm_random.program(r, shape)
        X = card_array(shape, t.space, program.code, program.pc, program.memory)
        pc, memory = program.pc, program.memory
        for loop in range(1, 21):
            if pc != program.halt_pc:
                executed.add(program.code[pc].op)
                active += 1
            pc, memory = step(program, pc, memory)
            X, winners = fast.step(X)          # raises AttentionTieError unless one winner per head and column
            want = card_array(shape, t.space, program.code, pc, memory)
            assert (X == want).all(), f"Q{bits} k={k} loop {loop}: {np.flatnonzero((X != want).any(axis=1))}"
            assert all(len(w) == X.shape[1] for block in winners for w in block)
    assert active >= 15 and len(executed) >= 3


def test_every_function_is_executed_by_the_random_suite():
    """The suite above draws every function (a fixed-seed census of the same generator)."""
    seen = set()
    for bits in (16, 24):
        for k in (1, 2, 3, 4):
            r = random.Random(1000 * bits + k)
            shape = all_functions(bits, k)
            for _ in range(PROGRAMS[k]):
                p = fleqm_random.program(r, shape)
                pc, mem = p.pc, p.memory
                for _ in range(20):
                    if pc != p.halt_pc:
                        seen.add(p.code[pc].op)
                    pc, mem = step(p, pc, mem)
    assert seen == {f for bits in (16, 24) for k in (1, 2, 3, 4) for f in all_functions(bits, k).functions}
    assert {"recip", "sigm", "shl1", "shl3", "mm", "had", "smul", "amax"} <= seen


#: The SGD learners run thousands of loops: test_in_context_learning.py verifies them (nn to its end,
#: once), benchmarks/in_context_learning.py runs them all.
LONG = {"nn.fleqm", "nn_sigmoid.fleqm"}


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name not in LONG], ids=lambda p: p.name)
def test_every_example_runs_to_halt_and_stays_there(path):
    program = load_program(path)
    model = compile_fleqm(program)
    result = verify_fleqm(program, model=model)
    assert result.ok, result.divergence
    assert result.reference.halted and result.loops_checked == program.expect.steps
    decoded = result.decoded                                     # (verify also ran one more loop: a fixpoint)
    assert decoded.final.memory == result.reference.final.memory and decoded.steps == program.expect.steps
    assert decoded.halted and program.expect.failures(decoded.steps, True, decoded.final.memory) == ()


def test_run_decodes_from_the_card_and_labels_alone_with_the_interpreters_json():
    program = load_program(ROOT / "machines" / "programs" / "matmul.fleqm")
    model = compile_fleqm(program)
    assert list(model.run().json_lines()) == list(run(program).json_lines())
    assert list(run_fleqm(model).table_lines()) == list(run(program).table_lines())
    assert repr(model).startswith("FixedPointModel('matmul', construction='fleq-m', Q16.8, k=3, M=11, s=7, blocks=7, "
                                  "d=126")
    lines = model.summary().lines()
    assert lines[3].startswith("blocks per loop: 7 (at most 13); heads per block: 1, 2, 0, 0, 0, 0, 1")
    assert "7,000 σ units per loop" in lines[4] and "integers below 2^" in lines[-1]


def test_per_block_invariants_from_random_states():
    r = random.Random(7)
    for bits, k in ((16, 2), (24, 3)):
        shape = all_functions(bits, k)
        t = weights(shape)
        fast = IntegerLoop(t, bounds=shape.bounds())
        for _ in range(12):
            program = fleqm_random.program(r, shape)
            pc = r.randrange(program.size + 1)
            X = card_array(shape, t.space, program.code, pc, program.memory)
            cards = expected_blocks(shape, t.space, program.code, pc, program.memory, step(program, pc, program.memory))
            for l, want in enumerate(cards):
                X, _ = fast.block(l, X)
                bad = np.flatnonzero((X != want).any(axis=1))
                assert not len(bad), f"block {l + 1}: {[t.space.names[d] for d in bad]}"


def test_integer_path_equals_the_fraction_runtime_and_folding_the_plain_path():
    shape = Shape(5, 6, 8, 4, 2, 4, fleqm_random.functions(8))
    t = weights(shape)
    r = random.Random(3)
    program = fleqm_random.program(r, shape)
    X = card_array(shape, t.space, program.code, program.pc, program.memory)
    folded, plain = IntegerLoop(t), IntegerLoop(t, fold=False)
    A, P, C = X.copy(), X.copy(), to_card(X)
    for _ in range(3):
        A, winners = folded.step(A)
        P, plain_winners = plain.step(P)
        C, acts = t.step(C)
        assert (A == P).all() and all((a == b).all() for wa, wb in zip(winners, plain_winners) for a, b in zip(wa, wb))
        assert IntegerLoop.to_columns(A) == C
    for _ in range(20):
        A, _ = folded.step(A)
        P, _ = plain.step(P)
        assert (A == P).all()


def test_sizes_of_the_spec_table():
    # spec §3, all functions, L = 4: blocks, d and the σ widths per block (block 2 at N = 16 has one
    # unit less than the table: sigm's base step, of read-out 0, is not built; docs/linear-algebra.md)
    table = {(2, 16): (7, 91, (47, 2556, 124, 124, 2027, 236, 48)),
             (4, 16): (7, 235, (47, 6264, 496, 488, 10803, 1876, 84)),
             (2, 24): (9, 105, (43, 514, 124, 124, 120, 120, 3273, 476, 46)),
             (4, 24): (9, 297, (43, 1150, 496, 488, 484, 484, 17613, 3792, 82))}
    for (k, bits), (count, d, widths) in table.items():
        shape = all_functions(bits, k)                       # the random suite's shapes: compiled once
        t = weights(shape)
        got = tuple(b.ffn.hidden_sizes[0] for b in t.blocks)
        assert (len(t.blocks), len(t.space), got) == (count, d, widths)
        assert estimated_units(shape) == sum(widths)
        assert len(t.blocks) <= blocks.MAX_BLOCKS


def test_blocks_per_loop_for_every_function_set_and_the_size_guards():
    base = dict(memory=[((0,),)], code=[FleqInstruction("mov", 0, 0, 0, 0, 1)])
    assert shape_of(FleqM(bits=16, frac=8, **base)).blocks == 3                  # no late function
    for bits, frac, k, ops, want in [(16, 8, 4, ("mm",), 7), (24, 16, 3, ("had",), 9), (24, 16, 4, ("amax",), 7),
                                      (8, 4, 4, ("amax", "smul"), 7), (8, 4, 1, ("amax",), 4)]:
        memory = [tuple((0,) * k for _ in range(k))]
        program = FleqM(bits=bits, frac=frac, k=k, memory=memory,
                        code=[FleqInstruction(op, 0, 0, 0, 0, 1) for op in ops])
        assert shape_of(program).blocks == want <= blocks.MAX_BLOCKS
    with pytest.raises(ProgramSizeError, match="more than 13 blocks"):
        shape_of(FleqM(bits=28, frac=14, memory=[((0,),)], code=[FleqInstruction("mm", 0, 0, 0, 0, 1)]))
    big = FleqM(bits=24, frac=16, k=16, memory=[tuple((0,) * 16 for _ in range(16))],
                code=[FleqInstruction("mm", 0, 0, 0, 0, 1)])
    with pytest.raises(ProgramSizeError, match="σ units"):
        compile_fleqm(big)


def test_a_planted_bug_is_named_down_to_the_entry(monkeypatch):
    """Teeth: the floor layer without its +2^(F−1) (spec §5's planted bug) breaks a product's
    rounding; verification names the loop, the floor block, the column, h and the entry."""
    original = products.floor_layer

    def truncating(layer, shape):
        k, F = shape.k, shape.frac
        for i, j in shape.entries:
            t = products.D(products.dim("t", i, j, k))
            for m in range(1, shape.floor_steps + 1):
                products.step(layer, f"floor.{i}{j}.{m}", t - (m << F) + 1, {products.dim("h", i, j, k): 1})
            products.clear(layer, products.dim("t", i, j, k))

    program = load_program(ROOT / "machines" / "programs" / "matmul.fleqm")
    monkeypatch.setattr(products, "floor_layer", truncating)
    weights.cache_clear()
    try:
        result = verify_fleqm(program)
    finally:
        monkeypatch.setattr(products, "floor_layer", original)
        weights.cache_clear()
    d = result.divergence
    assert not result.ok and (d.step, d.unit, d.where) == (6, "loop", "block 6 (loop.5)") and d.slot.startswith("h:")
    assert f"matrix entry {matrix_entry(d.slot)}" in d.detail
    assert str(d).startswith("first divergence at loop 6, block 6 (loop.5), column ")
    assert matrix_entry("mem:v12") == (1, 2) and matrix_entry("xd3:01") == (0, 1) and matrix_entry("reg:pc") is None
