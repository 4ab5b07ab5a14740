"""The reference simulator: halting reasons, verdicts, tapes, traces and the fast unrecorded path."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turingformer.errors import InputError
from turingformer.tm.formats import loads_machine
from turingformer.tm.machine import Move, Rule, TuringMachine
from strategies import machines_with_inputs
from turingformer.tm.simulator import (
    iterate,
    HaltReason,
    Tape,
    Verdict,
    run,
    trace_from_events,
    verdict_for,
)

BB2 = loads_machine("1RB1LB_1LA1RZ", "bbchallenge")


def machine(rules, *, states=("a", "b", "yes", "no"), accept=("yes",), reject=("no",), halt=(), blank="_",
            inputs=("0", "1")) -> TuringMachine:
    return TuringMachine(states=states, start=states[0], blank=blank, input_alphabet=inputs,
                         rules=[Rule(*r) for r in rules], accept=accept, reject=reject, halt=halt,
                         allow_unreachable=True)


def test_halting_state_reason_and_verdicts():
    m = machine([("a", "0", "0", Move.R, "a"), ("a", "1", "1", Move.S, "yes"), ("a", "_", "_", Move.L, "no")])
    accepted = run(m, "001")
    assert (accepted.steps, accepted.reason, accepted.verdict) == (3, HaltReason.HALTING_STATE, Verdict.ACCEPT)
    assert accepted.final.head == 2 and accepted.halted
    rejected = run(m, "00")
    assert (rejected.final.state, rejected.verdict, rejected.final.head) == ("no", Verdict.REJECT, 1)


def test_no_rule_stop_rejects_when_the_machine_accepts_somewhere():
    m = machine([("a", "0", "0", Move.R, "b")])
    result = run(m, "01")
    assert (result.steps, result.final.state, result.reason, result.verdict) == (
        1, "b", HaltReason.NO_RULE, Verdict.REJECT)
    plain = machine([("a", "0", "0", Move.R, "b")], accept=(), reject=(), halt=("yes", "no"))
    assert run(plain, "01").verdict is Verdict.HALTED


def test_step_limit():
    loop = machine([("a", "0", "0", Move.R, "b"), ("b", "_", "_", Move.L, "a"), ("a", "_", "_", Move.R, "b"),
                    ("b", "0", "0", Move.L, "a")])
    result = run(loop, "0", max_steps=7)
    assert (result.steps, result.reason, result.verdict, result.halted) == (7, HaltReason.STEP_LIMIT,
                                                                            Verdict.RUNNING, False)
    # a machine that halts exactly at the limit has halted, it was not cut off
    exact = run(BB2, "", max_steps=6)
    assert exact.halted and exact.reason is HaltReason.HALTING_STATE
    assert run(BB2, "", max_steps=5).reason is HaltReason.STEP_LIMIT
    assert run(BB2, "", max_steps=0).steps == 0


def test_trace_configurations():
    trace = run(BB2, "")
    assert len(trace) == trace.steps + 1 == 7
    assert [c.state for c in trace] == ["A", "B", "A", "B", "A", "B", "Z"]
    assert [c.head for c in trace] == [0, 1, 0, -1, -2, -1, 0]
    assert trace[1].tape.span(trace[1].head) == (0, "10")
    assert trace[-1].tape.span(0) == (-2, "1111")
    assert trace[3].symbol == "0"
    assert [c.tape.span(c.head) for c in trace] == [trace[t].tape.span(trace[t].head) for t in range(7)]
    summary = trace.summary()
    assert summary == {"summary": True, "machine": BB2.name, "input": "", "steps": 6, "final_state": "Z",
                       "head": 0, "halted": True, "reason": "halting state", "verdict": "halted",
                       "nonblank": 4, "tape": "1111", "tape_offset": -2}


def test_unrecorded_runs_agree_with_recorded_ones():
    m = loads_machine("1RB1LB_1LA0LC_1RZ1LD_1RD0RA", "bbchallenge")      # BB(4)
    recorded, fast = run(m, ""), run(m, "", record=False)
    assert fast.summary() == recorded.summary()
    assert fast.final.tape.span(fast.final.head) == (-10, "10111111111111")
    assert (fast.steps, fast.final.head, fast.final.tape.nonblank()) == (107, -9, 13)


def test_the_tape_grows_both_ways():
    left = machine([("a", "_", "1", Move.L, "a")], accept=(), reject=(), halt=())
    result = run(left, "", max_steps=500, record=False)
    assert result.final.head == -500 and result.final.tape.nonblank() == 500
    right = machine([("a", "_", "1", Move.R, "a")], accept=(), reject=(), halt=())
    trace = run(right, "", max_steps=300)
    assert trace.final.head == 300 and trace.final.tape.span(300) == (0, "1" * 300 + "_")


def test_inputs_may_contain_the_blank_but_nothing_else():
    m = machine([("a", "0", "0", Move.R, "a"), ("a", "_", "_", Move.R, "a")], accept=(), reject=(), halt=())
    trace = run(m, "0_0", max_steps=3)
    assert trace.final.tape.span(3) == (0, "0_0_") and trace.final.tape.nonblank() == 2
    with pytest.raises(InputError, match="symbol '2' at position 1"):
        run(m, "02")


def test_progress_callback():
    loop = machine([("a", "_", "_", Move.S, "a")], accept=(), reject=(), halt=())
    calls = []
    result = run(loop, "", max_steps=(1 << 21) + 3, record=False, progress=calls.append)
    assert calls == [1 << 20, 1 << 21] and result.steps == (1 << 21) + 3


def test_tape_helpers():
    tape = Tape(("_", "1", "_", "0"), -1, "_")
    assert tape[-1] == "_" and tape[0] == "1" and tape[2] == "0" and tape[99] == "_"
    assert tape.nonblank() == 2
    assert tape.span(0) == (0, "1_0")
    assert tape.span(-5) == (-5, "_____1_0")
    assert tape.window(-2, 3) == "__1_0_"


def test_verdict_for_and_trace_from_events():
    assert verdict_for(BB2, "Z", HaltReason.STEP_LIMIT) is Verdict.RUNNING
    assert verdict_for(BB2, "Z", HaltReason.HALTING_STATE) is Verdict.HALTED
    trace = run(BB2, "")
    rebuilt = trace_from_events(word="", blank="0", states=trace.states, heads=trace.heads, writes=trace.writes,
                                reason=trace.reason, verdict=trace.verdict, machine_name=trace.machine_name)
    assert rebuilt == trace


def test_graph_round_trip_keeps_permission_for_unreachable_states():
    from turingformer.tm.machine import Rule, TuringMachine

    machine = TuringMachine(states=["a", "b", "lost"], start="a", blank="_", rules=[Rule("a", "x", "x", "R", "b")],
                            halt=["b"], input_alphabet=["x"], allow_unreachable=True)
    again = TuringMachine.from_graph(machine.to_graph())
    assert again == machine and again.unreachable_states() == ("lost",)
    assert nx.utils.graphs_equal(again.graph, machine.graph)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(machines_with_inputs(), st.integers(min_value=0, max_value=40))
def test_the_streamed_run_is_the_recorded_run(pair, limit):
    """``iterate`` (nothing kept) yields exactly the configurations of ``run``, and the write of
    each step; the last one's write is None exactly when the machine stops there."""
    machine, word = pair
    trace = run(machine, word, max_steps=limit)
    steps = list(iterate(machine, word, max_steps=limit))
    assert [s.state for s in steps] == list(trace.states) and [s.head for s in steps] == list(trace.heads)
    assert [s.read for s in steps] == [conf.symbol for conf in trace]
    assert [s.write for s in steps[:-1]] == list(trace.writes)
    assert (steps[-1].write is None) == trace.halted
