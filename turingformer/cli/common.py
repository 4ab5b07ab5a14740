"""What the commands share: the ``machine`` and ``run`` option groups, the :class:`Command` record,
the file a command reads identified once (:func:`identify_file`: machine, program or model file;
``-`` = standard input, read once), loading its source with its input (``--input W`` or
``--input-file F``), the construction flags (from the registry), notes, the one step-limit note
and progress bars on stderr, and writing an output file atomically (never over any file the
command reads: :func:`refuse_overwrite`)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from turingformer.compiler import Construction, Option, construction_for, constructions
from turingformer.errors import ConstructionError, InputError, OutputError, TuringformerError, shorten
from turingformer.files import STDIO, same_file, write_atomic
from turingformer.programs.numbers import NumberSyntax, number_text, parse_int
from turingformer.sources import ALL_FORMATS, MACHINE, MODEL, PROGRAM, Identified, identify, load_source
from turingformer.tm.formats import decode_text, prepare_input
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
                       help=f"the file's format, when detection fails: {', '.join(ALL_FORMATS)}")
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
    """One subcommand: its help line, its function, how to build its parser, and which kinds of
    file its FILE / MODEL argument may be (``accepts``: machine, program, model; empty = no file)."""

    help: str
    run: Callable[[argparse.Namespace], int]
    parents: tuple[str, ...] = ("machine",)
    arguments: Callable[[argparse.ArgumentParser], None] | None = None
    description: str | None = None
    accepts: tuple[str, ...] = (MACHINE,)


def read_source(path: str) -> bytes:
    """The bytes of the file ``path``, or of standard input for ``-`` (read once)."""
    if path == STDIO:
        return sys.stdin.buffer.read()
    return Path(path).read_bytes()


def identify_file(args: argparse.Namespace, path: str, accepts: tuple[str, ...], commands: dict) -> Identified:
    """What the command's file is, identified once (standard input read once); refuses a kind the
    command does not take, in one line naming the commands that do."""
    if path == STDIO and getattr(args, "input_file", None) == STDIO:
        raise InputError("the file and the input cannot both come from standard input", hint="give one of them as a file")
    data = read_source(STDIO) if path == STDIO else None
    if accepts == (MODEL,):             # the model file's reader says what is wrong with anything else
        return Identified(path, MODEL, None, data)
    found = identify(path, getattr(args, "format", None), data)
    if found.what not in accepts:
        what = {MACHINE: "a machine file", PROGRAM: "a program", MODEL: f"a model file (kind {found.kind})"}[found.what]
        others = [name for name, command in commands.items() if found.what in command.accepts]
        raise InputError(f"{found.name} is {what}: '{args.command}' does not take it",
                         hint=f"use {', '.join(others[:-1])} or {others[-1]}" if len(others) > 1 else
                         f"use {others[0]}" if others else "")
    return found


def source_files(path: str) -> tuple[str, ...]:
    """Every file a source at ``path`` consists of (both files of an official CSV pair)."""
    from turingformer.programs.formats.official import CMDS, MEM, is_official
    if path == STDIO or not is_official(path):
        return (path,)
    name = Path(path).name
    stem = name[: -len(CMDS)] if name.endswith(CMDS) else name[: -len(MEM)]
    return tuple(str(Path(path).with_name(stem + end)) for end in (CMDS, MEM))


def read_files(args: argparse.Namespace) -> tuple[str, ...]:
    """Every file a command reads: its FILE (both halves of a CSV pair) or MODEL, ``--input-file``,
    ``--machine`` and ``--machines``."""
    files: list[str] = []
    for name in ("file", "model", "machine", "machines"):
        path = getattr(args, name, None)
        if isinstance(path, str):
            files.extend(source_files(path))
    if getattr(args, "input_file", None) not in (None, STDIO):
        files.append(args.input_file)
    return tuple(files)


def refuse_overwrite(args: argparse.Namespace, output: str, what: str = "the output") -> None:
    """Raise :class:`~turingformer.errors.OutputError` when ``output`` is any file the command reads."""
    for path in read_files(args):
        if same_file(path, output):
            raise OutputError(f"{what} {output} is the input file {path}: writing it would destroy the input",
                              hint="choose another output file (-o)")


def load(args: argparse.Namespace):
    """The machine or program of the command's identified file (``args.found``)."""
    return load_source(args.found, format=args.format, bits=getattr(args, "bits", None))


def given_input(args: argparse.Namespace) -> str | None:
    """The input word of ``--input`` or ``--input-file`` (None when neither is given)."""
    path = getattr(args, "input_file", None)
    if path is None:
        return getattr(args, "input", None)
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
    return (machine, *runnable_input(args, machine))


def runnable_input(args: argparse.Namespace, machine: TuringMachine, word: str | None = None) -> tuple[TuringMachine, str]:
    """(machine to run, input) for ``machine`` and the command's input (``word`` when given, else
    ``--input`` / ``--input-file``, else the machine's first example), by the source format's conventions."""
    word = given_input(args) if word is None else word
    args.default_input = word is None and bool(machine.examples)
    runnable, word = prepare_input(machine, default_input(machine) if word is None else word)
    if runnable is not machine:
        extra = [s for s in runnable.input_alphabet if s not in machine.input_alphabet]
        note(f"the input uses {', '.join(map(repr, extra))}, outside the machine's alphabet; "
             f"{machine.source_format} runs it anyway (the machine stops where no rule reads it)")
    return runnable, word


def refuse_input_for_program(args: argparse.Namespace) -> None:
    """A program's input is its memory: ``--input`` / ``--input-file`` are refused, not ignored."""
    if getattr(args, "input", None) is not None or getattr(args, "input_file", None) is not None:
        raise InputError("--input and --input-file are for Turing machines: a program's input is its initial memory",
                         hint="edit the program's .data values (or X_init_mem.csv) instead")


