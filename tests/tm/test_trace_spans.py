"""Trace.spans() renders each configuration's tape incrementally (issue 15, ``run --json``), and
Trace.reads() and Trace.agrees_with() read and compare runs in O(T) (the player): each must equal
what the Configurations the trace replays say, on random runs with erasures at the edges, jumps
past the buffer and blanks inside the input."""

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


def _trace(word, moves, states="q"):
    heads, writes = [0], []
    for symbol, move in moves:
        writes.append(symbol)
        heads.append(heads[-1] + move)
    names = tuple(states[k % len(states)] for k in range(len(heads)))
    return Trace(word, "_", names, tuple(heads), tuple(writes), HaltReason.STEP_LIMIT, Verdict.RUNNING)


STEPS = st.lists(st.tuples(st.sampled_from("_ab"), st.sampled_from([-1, 1, -5, 7])), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.text("_ab", max_size=4), STEPS, st.text("_ab", max_size=4), STEPS, st.sampled_from(["q", "qr"]))
def test_reads_and_agreement_equal_the_replayed_configurations(word, moves, other_word, other_moves, states):
    """Trace.reads and Trace.agrees_with (the player's O(T) forms) equal what the replayed
    configurations say, for two runs that share a prefix and then may part."""
    one = _trace(word, moves)
    two = _trace(other_word if len(other_moves) % 3 == 0 else word, moves[:len(other_moves)] + other_moves, states)
    assert list(one.reads()) == [c.symbol for c in one]
    expected = [(a.state, a.head, a.tape.span(a.head)) == (b.state, b.head, b.tape.span(b.head))
                for a, b in zip(one, two)]
    assert one.agrees_with(two) == expected and two.agrees_with(one) == expected
