"""What the commands share: the ``machine`` and ``run`` option groups, the :class:`Command` record,
loading a machine with its input, notes and progress on stderr, and writing an output file."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from turingformer.programs.formats import PROGRAM_FORMATS
from turingformer.tm.formats import FORMATS, load_machine, prepare_input
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import DEFAULT_MAX_STEPS

PROG = "turingformer"

# ---------------------------------------------------------------------------- shared options
def non_negative(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _machine_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("machine")
    group.add_argument("file", metavar="FILE", help="a machine file (turingformer YAML, turingmachine.io YAML, "
                       "Morphett .txt, bbchallenge .txt, automata-lib .json) or a program for the looped "
                       "computer (.subleq, .usubleq, .fleq, an official X_cmds.csv / X_init_mem.csv pair)")
    group.add_argument("--format", "-f", metavar="F",
                       help=f"the file's format, when detection fails: {', '.join(FORMATS + PROGRAM_FORMATS)}")
    group.add_argument("--bits", metavar="N", type=non_negative, default=None,
                       help="programs: the word width N (an official CSV program's, default 8; "
                            "assembly has .bits)")
    return parent


def _run_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("run")
    group.add_argument("--input", "-i", metavar="W",
                       help="the input word (default: the file's first example / default input, else empty)")
    group.add_argument("--max-steps", "-n", metavar="N", type=non_negative, default=DEFAULT_MAX_STEPS,
                       help=f"stop after N steps if the machine has not halted (default {DEFAULT_MAX_STEPS:,})")
    return parent


PARENTS: dict[str, Callable[[], argparse.ArgumentParser]] = {"machine": _machine_parent, "run": _run_parent}


@dataclass
class Command:
    """One subcommand: its help line, its function and how to build its parser."""

    help: str
    run: Callable[[argparse.Namespace], int]
    parents: tuple[str, ...] = ("machine",)
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None


def load(args: argparse.Namespace) -> TuringMachine:
    """The machine named by the ``machine`` options."""
    return load_machine(args.file, format=args.format)


def default_input(machine: TuringMachine) -> str:
    """The input a machine runs on when none is given: its first example, else the empty word."""
    return machine.examples[0].input if machine.examples else ""


def machine_and_input(args: argparse.Namespace) -> tuple[TuringMachine, TuringMachine, str]:
    """(machine as loaded, machine to run, input) from the ``machine`` and ``run`` options.

    The input follows the source format's conventions (:func:`turingformer.tm.formats.prepare_input`).
    """
    machine = load(args)
    word = args.input if args.input is not None else default_input(machine)
    runnable, word = prepare_input(machine, word)
    if runnable is not machine:
        extra = [s for s in runnable.input_alphabet if s not in machine.input_alphabet]
        note(f"the input uses {', '.join(map(repr, extra))}, outside the machine's alphabet; "
              f"{machine.source_format} runs it anyway (the machine stops where no rule reads it)")
    return machine, runnable, word


def note(text: str) -> None:
    print(f"{PROG}: note: {text}", file=sys.stderr)


class _Progress:
    """A step counter on stderr, redrawn in place (only used when stderr is a terminal)."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.shown = False

    def __call__(self, step: int) -> None:
        self.stream.write(f"\r{PROG}: {step:,} steps ...")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


def progress_bar() -> _Progress | None:
    stream = sys.stderr
    return _Progress(stream) if getattr(stream, "isatty", lambda: False)() else None



def output_argument(parser: argparse.ArgumentParser, what: str, default: str | None = "-") -> None:
    parser.add_argument("-o", "--output", metavar="OUT", default=default, help=what)


def write_text(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")
        note(f"wrote {path}")
