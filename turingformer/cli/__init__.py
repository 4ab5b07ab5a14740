"""The ``turingformer`` command line.

Every subcommand is one small function ``cmd_<name>(args) -> int`` in the module of its group
(:mod:`~turingformer.cli.machines`: simulate, show, convert, graph; :mod:`~turingformer.cli.model`:
compile, run, verify, inspect; :mod:`~turingformer.cli.trace`; :mod:`~turingformer.cli.precision`;
:mod:`~turingformer.cli.census`)
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

from turingformer.cli import bridge, looped, machines, model, programs
from turingformer.cli.animate import ANIMATE_DESCRIPTION, ANIMATE_HELP, animate_arguments, cmd_animate
from turingformer.cli.census import CENSUS_DESCRIPTION, CENSUS_HELP, census_arguments, cmd_census
from turingformer.cli.common import INTERRUPTED, PARENTS, PROG, Command, default_input, output_argument
from turingformer.cli.precision import PRECISION_DESCRIPTION, PRECISION_HELP, precision_arguments, run_precision
from turingformer.cli.serve import SERVE_DESCRIPTION, SERVE_HELP, cmd_serve, serve_arguments
from turingformer.cli.trace import TRACE_DESCRIPTION, TRACE_HELP, run_trace, trace_arguments
from turingformer.errors import TuringformerError, shorten
from turingformer.tm.formats import load_machine


DEMO_MACHINE = Path(__file__).resolve().parents[2] / "machines" / "binary_increment.yaml"


def cmd_demo(args: argparse.Namespace) -> int:
    """Compile a teaching machine, decode it from its saved weights, and verify every step."""
    import tempfile
    machine_file = args.machine or str(DEMO_MACHINE)
    word = args.input
    print(f"== 1. the machine: {machine_file}")
    common = ["--input", word] if word is not None else []
    main(["show", machine_file])
    print("\n== 2. the reference simulator")
    main(["simulate", machine_file, *common])
    with tempfile.TemporaryDirectory() as tmp:
        model_file = str(Path(tmp) / "model.json")
        print("\n== 3. compile it into a transformer (1 encoder layer, 3 decoder layers)")
        main(["compile", machine_file, "-o", model_file])
        print("\n== 4. run the transformer from the model file alone")
        machine = load_machine(machine_file)
        main(["run", model_file, "--input", word if word is not None else default_input(machine)])
    print("\n== 5. verify: the transformer against the simulator, every step and every layer")
    return main(["verify", machine_file, *common, "--limit", "40"])


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("machine", nargs="?", metavar="FILE", help="a machine file (default: binary increment)")
    parser.add_argument("--input", "-i", metavar="W", help="the input word (default: the file's first example)")


# ---------------------------------------------------------------------------- the table
COMMANDS: dict[str, Command] = {
    "simulate": Command(
        "run a machine on an input, or a looped-computer program, and print every step",
        programs.on_file_kind(machines.cmd_simulate, programs.cmd_simulate), parents=("machine", "run"),
        arguments=machines.simulate_arguments,
        description="Run the reference simulator. Prints a table (step, state, the tape with the head "
                    "cell in [brackets]) and a summary; with --json, JSON Lines. A run that hits the step "
                    "limit exits 0 with the verdict 'running' and a note on stderr. A program (.subleq, "
                    ".usubleq, .fleq, official CSV) prints one row per loop (pc and every memory cell; "
                    "--max-steps counts loops) and checks the file's .expect; --json gives one object per loop "
                    "{step, pc, memory} and a summary (docs/programs.md)."),
    "show": Command("describe a machine (states, alphabets, transition table, examples) or a program "
                    "(memory map, code listing with labels)",
                    programs.on_file_kind(bridge.on_target(machines.cmd_show, bridge.cmd_show), programs.cmd_show),
                    arguments=lambda p: bridge.target_arguments(p, with_input=True)),
    "convert": Command(
        "convert a machine file to turingformer YAML", machines.cmd_convert,
        arguments=lambda p: output_argument(p, "the output file (default -, standard output)")),
    "graph": Command(
        "draw the state diagram (.dot text, or .png/.svg via matplotlib)", machines.cmd_graph,
        arguments=lambda p: output_argument(p, "the output: .dot/.gv (Graphviz text), .png/.svg/.pdf "
                                                "(matplotlib) or - (DOT on standard output, the default)")),
    "compile": Command(
        "compile a machine (or a program) into the weights of a transformer (a model file)",
        programs.on_file_kind(bridge.on_target(model.cmd_compile, bridge.cmd_compile), looped.cmd_compile),
        parents=("machine", "run"), arguments=lambda p: (model.compile_arguments(p), looped.construction_argument(p),
                                                         bridge.target_arguments(p)),
        description="Normalise the machine (spec 2b), build every weight of the one-layer encoder and "
                    "three-layer hard-attention decoder exactly, write them to MODEL (JSON, exact rationals, "
                    "named dimensions) and print the compile summary. --check verifies every example. A program "
                    "(.subleq, .usubleq, .fleq) compiles into a looped transformer and its punch card "
                    "(--construction; docs/looped.md)."),
    "run": Command(
        "decode a model file on an input: the trace, from the weights alone",
        looped.on_model_kind(model.cmd_run, {"looped": looped.cmd_run, bridge.MODEL_KIND: bridge.cmd_run}), parents=(),
        arguments=model.run_model_arguments,
        description="Decode autoregressively from the model file alone (no machine, no simulator) and print the "
                    "machine's trace exactly as 'simulate' does (--json gives the same JSON Lines, for diffing). A "
                    "looped model runs its punch card and decodes pc and memory after every loop; --max-steps "
                    "counts loops."),
    "verify": Command(
        "compile, decode and compare with the simulator at every step and layer",
        programs.on_file_kind(bridge.on_target(model.cmd_verify, bridge.cmd_verify), looped.cmd_verify),
        parents=("machine", "run"), arguments=lambda p: (model.verify_arguments(p), looped.construction_argument(p),
                                                         bridge.target_arguments(p)),
        description="Prints one row per decoder position with the spec-9 quantities (c(i), l(i+1), b1, b2) and "
                    "whether every layer agrees; exits 1 and names the step, layer and slot of the first "
                    "divergence. A program is compared with its interpreter after every loop, entry for entry "
                    "(loop, block, column and dimension of the first divergence)."),
    "inspect": Command(
        "show a model file: layers, named dimensions, weight matrices",
        looped.on_model_kind(model.cmd_inspect, {"looped": looped.cmd_inspect, bridge.MODEL_KIND: bridge.cmd_inspect}),
        parents=(),
        arguments=model.inspect_arguments),
    "trace": Command(TRACE_HELP, programs.on_file_kind(run_trace, looped.run_trace),
                     arguments=lambda p: (trace_arguments(p), looped.construction_argument(p)),
                     description=TRACE_DESCRIPTION),
    "animate": Command(ANIMATE_HELP, cmd_animate, arguments=animate_arguments, description=ANIMATE_DESCRIPTION),
    "serve": Command(SERVE_HELP, cmd_serve, parents=(), arguments=serve_arguments, description=SERVE_DESCRIPTION),
    "precision": Command(PRECISION_HELP, run_precision, arguments=precision_arguments,
                         description=PRECISION_DESCRIPTION),
    "census": Command(CENSUS_HELP, cmd_census, parents=(), arguments=census_arguments,
                      description=CENSUS_DESCRIPTION),
    "demo": Command(
        "the tour: simulate, compile, run from the weights, verify (binary increment by default)", cmd_demo,
        parents=(), arguments=_demo_arguments),
}


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
        sub.set_defaults(handler=command.run)
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
