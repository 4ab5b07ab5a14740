"""The compiled transformer reproduces the teaching machines and the third-party corpus (issue 3).

Every example of every ``machines/*.yaml`` and every halting case of the corpus that needs at
most 2,000 steps is decoded from the weights and compared with the reference simulator at every
step (state, head, symbol, tape) and in its verdict; the spec-§9 quantities are checked at every
decoder position by :func:`turingformer.compiler.perez.verify.verify`. The teaching machines run on the plain
exact decoder, the corpus on the fast exact one (``tests/test_fast.py`` proves the two equal).
"""

from __future__ import annotations


import pytest

from paths import halting_corpus_cases
from paths import MACHINES as MACHINES_DIR
from turingformer.runtime.fast import decode_fast
from turingformer.tm.formats import load_machine, prepare_input
from turingformer.compiler.perez.verify import verify

MACHINES = sorted(MACHINES_DIR.glob("*.yaml"))
LIMIT = 2_000


def _machine_examples():
    for path in MACHINES:
        machine = load_machine(path)
        for example in machine.examples:
            yield pytest.param(path, example, id=f"{path.stem}:{example.input!r}")


@pytest.mark.parametrize("path, example", list(_machine_examples()))
def test_every_teaching_machine_example_is_reproduced_by_the_transformer(path, example):
    machine = load_machine(path)
    result = verify(machine, example.input)
    assert result.ok, result.divergence
    if example.verdict is not None:
        assert result.decoded.verdict.value == example.verdict
    if example.steps is not None:
        assert result.decoded.steps == example.steps


CASES = halting_corpus_cases(LIMIT)


@pytest.mark.skipif(not CASES, reason="no corpus present")
@pytest.mark.parametrize("root, case", CASES)
def test_corpus_case_is_reproduced_by_the_transformer(root, case):
    machine, word = prepare_input(load_machine(root / case["file"]), case["input"])
    result = verify(machine, word, max_steps=10 * LIMIT, decoder=decode_fast)
    assert result.ok, result.divergence
    final = result.decoded.final
    assert (final.head, final.tape.span(final.head)) == (case["expected"]["head"],
                                                        (case["expected"]["tape_offset"], case["expected"]["tape"]))
