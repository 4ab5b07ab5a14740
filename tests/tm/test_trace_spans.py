"""Trace.spans() renders each configuration's tape incrementally (issue 15, ``run --json``):
it must equal the Tape.span of every Configuration the trace replays, on random runs with
erasures at the edges, jumps past the buffer and blanks inside the input."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from turingformer.tm.trace import HaltReason, Trace, Verdict


@settings(max_examples=300, deadline=None)
@given(st.text("_ab", max_size=6), st.lists(st.tuples(st.sampled_from("_ab"), st.sampled_from([-1, 1, -5, 7])),
                                            max_size=60))
def test_spans_equal_the_replayed_configurations(word, moves):
    heads, writes = [0], []
    for symbol, move in moves:
        writes.append(symbol)
        heads.append(heads[-1] + move)
    trace = Trace(word, "_", ("q",) * len(heads), tuple(heads), tuple(writes), HaltReason.STEP_LIMIT, Verdict.RUNNING)
    expected = [(c.step, c.state, c.head, *c.tape.span(c.head)) for c in trace]
    assert list(trace.spans()) == expected
