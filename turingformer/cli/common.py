"""What the commands share: the ``machine`` and ``run`` option groups, the :class:`Command` record,
loading a machine (``-`` = standard input) with its input (``--input W`` or ``--input-file F``),
notes, the one step-limit note and progress bars on stderr, and writing an output file atomically
(never over the input)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from turingformer.errors import InputError, OutputError, shorten
from turingformer.files import STDIO, same_file, write_atomic
from turingformer.programs.formats import PROGRAM_FORMATS
from turingformer.programs.numbers import NumberSyntax, number_text, parse_int
from turingformer.tm.formats import FORMATS, decode_text, load_machine, loads_machine, prepare_input
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import DEFAULT_MAX_STEPS
from turingformer.tm.trace import HaltReason

PROG = "turingformer"
T = TypeVar("T")
#: The exit status after Ctrl-C (128 + SIGINT), partial output or not.
INTERRUPTED = 130

# ---------------------------------------------------------------------------- shared options
def non_negative(text: str) -> int:
    """A whole number >= 0 in the ASCII digits 0-9 (the programs' number parser: no ``٨``, no
    ``1_0``, at most 4,300 digits)."""
    try:
        value = parse_int(text, prefixed=False)
    except NumberSyntax as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number_text(value)}")
    return value


def positive(text: str) -> int:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more, got 0")
    return value


def _machine_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("machine")
    group.add_argument("file", metavar="FILE", help="a machine file (turingformer YAML, turingmachine.io YAML, "
                       "Morphett .txt, bbchallenge .txt, automata-lib .json; - reads standard input) or a "
                       "program for the looped computer (.subleq, .usubleq, .fleq, an official X_cmds.csv / "
                       "X_init_mem.csv pair)")
    group.add_argument("--format", "-f", metavar="F",
                       help=f"the file's format, when detection fails: {', '.join(FORMATS + PROGRAM_FORMATS)}")
    group.add_argument("--bits", metavar="N", type=non_negative, default=None,
                       help="programs: the word width N (an official CSV program's, default 8; "
                            "assembly has .bits)")
    return parent


def input_arguments(group, default: str = "the file's first example / default input, else empty") -> None:
    """``--input W`` and ``--input-file F`` (one of them), for every command that runs an input."""
    words = group.add_mutually_exclusive_group()
    words.add_argument("--input", "-i", metavar="W", help=f"the input word (default: {default})")
    words.add_argument("--input-file", metavar="F",
                       help="read the input word from file F (- = standard input; one final line break is "
                            "dropped): for inputs longer than the command line allows")


def max_steps_argument(group, default: int = DEFAULT_MAX_STEPS, extra: str = "") -> None:
    group.add_argument("--max-steps", "-n", metavar="N", type=non_negative, default=default,
                       help=f"stop after N steps if the machine has not halted (default {default:,}{extra})")


def _run_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("run")
    input_arguments(group)
    max_steps_argument(group)
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


def read_source(path: str) -> bytes:
    """The bytes of the file ``path``, or of standard input for ``-`` (read once)."""
    if path == STDIO:
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def load(args: argparse.Namespace) -> TuringMachine:
    """The machine named by the ``machine`` options (``-`` reads it from standard input)."""
    if args.file == STDIO:
        if getattr(args, "input_file", None) == STDIO:
            raise InputError("the machine and the input cannot both come from standard input",
                             hint="give one of them as a file")
        return loads_machine(decode_text(read_source(STDIO), "<stdin>"), args.format, "<stdin>")
    return load_machine(args.file, format=args.format)


def given_input(args: argparse.Namespace) -> str | None:
    """The input word of ``--input`` or ``--input-file`` (None when neither is given)."""
    path = getattr(args, "input_file", None)
    if path is None:
        return args.input
    text = decode_text(read_source(path), "<stdin>" if path == STDIO else path)
    return text[:-1] if text.endswith("\n") else text


def default_input(machine: TuringMachine) -> str:
    """The input a machine runs on when none is given: its first example, else the empty word."""
    return machine.examples[0].input if machine.examples else ""


def machine_and_input(args: argparse.Namespace) -> tuple[TuringMachine, TuringMachine, str]:
    """(machine as loaded, machine to run, input) from the ``machine`` and ``run`` options.

    The input follows the source format's conventions (:func:`turingformer.tm.formats.prepare_input`).
    """
    machine = load(args)
    word = given_input(args)
    args.default_input = word is None and bool(machine.examples)
    runnable, word = prepare_input(machine, default_input(machine) if word is None else word)
    if runnable is not machine:
        extra = [s for s in runnable.input_alphabet if s not in machine.input_alphabet]
        note(f"the input uses {', '.join(map(repr, extra))}, outside the machine's alphabet; "
              f"{machine.source_format} runs it anyway (the machine stops where no rule reads it)")
    return machine, runnable, word


FILE_DEFAULT, MODEL_DEFAULT = "the file's", "the model's"


def input_header(word: str, default_of: str | None = None) -> str:
    """``input '011'``, or ``the file's default input '011'`` for ``default_of="the file's"``; the
    word is shortened when long."""
    return f"{default_of + ' default input' if default_of else 'input'} {shorten(word)}"


def step_limit_note(max_steps: int) -> None:
    """The one note every command prints when the machine has not halted within the limit."""
    note(f"the machine did not halt within the step limit of {max_steps:,} steps (verdict: running); "
         f"raise the limit with --max-steps N")


def note(text: str) -> None:
    print(f"{PROG}: note: {text}", file=sys.stderr)


#: Seconds before a progress bar appears: shorter runs stay quiet.
PROGRESS_DELAY = 1.0
#: Seconds at least between two redraws of a bar (tqdm skips updates that come sooner).
PROGRESS_INTERVAL = 0.1


@contextlib.contextmanager
def progress_bar(total: int | None = None, unit: str = "step", *,
                 stoppable: bool = False) -> Iterator[Callable[[int], bool] | None]:
    """A progress callback ``update(done)`` drawing a tqdm bar on stderr (None when stderr is not a
    terminal and nothing is ``stoppable``). The bar appears only after :data:`PROGRESS_DELAY`
    seconds and is cleared at the end.

    ``stoppable``: the work polls the callback at consistent points and stops when it returns True;
    then the first Ctrl-C only asks it to stop (it returns what it has, marked as interrupted), and
    a second one interrupts at once.
    """
    stop = {"asked": False}
    previous = None
    if stoppable and threading.current_thread() is threading.main_thread():
        def ask(signum, frame):
            if stop["asked"]:
                raise KeyboardInterrupt
            stop["asked"] = True
        previous = signal.signal(signal.SIGINT, ask)
    bar = None
    if getattr(sys.stderr, "isatty", lambda: False)():
        from tqdm import tqdm
        bar = tqdm(total=total, unit=unit, unit_scale=True, delay=PROGRESS_DELAY, mininterval=PROGRESS_INTERVAL,
                   leave=False, file=sys.stderr,
                   dynamic_ncols=True, desc=PROG)

    def update(done: int) -> bool:
        if bar is not None:
            bar.update(done - bar.n)
        return stop["asked"]

    try:
        yield update if (bar is not None or stoppable) else None
    finally:
        if bar is not None:
            bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def interrupted_note(steps: int) -> None:
    """The note after a run stopped by Ctrl-C: what was printed is partial."""
    note(f"interrupted after {steps:,} steps: the output above is the partial run (verdict: running)")


def end_of_run(trace, max_steps: int) -> int:
    """After a run's output: the note of an interrupted or unfinished run, and the exit status
    (:data:`INTERRUPTED` after Ctrl-C, else 0)."""
    if trace.reason is HaltReason.INTERRUPTED:
        interrupted_note(trace.steps)
        return INTERRUPTED
    if not trace.halted:
        step_limit_note(max_steps)
    return 0


def with_progress(run: Callable[..., T], *args, unit: str = "step", total: int | None = None, **kwargs) -> T:
    """``run(*args, progress=..., **kwargs)`` with a :func:`progress_bar` on a terminal (cleared afterwards)."""
    with progress_bar(total, unit) as progress:
        return run(*args, progress=progress, **kwargs)



def verdict(ok: bool, agreement: str, divergence: object) -> int:
    """Print the closing line of a verification and return its exit status (1 on a divergence)."""
    print(agreement if ok else f"DIVERGENCE: {divergence}")
    return 0 if ok else 1


def output_argument(parser: argparse.ArgumentParser, what: str, default: str | None = "-") -> None:
    parser.add_argument("-o", "--output", metavar="OUT", default=default, help=what)


def refuse_same_file(source: str, output: str, what: str = "the output") -> None:
    """Raise :class:`~turingformer.errors.OutputError` when ``output`` is the file ``source``."""
    if same_file(source, output):
        raise OutputError(f"{what} {output} is the input file {source}: writing it would destroy the input",
                          hint="choose another output file (-o)")


def write_text(path: str, text: str) -> None:
    """``text`` to standard output (``-``) or atomically to the file ``path``."""
    if path == STDIO:
        sys.stdout.write(text)
    else:
        write_atomic(path, text)
        note(f"wrote {path}")
