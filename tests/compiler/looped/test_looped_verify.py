"""Verification of looped models against the reference interpreter (looped spec §8)."""

from __future__ import annotations

import dataclasses

import pytest

from paths import ROOT
from turingformer.compiler.looped.verify import trace_loop, verify_looped, writers
from turingformer.compiler.looped.construction import compile_program
from turingformer.programs.formats import load_program

PROGRAMS = ROOT / "machines" / "programs"


@pytest.mark.parametrize("name", ["fact.subleq", "sum_ptr.usubleq", "gcd.fleq"])
def test_examples_verify_every_loop(name):
    program = load_program(PROGRAMS / name)
    result = verify_looped(program)
    assert result.ok and result.reference.halted
    assert result.loops_checked == result.reference.steps == result.decoded.steps
    assert [s.memory for s in result.decoded] == [s.memory for s in result.reference]


def break_weight(model, block: int, scale):
    """The model with the first read-out weight of ``block``'s FFN multiplied by ``scale``."""
    t = model.transformer
    b = t.blocks[block]
    out = b.ffn.layers[1]
    (i, o, w), *rest = out.weights
    ffn = dataclasses.replace(b.ffn, layers=(b.ffn.layers[0], dataclasses.replace(out, weights=((i, o, w * scale), *rest))))
    blocks = list(t.blocks)
    blocks[block] = dataclasses.replace(b, ffn=ffn)
    return dataclasses.replace(model, transformer=dataclasses.replace(t, blocks=tuple(blocks))), out.target.names[o]


def test_a_broken_weight_is_named_by_loop_block_column_and_dimension():
    program = load_program(PROGRAMS / "mul.subleq")
    model, dim = break_weight(compile_program(program), 2, 2)
    result = verify_looped(program, model=model)
    d = result.divergence
    assert not result.ok and (d.unit, d.step, d.where, d.slot) == ("loop", 1, "loop.2", dim) and dim == "reg:pc"
    assert d.column == 0 and d.expected == 1 and d.got != 1
    assert "first divergence at loop 1, loop.2, column 0, slot reg:pc: expected 1" in str(d)
    assert "loop.2.attn attended to column(s)" in d.detail


def test_writers_are_read_from_the_weights():
    w = writers(compile_program(load_program(PROGRAMS / "add.subleq")).transformer)
    assert w["mem:value"] == 1 and w["reg:pc"] == 2 and w["tmp:gate"] == 1 and "prog:a" not in w


def test_trace_loop_gives_the_card_after_every_block_and_the_winners():
    model = compile_program(load_program(PROGRAMS / "add.subleq"))
    traced = trace_loop(model, 1)
    assert len(traced.cards) == 3 and traced.cards[-1] != traced.card_in
    M = model.labels.cells
    assert set(traced.winners[0][0]) == {M + 0}             # every column fetched instruction 0
    assert "mem:value" in traced.table(1) and "dimension" in traced.table(None)