# ---------------------------------------------------------------------------- constructions
def _all_options() -> dict[str, list[tuple[Construction, Option]]]:
    options: dict[str, list[tuple[Construction, Option]]] = {}
    for c in constructions():
        for option in c.options:
            options.setdefault(option.name, []).append((c, option))
    return options


def construction_arguments(parser: argparse.ArgumentParser) -> None:
    """``--construction NAME`` (every registered name) and one flag per construction option,
    all from the registry; an option whose flag the command already has (``--input``) reads it."""
    group = parser.add_argument_group("construction")
    names = [c.name for c in constructions()]
    defaults = ", ".join(f"{c.name} for a {kind}" for kind, c in _defaults().items())
    group.add_argument("--construction", "-c", choices=names, default=None, metavar="NAME",
                       help=f"the construction: {', '.join(names)} (default: {defaults}; docs/architecture.md)")
    taken = set(parser._option_string_actions)
    for name, entries in _all_options().items():
        option = entries[0][1]
        if option.flag in taken:
            continue
        owners = ", ".join(c.name for c, _ in entries)
        group.add_argument(option.flag, dest=name, default=None, choices=option.choices, metavar=option.metavar,
                           type=_argument_type(option.parse), help=f"{owners}: {option.help}")


def _argument_type(parse):
    """An option's parser as argparse calls it: a user's mistake becomes argparse's one-line refusal."""
    if parse is None:
        return None

    def convert(text: str):
        try:
            return parse(text)
        except TuringformerError as error:
            raise argparse.ArgumentTypeError(error.message) from None
    return convert


def _defaults() -> dict[str, Construction]:
    found: dict[str, Construction] = {}
    for c in constructions():
        for kind in c.sources:
            found.setdefault(kind, c)
    return found


def construction_options(args: argparse.Namespace, chosen: Construction) -> dict:
    """The options of ``chosen`` the command line gives; a flag of another construction is refused."""
    mine = {o.name for o in chosen.options}
    for name, entries in _all_options().items():
        if name not in mine and getattr(args, name, None) is not None and entries[0][1].flag not in ("--input",):
            owners = ", ".join(c.name for c, _ in entries)
            raise ConstructionError(f"{entries[0][1].flag} is an option of {owners}, not of {chosen.name}",
                                    hint=f"add --construction {entries[0][0].name}, or drop {entries[0][1].flag}")
    options = {name: getattr(args, name) for name in mine if getattr(args, name, None) is not None}
    if "input" in mine:
        word = given_input(args)
        if word is not None:
            options["input"] = word
    return options


def chosen_construction(args: argparse.Namespace, source) -> Construction:
    """The ``--construction`` for ``source`` (default: its kind's), checked against it."""
    return construction_for(source, getattr(args, "construction", None))


def run_options(args: argparse.Namespace, chosen: Construction) -> dict:
    """The values of the construction's run options (``--decoder``) on the command line; a run
    option of another construction is refused, not ignored."""
    mine = {o.name for o in chosen.run_options}
    for c in constructions():
        for option in c.run_options:
            if option.name not in mine and getattr(args, option.name, None) is not None:
                raise ConstructionError(f"{option.flag} is an option of {c.name}, not of {chosen.name}",
                                        hint=f"drop {option.flag}")
    return {o.name: getattr(args, o.name) for o in chosen.run_options if getattr(args, o.name, None) is not None}


def run_option_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per run option of any construction (``--decoder``)."""
    seen = set()
    for c in constructions():
        for option in c.run_options:
            if option.name not in seen:
                seen.add(option.name)
                parser.add_argument(option.flag, dest=option.name, default=None, choices=option.choices,
                                    metavar=option.metavar, help=f"{c.name}: {option.help}")


FILE_DEFAULT, MODEL_DEFAULT = "the file's", "the model's"


def input_header(word: str, default_of: str | None = None) -> str:
    """``input '011'``, or ``the file's default input '011'`` for ``default_of="the file's"``; the
    word is shortened when long."""
    return f"{default_of + ' default input' if default_of else 'input'} {shorten(word)}"


def step_limit_note(max_steps: int, unit: str = "step") -> None:
    """The one note every command prints when the run has not halted within the limit (``unit``:
    machine steps, or loops of a program)."""
    if unit == "loop":
        note(f"the program did not halt within the limit of {max_steps:,} loops; raise it with --max-steps N")
    else:
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

    update.asked = lambda: stop["asked"]       # after the work: did Ctrl-C stop it?

    try:
        yield update if (bar is not None or stoppable) else None
    finally:
        if bar is not None:
            bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def interrupted_note(steps: int, unit: str = "step") -> None:
    """The note after a run stopped by Ctrl-C: what was printed is partial."""
    note(f"interrupted after {steps:,} {unit}s: the output above is the partial run"
         + (" (verdict: running)" if unit == "step" else ""))


def end_of_run(trace, max_steps: int, unit: str = "step") -> int:
    """After a run's output: the note of an interrupted or unfinished run, and the exit status
    (:data:`INTERRUPTED` after Ctrl-C, else 0). ``unit``: what ``max_steps`` counts."""
    if trace.interrupted:
        interrupted_note(trace.steps, unit)
        return INTERRUPTED
    if not trace.halted and getattr(trace, "reason", None) is not HaltReason.TAPE_BOUND:
        step_limit_note(max_steps, unit)
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


def write_text(path: str, text: str) -> None:
    """``text`` to standard output (``-``) or atomically to the file ``path``."""
    if path == STDIO:
        sys.stdout.write(text)
    else:
        write_atomic(path, text)
        note(f"wrote {path}")
