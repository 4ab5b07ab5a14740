"""Issue 9: ``verify`` on a machine that never halts streams in bounded memory per position.

A decoder must keep its key/value cache (every position attends to the earlier ones) and the two
traces, so memory grows with the positions; what must not grow is what verification itself keeps
per position. Before streaming it kept every checked activation (about 9.7 KB per decoder
position on repeat_01); now each position is checked and dropped (about 1.6 KB per position,
the cache and the traces).
"""

from __future__ import annotations

import tracemalloc

from paths import LOCAL_CORPUS
from turingformer.compiler.perez.verify import verify
from turingformer.tm.formats import load_machine, prepare_input

#: Bytes per decoder position that verification may add, cache and traces included.
PER_POSITION = 4_000


def _peak(machine, word, steps) -> tuple[int, int]:
    tracemalloc.start()
    try:
        result = verify(machine, word, max_steps=steps)
        return tracemalloc.get_traced_memory()[1], result.checked
    finally:
        tracemalloc.stop()


def test_verify_of_a_non_halting_machine_grows_by_little_per_position():
    machine = load_machine(LOCAL_CORPUS / "turingmachine_io" / "repeat_01.yaml")
    machine, word = prepare_input(machine, machine.examples[0].input if machine.examples else "")
    small, small_positions = _peak(machine, word, 300)
    large, large_positions = _peak(machine, word, 1200)
    assert large_positions - small_positions >= 900
    assert (large - small) / (large_positions - small_positions) < PER_POSITION
