"""The ``turingformer`` command line.

Every subcommand is one small function ``cmd_<name>(args) -> int`` plus an entry in
:data:`COMMANDS`; options shared by several commands live in parent parsers (:data:`PARENTS`):
``machine`` gives ``FILE --format F`` and ``run`` gives ``--input W --max-steps N``. To add a
command::

    def _compile_arguments(parser): parser.add_argument("-o", "--output", required=True)
    def cmd_compile(args): machine = load(args); ...; return 0
    COMMANDS["compile"] = Command("compile a machine into transformer weights", cmd_compile,
                                  parents=("machine", "run"), arguments=_compile_arguments)

Any :class:`~turingformer.errors.TuringformerError` becomes one line ``turingformer: error: ...``
on stderr (plus its ``fix:`` hint) and exit status 2; Ctrl-C exits with 130.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence, TextIO

from .errors import FormatError, TuringformerError
from .formats import (
    FORMATS,
    dump_machine,
    load_machine,
    prepare_input,
    reported_final_state,
    reported_steps,
)
from .machine import TuringMachine
from .simulator import DEFAULT_MAX_STEPS, HaltReason, run
from .views import TRACE_DESCRIPTION, TRACE_HELP, run_trace, trace_arguments
from .precision import PRECISION_DESCRIPTION, PRECISION_HELP, precision_arguments, run_precision

PROG = "turingformer"
#: Above this many steps ``simulate`` prints the summary only (``--json`` prints everything).
TABLE_ROW_LIMIT = 10_000
#: The widest tape window (in cells) a table row shows; wider tapes are shown around the head.
TABLE_WINDOW = 60


# ---------------------------------------------------------------------------- shared options
def _non_negative(text: str) -> int:
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
                       "Morphett .txt, bbchallenge .txt, automata-lib .json)")
    group.add_argument("--format", "-f", metavar="F",
                       help=f"the file's format, when detection fails: {', '.join(FORMATS)}")
    return parent


def _run_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("run")
    group.add_argument("--input", "-i", metavar="W",
                       help="the input word (default: the file's first example / default input, else empty)")
    group.add_argument("--max-steps", "-n", metavar="N", type=_non_negative, default=DEFAULT_MAX_STEPS,
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

    The input follows the source format's conventions (:func:`turingformer.formats.prepare_input`).
    """
    machine = load(args)
    word = args.input if args.input is not None else default_input(machine)
    runnable, word = prepare_input(machine, word)
    if runnable is not machine:
        extra = [s for s in runnable.input_alphabet if s not in machine.input_alphabet]
        _note(f"the input uses {', '.join(map(repr, extra))}, outside the machine's alphabet; "
              f"{machine.source_format} runs it anyway (the machine stops where no rule reads it)")
    return machine, runnable, word


def _note(text: str) -> None:
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


def _progress() -> _Progress | None:
    stream = sys.stderr
    return _Progress(stream) if getattr(stream, "isatty", lambda: False)() else None


# ---------------------------------------------------------------------------- simulate
def _simulate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="JSON Lines: one object per configuration {step, state, head, tape, tape_offset}, "
                             "then the summary object")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print only the summary (with --json: only the summary object)")


def cmd_simulate(args: argparse.Namespace) -> int:
    machine, runnable, word = machine_and_input(args)
    progress = _progress()
    try:
        if args.json and not args.quiet:
            result = run(runnable, word, max_steps=args.max_steps, record=True, progress=progress)
        else:
            result = run(runnable, word, max_steps=args.max_steps, record=False, progress=progress)
    finally:
        if progress:
            progress.done()
    out = sys.stdout
    if args.json:
        _write_json_lines(result, out, configurations=not args.quiet)
    else:
        source = "the file's default input" if args.input is None and machine.examples else "input"
        out.write(f"{machine.name or Path(args.file).stem} ({machine.source_format}), {source} {word!r}\n")
        if not args.quiet:
            trace = run(runnable, word, max_steps=args.max_steps, record=True) \
                if result.steps <= TABLE_ROW_LIMIT else result
            _print_table_or_note(trace, runnable.blank, out)
        out.write(_summary_line(machine, result) + "\n")
    if not result.halted:
        _note(f"the machine did not halt within the step limit of {args.max_steps:,} steps (verdict: running); "
              f"raise the limit with --max-steps N")
    return 0


