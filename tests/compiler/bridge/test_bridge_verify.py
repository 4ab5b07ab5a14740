"""verify --construction looped-machine: every machine step against the simulator, every loop against the
SUBLEQ-U interpreter; the checker names the first machine step that differs."""

from __future__ import annotations

from paths import MACHINES
from turingformer.compiler.bridge.verify import verify_machine_looped
from turingformer.compiler.bridge.tm_to_subleq import machine_to_program
from turingformer.tm.formats import load_machine
from turingformer.tm.machine import Rule

INCREMENT = MACHINES / "binary_increment.yaml"


def test_a_fitting_run_agrees_at_every_step_and_loop():
    machine = load_machine(INCREMENT)
    result = verify_machine_looped(machine, "1011", tape_cells=8)
    assert result.ok and result.decoded == result.reference
    assert [row.step for row in result.rows] == list(range(9)) and all(row.agrees for row in result.rows)
    assert sum(row.loops for row in result.rows) == result.loops.loops_checked
    assert result.loops.ok and result.loops.loops_checked == 54


def test_the_program_of_another_machine_is_caught_at_the_first_step_that_differs():
    machine = load_machine(INCREMENT)
    rules = [Rule(r.state, r.read, "1" if (r.state, r.read) == ("carry", "1") else r.write, r.move, r.next_state)
             for r in machine.rules]
    wrong = machine_to_program(machine.replace(rules=rules), "1011", tape_cells=8)   # 1 + 1 = 1: wrong
    result = verify_machine_looped(machine, "1011", compiled=wrong)
    assert result.loops.ok               # the network runs the wrong program faithfully, loop for loop
    assert not result.ok and str(result.divergence).startswith("first divergence at machine step 6, machine")
    assert [row.agrees for row in result.rows][:6] == [True] * 6 and not result.rows[6].agrees
