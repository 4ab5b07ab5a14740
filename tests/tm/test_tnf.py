"""The tree-normal-form enumeration (turingformer.tm.tnf): the published counts, the limit from
which the list is final, and properties of every leaf checked with the reference simulator."""

from __future__ import annotations

import pytest

from strategies import bbchallenge
from turingformer.errors import InputError
from turingformer.tm.formats import bbchallenge as standard
from turingformer.tm.simulator import HaltReason, run
from turingformer.tm.tnf import TNF_COUNTS, tnf_count, tnf_machines

TWO = list(tnf_machines(2, 2, max_steps=100))
THREE = list(tnf_machines(3, 2, max_steps=100))


def test_the_published_counts():
    assert len(TWO) == 41
    assert len(THREE) == 4057
    assert len(set(THREE)) == 4057


@pytest.mark.parametrize("states, S", [(2, 6), (3, 21)])
def test_the_list_is_final_exactly_from_S(states, S):
    final = TWO if states == 2 else THREE
    assert list(tnf_machines(states, 2, max_steps=S)) == final
    assert list(tnf_machines(states, 2, max_steps=S - 1)) != final
    assert tnf_count(states, 2, S) == len(final) and tnf_count(states, 2, S - 1) is None


def test_small_limits_give_fewer_leaves():
    assert len(list(tnf_machines(3, 2, max_steps=5))) == 2161 < 4057
    assert list(tnf_machines(2, 2, max_steps=1)) == ["1RB---_------"]


@pytest.mark.parametrize("machines, S, sigma", [(TWO, 6, 4), (THREE, 21, 6)])
def test_busy_beaver_values_from_the_simulator(machines, S, sigma):
    halting = []
    for code in machines:
        trace = run(bbchallenge(code), "", max_steps=100)
        # A leaf never stops on an undefined transition: it halts on its 1RZ or runs on.
        assert trace.reason in (HaltReason.HALTING_STATE, HaltReason.STEP_LIMIT), code
        if trace.halted:
            halting.append((trace.steps, trace.final.tape.nonblank()))
    assert max(s for s, _ in halting) == S
    assert max(n for _, n in halting) == sigma


def test_every_leaf_is_standard_text_in_tree_normal_form():
    for code in THREE:
        rows = code.split("_")
        assert len(rows) == 3 and all(len(r) == 6 for r in rows)
        assert code.startswith("1RB")
        assert code.count("Z") <= 1 and ("Z" not in code or "1RZ" in code)
        machine = standard.loads(code)
        assert machine.start == "A" and machine.states[:3] == ("A", "B", "C")


def test_states_in_order_of_first_use_along_the_run():
    """The first time the run enters a new state, it is the next letter."""
    for code in THREE:
        trace = run(bbchallenge(code), "", max_steps=100)
        order = list(dict.fromkeys(s for s in trace.states if s != "Z"))
        assert order == ["A", "B", "C"][:len(order)], code


def test_three_symbols():
    machines = list(tnf_machines(2, 3, max_steps=100))
    assert len(machines) == len(set(machines)) == 2833
    assert all(len(code.split("_")[0]) == 9 for code in machines)


def test_known_counts_table():
    assert TNF_COUNTS[(2, 2)] == (41, 6) and TNF_COUNTS[(3, 2)] == (4057, 21)


@pytest.mark.parametrize("states, symbols, steps", [(1, 2, 100), (27, 2, 100), (2, 1, 100), (2, 11, 100), (2, 2, 0)])
def test_bad_arguments_fail_at_once(states, symbols, steps):
    with pytest.raises(InputError) as error:
        tnf_machines(states, symbols, max_steps=steps)
    assert error.value.hint
