"""``turingformer trace``: draw one view of a run (the figures are :mod:`turingformer.views.figures`)."""

from __future__ import annotations

from pathlib import Path

from turingformer.cli.common import (
    input_arguments, machine_and_input, max_steps_argument, step_limit_note,
)
from turingformer.errors import TuringformerError
from turingformer.tm.trace import table_lines
from turingformer.views.figures import (
    FIGURE_SUFFIXES, RESIDUAL_STAGES, attention_patterns, residual, save, spacetime, state_diagram,
    verification_figure, verification_table,
)
VIEWS = ("spacetime", "attention", "residual", "diagram", "verification", "card")


TRACE_HELP = "draw a run: space-time diagram, attention patterns, residual stream, state diagram"
TRACE_DESCRIPTION = (
    "Compile FILE, run it on --input with every activation recorded, and draw one view: spacetime (the "
    "tape over time), attention (the three attention patterns over the steps), residual (the residual "
    "stream at machine step --step, or decoder position --position), diagram (the state diagram) or verification (machine vs "
    "transformer, step by step). Without -o a text version is printed. For a program (.subleq, .usubleq, "
    ".fleq): card (the punch card after every block of loop --step, a labelled heat map), attention (the "
    "column each column attended to), spacetime (memory over the loops) or verification.")
#: The default step limit of ``trace``: every activation of every step is kept in memory.
TRACE_MAX_STEPS = 500


def trace_arguments(parser, *, machine_options: bool = False) -> None:
    """The options of ``trace`` (``FILE`` and ``--format`` too when ``machine_options``)."""
    if machine_options:
        parser.add_argument("file", metavar="FILE", help="a machine file (any supported format; - = stdin)")
        parser.add_argument("--format", "-f", default=None, metavar="F", help="the file's format (default: detect)")
    input_arguments(parser, "the file's first example, else empty")
    parser.add_argument("--view", choices=VIEWS, default="spacetime", help="what to draw (default: spacetime)")
    parser.add_argument("--step", type=int, default=None, metavar="T",
                        help="machine step T, counted as simulate counts it: residual shows the decoder "
                             "position that reads step T's configuration (default: step 0); diagram lights "
                             "step T's state and fired rule")
    parser.add_argument("--position", type=int, default=None, metavar="I",
                        help="residual: decoder position I instead (0..; the prelude too, 2n+3 positions)")
    parser.add_argument("--from", dest="start", type=int, default=None, metavar="T",
                        help="spacetime/verification: start the window at machine step T")
    parser.add_argument("--to", dest="stop", type=int, default=None, metavar="T",
                        help="spacetime/verification: end the window at machine step T (inclusive)")
    parser.add_argument("--slide", action="store_true", help="a 16:9 figure, for slides")
    max_steps_argument(parser, TRACE_MAX_STEPS, ": every activation is kept in memory")
    parser.add_argument("--normalised", action="store_true",
                        help="spacetime/diagram: show the normalised machine M' the transformer runs")
    parser.add_argument("--output", "-o", default=None, metavar="OUT",
                        help="write the figure to OUT (.png, .svg or .pdf); without it, print text")


def run_trace(args) -> int:
    """The ``trace`` command: returns the exit status (errors are raised as TuringformerError)."""
    from turingformer.analysis.inspect import run_with_cache
    from turingformer.compiler.perez.verify import verify
    from turingformer.runtime.fast import decode_fast
    from turingformer.tm.simulator import run

    if args.output is not None and Path(args.output).suffix.lower() not in FIGURE_SUFFIXES:
        raise TuringformerError(f"cannot write a figure to {args.output!r}",
                                hint=f"use one of {', '.join(FIGURE_SUFFIXES)}")
    if args.position is not None and args.view != "residual":
        raise TuringformerError(f"--position picks a decoder position of the residual view, not of {args.view}",
                                hint="use --step T (a machine step), or --view residual")
    if args.position is not None and args.step is not None:
        raise TuringformerError("--step and --position both choose the residual's position",
                                hint="give one: --step T (a machine step) or --position I (a decoder position)")
    _, machine, word = machine_and_input(args)
    if args.view == "diagram":
        if args.output is None:
            if args.normalised:
                from turingformer.compiler.perez.normalize import normalize

                machine = normalize(machine).machine
            print("\n".join(str(rule) for rule in machine.rules))
            return 0
        current = fired = None
        if args.step is not None:
            if args.normalised:
                raise TuringformerError("--step lights a step of the machine itself, not of M'",
                                        hint="drop --normalised, or drop --step")
            run_ = run(machine, word, max_steps=args.max_steps)
            if not 0 <= args.step <= run_.steps:
                raise TuringformerError(f"--step {args.step} is not a step of this run (0..{run_.steps})",
                                        hint="steps count the machine's rules as simulate does")
            current = run_.states[args.step]
            if args.step:
                fired = (run_.states[args.step - 1], run_[args.step - 1].symbol)
        save(state_diagram(machine, normalised=args.normalised, current=current, fired=fired, slide=args.slide,
                           step=args.step), args.output)
        return _wrote(args.output)
    if args.view == "verification":
        checked = verify(machine, word, max_steps=args.max_steps, decoder=decode_fast)
        if not checked.reference.halted:
            step_limit_note(args.max_steps)
        table = verification_table(checked, start=args.start, stop=args.stop)
        if args.output is None:
            print(table)
        else:
            save(verification_figure(table, slide=args.slide), args.output)
            _wrote(args.output)
        return 0 if table.ok else 1
    cache = run_with_cache(machine, word, max_steps=args.max_steps)
    if not cache.trace.halted:
        step_limit_note(args.max_steps)
    if args.view == "spacetime":
        if args.output is None:      # simulate's table: every row on one grid of cells
            print("\n".join(table_lines(cache.normalised_trace() if args.normalised else cache.trace)))
            return 0
        fig = spacetime(cache, normalised=args.normalised, start=args.start, stop=args.stop, slide=args.slide)
    elif args.view == "attention":
        if args.output is None:
            for i in range(len(cache)):
                parts = []
                for hook, first in (("decoder.1.cross", 1), ("decoder.3.attn", 0)):
                    if hook + ".winners" in cache:
                        won = cache[hook + ".winners", i]
                        parts.append(f"{hook} attends to {[j + first for j in won] if len(won) < 4 else 'all'}")
                print(f"i={i:<5} " + "  ".join(parts))
            return 0
        fig = attention_patterns(cache, slide=args.slide)
    else:
        if args.position is None:
            step, steps = args.step or 0, len(cache.positions())
            if not 0 <= step < steps:
                raise TuringformerError(f"--step {step} is not a machine step of this run (0..{steps - 1})",
                                        hint="steps count the machine's rules as simulate does; --position I "
                                             "picks a decoder position")
            position = cache.position(step)
        else:
            position = args.position
            if not 0 <= position < len(cache):
                raise TuringformerError(f"--position {position} is not a decoder position of this run "
                                        f"(0..{len(cache) - 1})",
                                        hint="decoder positions count the prelude too: the machine starts at 2n+3")
        if args.output is None:
            for hook, label in RESIDUAL_STAGES:
                print(f"== {label}\n{cache.table(hook, position)}\n")
            return 0
        fig = residual(cache, position, slide=args.slide)
    save(fig, args.output)
    return _wrote(args.output)


def _wrote(path) -> int:
    print(f"wrote {path}")
    return 0