def _write_json_lines(result, out: TextIO, *, configurations: bool) -> None:
    """JSON Lines: one object per configuration (unless not wanted), then the summary object."""
    if configurations:
        for conf in result:
            offset, tape = conf.tape.span(conf.head)
            out.write(json.dumps({"step": conf.step, "state": conf.state, "head": conf.head,
                                  "tape": tape, "tape_offset": offset}, ensure_ascii=False) + "\n")
    out.write(json.dumps(result.summary(), ensure_ascii=False) + "\n")


def _print_table_or_note(trace, blank: str, out: TextIO) -> None:
    """The step table, or for more than TABLE_ROW_LIMIT steps a note that only the summary follows."""
    if trace.steps <= TABLE_ROW_LIMIT:
        _print_table(trace, blank, out)
    else:
        _note(f"{trace.steps:,} steps: printing the summary only (the table stops at "
              f"{TABLE_ROW_LIMIT:,} steps; --json prints every configuration)")


def _cell(symbol: str) -> str:
    return symbol if symbol.isprintable() else "?"


def _print_table(trace, blank: str, out: TextIO) -> None:
    heads = trace.heads
    low = min(min(heads), 0)
    high = max(max(heads), len(trace.input) - 1)
    wide = high - low + 1 > TABLE_WINDOW
    state_width = max([5, *(len(s) for s in trace.states)])
    out.write(f"{'step':>6}  {'state':<{state_width}}  tape\n")
    for conf in trace:
        if wide:
            lo = min(max(conf.head - TABLE_WINDOW // 2, low), high - TABLE_WINDOW + 1)
            hi = lo + TABLE_WINDOW - 1
        else:
            lo, hi = low, high
        text = []
        for cell in range(lo, hi + 1):
            text.append("[" if cell == conf.head else "]" if cell - 1 == conf.head else " ")
            text.append(_cell(conf.tape[cell]))
        text.append("]" if hi == conf.head else " ")
        edge_l = "…" if wide and lo > low else ""
        edge_r = "…" if wide and hi < high else ""
        out.write(f"{conf.step:>6}  {conf.state:<{state_width}}  {edge_l}{''.join(text)}{edge_r}  head {conf.head}\n")


def _steps(n: int) -> str:
    return f"{n:,} step" + ("" if n == 1 else "s")


def _short(tape: str, limit: int = 80) -> str:
    if len(tape) <= limit:
        return repr(tape)
    half = limit // 2 - 2
    return f"{tape[:half]!r}...{tape[-half:]!r} ({len(tape):,} cells)"


def _summary_line(machine: TuringMachine | None, result) -> str:
    final = result.final
    offset, tape = final.tape.span(final.head)
    if result.halted:
        why = "entered a halting state" if result.reason is HaltReason.HALTING_STATE else "no rule applies"
        text = (f"halted after {_steps(result.steps)} in state {final.state} ({why}); "
                f"verdict: {result.verdict.value}")
    else:
        text = f"still running after {_steps(result.steps)} in state {final.state} (step limit); verdict: running"
    text += (f"; tape {_short(tape)} from cell {offset}, head on cell {final.head}, "
             f"{final.tape.nonblank():,} non-blank")
    if machine is None:
        return text
    steps, state = reported_steps(machine, result), reported_final_state(machine, result)
    if steps != result.steps or state != final.state:
        text += (f"\n({machine.source_format} itself would report {_steps(steps)} and state {state}: it counts "
                 f"the stop for lack of a rule as one more step)")
    return text


# ---------------------------------------------------------------------------- show
def cmd_show(args: argparse.Namespace) -> int:
    machine = load(args)
    out = sys.stdout

    def sym(symbol: str) -> str:
        return repr(symbol)

    roles = {"accept": "accept", "reject": "reject", "halt": "halt"}
    out.write(f"{machine.name or Path(args.file).stem}  ({machine.source_format} format, {args.file})\n")
    if machine.description:
        out.write(f"  {machine.description.strip()}\n")
    described = []
    for state in machine.states:
        tags = (["start"] if state == machine.start else []) + ([roles[machine.role(state)]]
                                                                 if machine.role(state) else [])
        described.append(f"{state} ({', '.join(tags)})" if tags else state)
    out.write(f"states ({len(machine.states)}): {', '.join(described)}\n")
    out.write(f"start: {machine.start}\n")
    out.write(f"blank: {sym(machine.blank)}\n")
    out.write(f"input alphabet: {' '.join(map(sym, machine.input_alphabet)) or '(empty)'}\n")
    out.write(f"tape alphabet: {' '.join(map(sym, machine.tape_alphabet))}\n")
    out.write(f"rules: {len(machine.rules)} (cell = write move next state; '-' = no rule: the machine stops)\n")
    symbols = machine.tape_alphabet
    header = ["state \\ read", *map(sym, symbols)]
    rows = []
    for state in machine.states:
        role = machine.role(state)
        if role:
            rows.append([state, f"({role}: halts)", *[""] * (len(symbols) - 1)])
            continue
        row = [state]
        for symbol in symbols:
            rule = machine.rule(state, symbol)
            row.append(f"{sym(rule.write)} {rule.move.value} {rule.next_state}" if rule else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for i, row in enumerate([header, *rows]):
        out.write("  " + " | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
        if i == 0:
            out.write("  " + "-+-".join("-" * w for w in widths) + "\n")
    unreachable = machine.unreachable_states()
    if unreachable:
        out.write(f"unreachable states: {', '.join(unreachable)}\n")
    if machine.examples:
        out.write(f"examples ({len(machine.examples)}):\n")
        for example in machine.examples:
            facts = [f"{k} {v!r}" if isinstance(v, str) else f"{k} {v}" for k, v in (
                ("verdict", example.verdict), ("tape", example.tape), ("steps", example.steps),
                ("final state", example.final_state)) if v is not None]
            out.write(f"  input {example.input!r}" + (": " + ", ".join(facts) if facts else "") + "\n")
    return 0


# ---------------------------------------------------------------------------- convert
def _output_argument(parser: argparse.ArgumentParser, what: str, default: str | None = "-") -> None:
    parser.add_argument("-o", "--output", metavar="OUT", default=default, help=what)


def _write_text(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
    else:
        Path(path).write_text(text, encoding="utf-8")
        _note(f"wrote {path}")


def cmd_convert(args: argparse.Namespace) -> int:
    _write_text(args.output, dump_machine(load(args)))
    return 0


# ---------------------------------------------------------------------------- graph
def cmd_graph(args: argparse.Namespace) -> int:
    from . import diagram

    machine = load(args)
    suffix = Path(args.output).suffix.lower()
    if args.output == "-" or suffix in (".dot", ".gv"):
        _write_text(args.output, diagram.to_dot(machine))
    elif suffix in diagram.DRAWING_SUFFIXES:
        diagram.draw(machine, args.output)
        _note(f"wrote {args.output}")
    else:
        raise FormatError(f"unknown output extension {suffix or '(none)'!r} for {args.output!r}",
                          hint="use .dot (Graphviz text), .png, .svg or .pdf (matplotlib), or - for DOT on stdout")
    return 0


# ---------------------------------------------------------------------------- the transformer
def _model_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("construction")
    group.add_argument("--cross-attention", choices=("per-layer", "shared"), default="per-layer",
                       help="decoder layers 2-3: their own zero cross-attention (per-layer, the default) or the "
                            "strict shared one (spec 8 A); both are exact")
    group.add_argument("--score", choices=("abs", "clipped"), default="abs",
                       help="attention score: -|x| (default) or -min(|x|, 1)")


def _decoder_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--decoder", choices=("fast", "plain"), default="fast",
                        help="exact decoder: fast (flint, certified float filter; the default) or plain "
                             "(Fractions, every score computed); both give identical results")


def _decoder(args: argparse.Namespace):
    if args.decoder == "plain":
        from .transformer import decode
        return decode
    from .fast import decode_fast
    return decode_fast


def _compile(args: argparse.Namespace, machine: TuringMachine):
    from .construction import compile_machine
    return compile_machine(machine, cross_attention=args.cross_attention, score=args.score)


def _compile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", metavar="MODEL", required=True, help="the model file to write (JSON)")
    parser.add_argument("--check", action="store_true",
                        help="also verify every example of the machine file against the simulator")
    _model_arguments(parser)
    _decoder_argument(parser)


def cmd_compile(args: argparse.Namespace) -> int:
    from .modelfile import save_model
    machine = load(args)
    model = _compile(args, machine)
    save_model(model, args.output)
    print(f"compiled {machine.name or Path(args.file).stem} into {args.output}")
    for line in model.summary().lines():
        print(f"  {line}")
    if args.check:
        from .verify import verify
        failed = 0
        for example in machine.examples:
            runnable, word = prepare_input(machine, example.input)
            result = verify(runnable, word, max_steps=args.max_steps, model=model, decoder=_decoder(args))
            status = "agrees" if result.ok else f"DIVERGES: {result.divergence}"
            print(f"  example {word!r}: {_steps(result.decoded.steps)}, {result.decoded.verdict.value}, {status}")
            failed += not result.ok
        return 1 if failed else 0
    return 0


def _run_model_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'turingformer compile'")
    parser.add_argument("--input", "-i", metavar="W", default="", help="the input word (default: empty)")
    parser.add_argument("--max-steps", "-n", metavar="N", type=_non_negative, default=DEFAULT_MAX_STEPS,
                        help=f"stop after N machine steps (default {DEFAULT_MAX_STEPS:,})")
    _simulate_arguments(parser)
    _decoder_argument(parser)


def cmd_run(args: argparse.Namespace) -> int:
    """Decode from the model file alone: no machine, no simulator."""
    from .decoding import run_model
    from .modelfile import load_model
    model = load_model(args.model)
    trace, _ = run_model(model, args.input, max_steps=args.max_steps, decoder=_decoder(args))
    out = sys.stdout
    if args.json:
        _write_json_lines(trace, out, configurations=not args.quiet)
    else:
        name = model.labels.machine_name or Path(args.model).stem
        out.write(f"{name} (decoded by the transformer in {args.model}), input {args.input!r}\n")
        if not args.quiet:
            _print_table_or_note(trace, model.labels.blank, out)
        out.write(_summary_line(None, trace) + "\n")
    if not trace.halted:
        _note(f"the machine did not halt within {args.max_steps:,} steps (verdict: running); raise --max-steps")
    return 0


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=_non_negative, default=None, metavar="K",
                        help="print at most K rows of the step-by-step table")
    parser.add_argument("--quiet", "-q", action="store_true", help="print only the verdict line")
    _model_arguments(parser)
    _decoder_argument(parser)


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import verify
    machine, runnable, word = machine_and_input(args)
    model = _compile(args, runnable)
    result = verify(runnable, word, max_steps=args.max_steps, model=model, decoder=_decoder(args))
    if not args.quiet:
        print(result.table(limit=args.limit))
    decoded = result.decoded
    if result.ok:
        print(f"the transformer agrees with the simulator at every step: {_steps(decoded.steps)} of the machine, "
              f"{len(result.positions):,} decoder positions, verdict {decoded.verdict.value}, "
              f"no attention ties in layers 1 and 3")
        return 0
    print(f"DIVERGENCE: {result.divergence}")
    return 1


def _inspect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model file written by 'turingformer compile'")
    parser.add_argument("--weights", metavar="NAME", action="append", default=[],
                        help="print the non-zero weights of one map, e.g. decoder.3.attn.query (repeatable)")
    parser.add_argument("--dimensions", action="store_true", help="list every named residual dimension")


def cmd_inspect(args: argparse.Namespace) -> int:
    from .modelfile import load_model
    model = load_model(args.model)
    t = model.transformer
    print(f"model {args.model}: {model.labels.machine_name or '(unnamed)'}")
    for line in model.summary().lines():
        print(f"  {line}")
    maps = dict(t.linears())
    print("maps (name: source -> target, non-zero weights + biases):")
    for name, linear in maps.items():
        print(f"  {name:<24} {len(linear.source):>4} -> {len(linear.target):<4} "
              f"{len(linear.weights) + len(linear.bias):>6}" + ("  (zero)" if linear.is_zero() else ""))
    if args.dimensions:
        print("residual dimensions:")
        for k, name in enumerate(t.space.names):
            print(f"  {k:>4}  {name}")
    for name in args.weights:
        if name not in maps:
            raise FormatError(f"no map named {name!r}", hint=f"choose one of: {', '.join(maps)}")
        linear = maps[name]
        print(f"{name}: x W + b")
        for src, dst, w in linear.named_weights():
            print(f"  {src:<28} -> {dst:<28} {w}")
        for dst, b in linear.named_bias():
            print(f"  {'(bias)':<28} -> {dst:<28} {b}")
    return 0


DEMO_MACHINE = Path(__file__).resolve().parents[1] / "machines" / "binary_increment.yaml"


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
        model = str(Path(tmp) / "model.json")
        print("\n== 3. compile it into a transformer (1 encoder layer, 3 decoder layers)")
        main(["compile", machine_file, "-o", model])
        print("\n== 4. run the transformer from the model file alone")
        machine = load_machine(machine_file)
        main(["run", model, "--input", word if word is not None else default_input(machine)])
    print("\n== 5. verify: the transformer against the simulator, every step and every layer")
    return main(["verify", machine_file, *common, "--limit", "40"])


def _demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("machine", nargs="?", metavar="FILE", help="a machine file (default: binary increment)")
    parser.add_argument("--input", "-i", metavar="W", help="the input word (default: the file's first example)")


# ---------------------------------------------------------------------------- the table
COMMANDS: dict[str, Command] = {
    "simulate": Command(
        "run a machine on an input and print every step", cmd_simulate, parents=("machine", "run"),
        arguments=_simulate_arguments,
        description="Run the reference simulator. Prints a table (step, state, the tape with the head "
                    "cell in [brackets]) and a summary; with --json, JSON Lines. A run that hits the step "
                    "limit exits 0 with the verdict 'running' and a note on stderr."),
    "show": Command("describe a machine: states, alphabets, the transition table, examples", cmd_show),
    "convert": Command(
        "convert a machine file to turingformer YAML", cmd_convert,
        arguments=lambda p: _output_argument(p, "the output file (default -, standard output)")),
    "graph": Command(
        "draw the state diagram (.dot text, or .png/.svg via matplotlib)", cmd_graph,
        arguments=lambda p: _output_argument(p, "the output: .dot/.gv (Graphviz text), .png/.svg/.pdf "
                                                "(matplotlib) or - (DOT on standard output, the default)")),
    "compile": Command(
        "compile a machine into the weights of a transformer (a model file)", cmd_compile,
        parents=("machine", "run"), arguments=_compile_arguments,
        description="Normalise the machine (spec 2b), build every weight of the one-layer encoder and "
                    "three-layer hard-attention decoder exactly, write them to MODEL (JSON, exact rationals, "
                    "named dimensions) and print the compile summary. --check verifies every example."),
    "run": Command(
        "decode a model file on an input: the trace, from the weights alone", cmd_run, parents=(),
        arguments=_run_model_arguments,
        description="Decode autoregressively from the model file alone (no machine, no simulator) and print the "
                    "machine's trace exactly as 'simulate' does (--json gives the same JSON Lines, for diffing)."),
    "verify": Command(
        "compile, decode and compare with the simulator at every step and layer", cmd_verify,
        parents=("machine", "run"), arguments=_verify_arguments,
        description="Prints one row per decoder position with the spec-9 quantities (c(i), l(i+1), b1, b2) and "
                    "whether every layer agrees; exits 1 and names the step, layer and slot of the first "
                    "divergence."),
    "inspect": Command(
        "show a model file: layers, named dimensions, weight matrices", cmd_inspect, parents=(),
        arguments=_inspect_arguments),
    "trace": Command(TRACE_HELP, run_trace, arguments=trace_arguments, description=TRACE_DESCRIPTION),
    "precision": Command(PRECISION_HELP, run_precision, arguments=precision_arguments,
                         description=PRECISION_DESCRIPTION),
    "demo": Command(
        "the tour: simulate, compile, run from the weights, verify (binary increment by default)", cmd_demo,
        parents=(), arguments=_demo_arguments),
}


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
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, command in COMMANDS.items():
        sub = subparsers.add_parser(name, help=command.help, description=command.description or command.help,
                                    parents=[PARENTS[p]() for p in command.parents])
        if command.arguments:
            command.arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script: parse ``argv`` and run the command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
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
        return 130
