"""Checking the claims a machine file makes about itself: its ``examples:`` (docs/format.md).

An :class:`~turingformer.tm.machine.Example` states an input and, optionally, the verdict, the
final tape (the :meth:`~turingformer.tm.trace.Tape.span` text), the number of steps and the final
state its author expects. :func:`check_example` runs the input on the reference simulator (with
the input conventions of the machine's source tool, :func:`~turingformer.tm.formats.prepare_input`)
and compares every stated field; the result says *met*, *not met* (with each difference, claim
beside outcome) or *not checked* (the run hit the step limit before it could confirm a halting
claim). A claim is never echoed: every command that runs an example reports this check.

An example with the verdict ``running`` claims that the machine has not halted after ``steps``
steps (after the step limit when ``steps`` is not given); its tape and final state are those of
that configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from turingformer.errors import shorten
from turingformer.tm.formats import prepare_input
from turingformer.tm.machine import Example, TuringMachine
from turingformer.tm.simulator import DEFAULT_MAX_STEPS, run
from turingformer.tm.trace import HaltReason, steps_text

__all__ = ["ExampleCheck", "check_example", "check_examples", "claims", "examples_of_input"]


@dataclass(frozen=True)
class ExampleCheck:
    """The outcome of one example: ``differences`` (claim vs outcome, empty when met) and
    ``unchecked`` (why it could not be decided, else None). ``number`` counts from 1."""

    number: int
    example: Example
    differences: tuple[str, ...] = ()
    unchecked: str | None = None

    @property
    def met(self) -> bool:
        return not self.differences and self.unchecked is None

    @property
    def failed(self) -> bool:
        """True when the run contradicts the claim (not merely undecided)."""
        return bool(self.differences)

    @property
    def name(self) -> str:
        return f"example {self.number} (input {shorten(self.example.input, 40)})"

    def __str__(self) -> str:
        if self.differences:
            return f"{self.name}: NOT MET: " + "; ".join(self.differences)
        if self.unchecked:
            return f"{self.name}: not checked: {self.unchecked}"
        return f"{self.name}: met ({self.claim()})"

    def claim(self) -> str:
        """What the example states, e.g. ``verdict halted, tape '1100', 8 steps``."""
        e = self.example
        parts = [f"verdict {e.verdict}" if e.verdict else "", f"tape {shorten(e.tape, 40)}" if e.tape is not None else "",
                 steps_text(e.steps) if e.steps is not None else "",
                 f"final state {e.final_state}" if e.final_state is not None else ""]
        return ", ".join(p for p in parts if p) or "it runs"


def _differences(example: Example, summary: dict) -> tuple[str, ...]:
    out = []
    if example.verdict is not None and summary["verdict"] != example.verdict:
        out.append(f"verdict {summary['verdict']}, expected {example.verdict}")
    if example.tape is not None and summary["tape"] != example.tape:
        out.append(f"tape {shorten(summary['tape'], 60)}, expected {shorten(example.tape, 60)}")
    if example.steps is not None and summary["steps"] != example.steps:
        out.append(f"{steps_text(summary['steps'])}, expected {example.steps:,}")
    if example.final_state is not None and summary["final_state"] != example.final_state:
        out.append(f"final state {summary['final_state']}, expected {example.final_state}")
    return tuple(out)


def check_example(machine: TuringMachine, example: Example, *, number: int = 1,
                  max_steps: int = DEFAULT_MAX_STEPS, result=None) -> ExampleCheck:
    """Run ``example`` on the reference simulator (at most ``max_steps`` steps) and compare.

    ``result``: the simulator's run of this very input already made by the caller (a
    :class:`~turingformer.tm.trace.Trace` or ``FinalResult`` of at most ``max_steps`` steps), so
    that a command checks the run it printed instead of running it twice.
    """
    claims_running = example.verdict == "running"
    limit = example.steps if claims_running and example.steps is not None else max_steps
    if result is None or (claims_running and (result.halted or result.steps != limit)):
        runnable, word = prepare_input(machine, example.input)
        result = run(runnable, word, max_steps=limit, record=False)
    summary = result.summary()
    if claims_running and result.halted:
        return ExampleCheck(number, example, (f"halted after {steps_text(result.steps)} ({result.reason.value}), "
                                              f"expected still running",))
    if not claims_running and not result.halted:
        if result.reason is HaltReason.STEP_LIMIT:
            why = f"the run did not halt within the step limit of {steps_text(limit)} (raise the step limit to check it)"
        else:
            why = f"the run stopped early ({result.reason.value})"
        contradicted = () if example.steps is None or example.steps > result.steps else \
            (f"still running after {steps_text(result.steps)}, expected to halt after {example.steps:,}",)
        return ExampleCheck(number, example, contradicted, None if contradicted else why)
    return ExampleCheck(number, example, _differences(example, summary))


def claims(example: Example) -> bool:
    """True when the example states an outcome (a bare input, such as a turingmachine.io
    ``input:``, claims nothing and is not reported)."""
    return any(v is not None for v in (example.verdict, example.tape, example.steps, example.final_state))


def check_examples(machine: TuringMachine, *, max_steps: int = DEFAULT_MAX_STEPS) -> tuple[ExampleCheck, ...]:
    """Every example of ``machine`` that claims an outcome, checked (:func:`check_example`)."""
    return tuple(check_example(machine, e, number=k, max_steps=max_steps)
                 for k, e in enumerate(machine.examples, start=1) if claims(e))


def examples_of_input(machine: TuringMachine, word: str) -> Iterator[tuple[int, Example]]:
    """``(number, example)`` for the examples that claim an outcome and whose input, as the
    machine's source tool reads it (:func:`~turingformer.tm.formats.prepare_input`), is ``word``
    (numbered from 1, among all examples)."""
    for k, example in enumerate(machine.examples, start=1):
        if claims(example) and prepare_input(machine, example.input)[1] == word:
            yield k, example
