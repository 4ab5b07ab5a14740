"""The batched decoder (turingformer.runtime.batched): a batch of same-shape models decoded in
lockstep equals, at every captured hook and position, the single exact decoder (as exact rationals)
and the float runtime (bit for bit), models retire without disturbing the others, and a failed
check hands a model back instead of giving a wrong number."""

from __future__ import annotations

from fractions import Fraction
from itertools import islice

import numpy as np
import pytest

from turingformer.compiler.perez.construction import compile_machine
from turingformer.runtime.batched import ExactBatch, FloatBatch, shape_of
from turingformer.runtime.fast import decode_fast
from turingformer.runtime.floating import decode_float
from turingformer.tm.formats import bbchallenge
from turingformer.tm.tnf import tnf_machines

HOOKS = ("decoder.1.resid_pre", "decoder.1.resid_post", "decoder.2.attn.out", "decoder.2.resid_post",
         "decoder.3.attn.out", "decoder.3.resid_post", "output.y")
STEPS = 45


def perez_scale(i: int) -> int:
    return 6 * (i + 1) ** 2


@pytest.fixture(scope="module")
def batch():
    """Every 150th 3-state TNF machine whose model has the shape of the first (with a halt state)."""
    models = [compile_machine(bbchallenge.loads(t)).transformer
              for t in islice(tnf_machines(3, 2, max_steps=100), 0, None, 150)]
    shape = shape_of(models[0])
    return [m for m in models if shape_of(m) == shape]


def test_exact_batch_equals_the_single_exact_decoder(batch):
    assert len(batch) >= 10
    reference = [list(decode_fast(m, [], max_steps=STEPS, capture=HOOKS)) for m in batch]
    decoder = ExactBatch(batch, scale=perez_scale, capture=HOOKS)
    retired = set()
    for i in range(STEPS):
        step = decoder.step()
        assert step.i == i and not len(step.failed) and step.scale == perez_scale(i)
        assert set(step.rows.tolist()) == set(range(len(batch))) - retired
        for r, b in enumerate(step.rows):
            want = reference[b][i]
            assert tuple(Fraction(int(v), step.scale) for v in step.y_in[r]) == tuple(want.y_in)
            assert tuple(Fraction(int(v), step.scale) for v in step.y_out[r]) == tuple(want.y_out)
            for hook in HOOKS:
                got = tuple(Fraction(int(v), step.scale) for v in step.activations[hook][r])
                assert got == tuple(want.activations[hook]), (i, b, hook)
        if i % 7 == 3:                      # retire one model now and then: the others go on unchanged
            keep = np.ones(len(step.rows), dtype=bool)
            keep[i % len(keep)] = False
            retired.add(int(step.rows[i % len(keep)]))
            decoder.keep(keep)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_float_batch_is_the_float_runtime_bit_for_bit(batch, dtype):
    reference = [list(decode_float(m, [], max_steps=STEPS, capture=HOOKS, dtype=dtype)) for m in batch]
    decoder = FloatBatch(batch, dtype=dtype, capture=HOOKS)
    for i in range(STEPS):
        step = decoder.step()
        assert not len(step.failed) and step.y_out.dtype == np.dtype(dtype)
        for r, b in enumerate(step.rows):
            assert np.array_equal(step.y_out[r], reference[b][i].y_out)
            for hook in HOOKS:
                assert np.array_equal(step.activations[hook][r], reference[b][i].activations[hook]), (i, b, hook)


def test_a_scale_the_weights_do_not_fit_hands_every_model_back(batch):
    """(i+1)² misses the 1/2 of layer 1's σ((m+1)/2) unit: the exact-division check fails and the
    models leave the batch as failed, never with a rounded value."""
    decoder = ExactBatch(batch, scale=lambda i: (i + 1) ** 2)
    failed = []
    for _ in range(6):
        step = decoder.step()
        failed += step.failed.tolist()
        if not len(decoder.rows):
            break
    assert sorted(failed) == list(range(len(batch)))


def test_a_scale_must_hold_the_positional_encoding(batch):
    decoder = ExactBatch(batch[:2], scale=lambda i: 6)
    decoder.step()                                   # 6 holds pos(1) = (1, 1, 1, 1)
    with pytest.raises(ValueError, match="not a positive multiple"):
        decoder.step()                               # but not 1/4 of pos(2)


def test_models_of_another_shape_are_refused(batch):
    other = compile_machine(bbchallenge.loads("1RB1LB_1LA---")).transformer
    assert shape_of(other) != shape_of(batch[0])
    with pytest.raises(ValueError, match="does not have the shape"):
        ExactBatch([batch[0], other], scale=perez_scale)
