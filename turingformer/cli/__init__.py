"""The ``turingformer`` command line.

Every subcommand is one small function ``cmd_<name>(args) -> int`` in the module of its group
(:mod:`~turingformer.cli.machines`: simulate, show, convert, graph; :mod:`~turingformer.cli.model`:
compile, run, verify, inspect; :mod:`~turingformer.cli.trace`; :mod:`~turingformer.cli.precision`;
:mod:`~turingformer.cli.census`; :mod:`~turingformer.cli.export`)
plus an entry in :data:`COMMANDS`; options shared by several commands live in parent parsers
(:data:`~turingformer.cli.common.PARENTS`): ``machine`` gives ``FILE --format F`` and ``run`` gives
``--input W --max-steps N``. All argparse code of the package lives in this subpackage; the library
functions it calls take plain arguments and return values.

Any :class:`~turingformer.errors.TuringformerError` becomes one line ``turingformer: error: ...``
on stderr (plus its ``fix:`` hint) and exit status 2; Ctrl-C exits with 130; any other exception
is an internal error: one line, exit status 70, the traceback with ``--debug``.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path
from typing import Sequence

from turingformer.cli import looped, machines, model
from turingformer.cli.animate import ANIMATE_DESCRIPTION, ANIMATE_HELP, animate_arguments, cmd_animate
from turingformer.cli.census import CENSUS_DESCRIPTION, CENSUS_HELP, census_arguments, cmd_census
from turingformer.cli.export import EXPORT_DESCRIPTION, EXPORT_HELP, cmd_export, export_arguments
from turingformer.cli.common import (
    INTERRUPTED, PARENTS, PROG, STDIO, Command, construction_arguments, identify_file, output_argument,
    refuse_overwrite,
)
from turingformer.cli.precision import PRECISION_DESCRIPTION, PRECISION_HELP, precision_arguments, run_precision
from turingformer.cli.serve import SERVE_DESCRIPTION, SERVE_HELP, cmd_serve, serve_arguments
from turingformer.cli.trace import TRACE_DESCRIPTION, TRACE_HELP, run_trace, trace_arguments
from turingformer.errors import TuringformerError, shorten
from turingformer.sources import MACHINE, MODEL, PROGRAM


DEMO_MACHINE = Path(__file__).resolve().parents[2] / "machines" / "binary_increment.yaml"


def cmd_demo(args: argparse.Namespace) -> int:
    """Compile a teaching machine, decode it from its saved weights, and verify every step."""
    import tempfile
    machine_file = args.file or str(DEMO_MACHINE)
    word = args.input
    print(f"== 1. the machine: {machine_file}")
    common = ["--input", word] if word is not None else []
    for step in (["show", machine_file],):
        status = main(step)
        if status:
            return status
    print("\n== 2. the reference simulator")
    main(["simulate", machine_file, *common])
    with tempfile.TemporaryDirectory() as tmp:
        model_file = str(Path(tmp) / "model.json")
        print("\n== 3. compile it into a transformer (1 encoder layer, 3 decoder layers)")
        main(["compile", machine_file, "-o", model_file])
        print("\n== 4. run the transformer from the model file alone")
        main(["run", model_file, *common])
    print("\n== 5. verify: the transformer against the simulator, every step and every layer")
    return main(["verify", machine_file, *common, "--limit", "40"])


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", nargs="?", metavar="FILE", help="a machine file (default: binary increment)")
    parser.add_argument("--input", "-i", metavar="W", help="the input word (default: the file's first example)")


def _trace_or_program(args: argparse.Namespace) -> int:
    return looped.run_trace(args) if args.found.what == PROGRAM else run_trace(args)


# ---------------------------------------------------------------------------- the table
COMMANDS: dict[str, Command] = {
    "simulate": Command(
        "run a machine on an input, or a looped-computer program, and print every step",
        machines.cmd_simulate, parents=("machine", "run"), arguments=machines.simulate_arguments,
        accepts=(MACHINE, PROGRAM),
        description="Run the reference simulator. Prints a table (step, state, the tape with the head "
                    "cell in [brackets]) and a summary; with --json, JSON Lines. A run that hits the step "
                    "limit exits 0 with the verdict 'running' and a note on stderr. A program (.subleq, "
                    ".usubleq, .fleq, official CSV) prints one row per loop (pc and every memory cell; "
                    "--max-steps counts loops) and checks the file's .expect; --json gives one object per loop "
                    "{step, pc, memory} and a summary (docs/programs.md)."),
    "show": Command("describe a machine (states, alphabets, transition table, examples) or a program "
                    "(memory map, code listing with labels); with --construction, what that construction "
                    "makes of it (the SUBLEQ-U program of a machine)",
                    machines.cmd_show, parents=("machine", "run"), arguments=construction_arguments,
                    accepts=(MACHINE, PROGRAM)),
    "convert": Command(
        "convert a machine file to turingformer YAML", machines.cmd_convert,
        arguments=lambda p: output_argument(p, "the output file (default -, standard output)")),
    "graph": Command(
        "draw the state diagram (.dot text, or .png/.svg via matplotlib)", machines.cmd_graph,
        arguments=lambda p: output_argument(p, "the output: .dot/.gv (Graphviz text), .png/.svg/.pdf "
                                                "(matplotlib) or - (DOT on standard output, the default)")),
    "compile": Command(
        "compile a machine (or a program) into the weights of a transformer (a model file)",
        model.cmd_compile, parents=("machine", "run"), arguments=model.compile_arguments, accepts=(MACHINE, PROGRAM),
        description="Build every weight of the chosen construction exactly (--construction; default: the Pérez "
                    "encoder-decoder for a machine, the looped computer for a program), write them to MODEL (JSON, "
                    "exact rationals, named dimensions, the source recorded) and print the compile summary. --check "
                    "verifies the model (every example of a machine; a program's own run)."),
    "run": Command(
        "run a model file on an input: the trace, from the weights alone",
        model.cmd_run, parents=(), arguments=model.run_model_arguments, accepts=(MODEL,),
        description="Run the model file alone (no machine, no program, no simulator, no interpreter) and print "
                    "the trace exactly as 'simulate' does (--json gives the same JSON Lines, for diffing). A looped "
                    "model runs its punch card and decodes pc and memory after every loop; --max-steps counts loops. "
                    "Ctrl-C stops the run and prints what was decoded (exit 130)."),
    "verify": Command(
        "run the transformer beside the reference and compare them at every step",
        model.cmd_verify, parents=("machine", "run"), arguments=model.verify_arguments,
        accepts=(MACHINE, PROGRAM, MODEL),
        description="Compile FILE (or read MODEL and the source it records, or --machine) and compare the network "
                    "with the independent reference at every step: for the Pérez transformer one row per decoder "
                    "position with the spec-9 quantities of every layer; for a program every loop's punch card "
                    "against E(interpreter state), entry for entry. Exits 1 naming the step, the layer or block and "
                    "the slot of the first divergence."),
    "inspect": Command(
        "show a model file: its summary, layers, named dimensions, weight matrices",
        model.cmd_inspect, parents=(), arguments=model.inspect_arguments, accepts=(MODEL,)),
    "trace": Command(TRACE_HELP, _trace_or_program, arguments=lambda p: (trace_arguments(p), construction_arguments(p)),
                     description=TRACE_DESCRIPTION, accepts=(MACHINE, PROGRAM)),
    "animate": Command(ANIMATE_HELP, cmd_animate, arguments=animate_arguments, description=ANIMATE_DESCRIPTION,
                       accepts=(MACHINE, PROGRAM)),
    "serve": Command(SERVE_HELP, cmd_serve, parents=(), arguments=serve_arguments, description=SERVE_DESCRIPTION),
    "precision": Command(PRECISION_HELP, run_precision, arguments=precision_arguments,
                         description=PRECISION_DESCRIPTION),
    "census": Command(CENSUS_HELP, cmd_census, parents=(), arguments=census_arguments,
                      description=CENSUS_DESCRIPTION, accepts=()),
    "export": Command(EXPORT_HELP, cmd_export, parents=(), arguments=export_arguments,
                      description=EXPORT_DESCRIPTION, accepts=(MODEL,)),
    "demo": Command(
        "the tour: simulate, compile, run from the weights, verify (binary increment by default)", cmd_demo,
        parents=(), arguments=_demo_arguments, accepts=()),
}


def dispatch(args: argparse.Namespace) -> int:
    """Identify the command's file once (machine, program or model file), refuse a kind the command
    does not take, refuse an output that is any file the command reads, then run the command."""
    command = COMMANDS[args.command]
    path = getattr(args, "model", None) or getattr(args, "file", None)
    if command.accepts and path is not None:
        args.found = identify_file(args, path, command.accepts, COMMANDS)
    output = getattr(args, "output", None)
    if output is not None and output != STDIO:
        refuse_overwrite(args, output)
    return command.run(args)


#: The exit status of a bug (an exception that is not a TuringformerError), as sysexits' EX_SOFTWARE.
INTERNAL_ERROR = 70
DEBUG_VARIABLE = "TURINGFORMER_DEBUG"


def _debug_argument(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("--debug", action="store_true", default=default,
                        help=f"show the Python traceback of an internal error (or set {DEBUG_VARIABLE}=1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description="Define and simulate Turing machines, and compile them into exact "
                               "transformer weights.",
        epilog="Run 'turingformer COMMAND --help' for the options of a command.")
    try:
        from importlib.metadata import version
        parser.add_argument("--version", action="version", version=f"%(prog)s {version(PROG)}")
    except Exception:  # pragma: no cover - not installed as a distribution
        pass
    _debug_argument(parser, False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.description or command.help,
                                    parents=[PARENTS[p]() for p in command.parents])
        if command.arguments:
            command.arguments(sub)
        _debug_argument(sub, argparse.SUPPRESS)
        sub.set_defaults(handler=dispatch)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: parse ``argv`` and run the command; returns the exit status.

    The last line of defence: a :class:`TuringformerError` is one ``error:`` line (exit 2); any
    other exception is a bug and one ``internal error:`` line (exit :data:`INTERNAL_ERROR`), with
    the traceback under ``--debug`` or ``TURINGFORMER_DEBUG=1``.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")
    try:
        return args.handler(args)
    except TuringformerError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        if isinstance(error, BrokenPipeError):
            return 1
        where = f" {error.filename}" if error.filename else ""
        print(f"{PROG}: error: cannot access{where}: {error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as error:  # the last line of defence: a bug, never a user's fault
        if debug:
            traceback.print_exc()
        what = shorten(str(error), 200)[1:-1] if str(error) else ""
        print(f"{PROG}: internal error: {type(error).__name__}{': ' + what if what else ''}; "
              f"rerun with --debug for the traceback", file=sys.stderr)
        return INTERNAL_ERROR
