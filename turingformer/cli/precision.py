"""``turingformer precision``: the float-versus-exact report (:mod:`turingformer.analysis.precision`)."""

from __future__ import annotations

import argparse
import json
import sys

from turingformer.analysis.precision import compare, decoder_positions
from turingformer.cli.common import input_arguments, machine_and_input, max_steps_argument
from turingformer.compiler.perez.construction import compile_machine
from turingformer.runtime.floating import resolve_dtype
def precision_arguments(parser: argparse.ArgumentParser, *, machine_options: bool = False) -> None:
    """The options of ``turingformer precision`` (FILE and --format come from the CLI's
    ``machine`` parent unless ``machine_options``)."""
    if machine_options:
        parser.add_argument("file", metavar="FILE", help="a machine file")
        parser.add_argument("--format", "-f", metavar="F", help="the file's format, when detection fails")
    input_arguments(parser, "the file's first example, else empty")
    parser.add_argument("--dtype", default="float16,float32,float64", metavar="LIST",
                        help="comma-separated float types to test (default float16,float32,float64)")
    max_steps_argument(parser, 2000, "; the comparison covers the decoder steps of the prelude and of stay "
                                     "moves too")
    parser.add_argument("--averaging", choices=("sum", "weighted", "both"), default="both",
                        help="average-hard attention in float: sum = (Σ v_j)/r, weighted = Σ fl(1/r)·v_j "
                             "(default both)")
    parser.add_argument("--tolerance", type=float, default=None, metavar="EPS",
                        help="hardmax tie tolerance in the float runs (default 0: exact float ties)")
    parser.add_argument("--reference", choices=("auto", "fast", "exact"), default="auto",
                        help="the exact runtime to compare with (default: the fast exact one if available)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per float run")


PRECISION_HELP = "measure where float16/32/64 (inexact) runs of the weights break"
PRECISION_DESCRIPTION = (
    "Run the compiled weights exactly and in floating point (INEXACT modes: float16, float32, float64) "
    "side by side and report, per dtype and averaging style, the first decoder step where layer 3's "
    "attention picks another key than the exact run, the first step where the float output diverges, "
    "and which layer broke first. Steps are decoder steps i (the 2n+3 prelude included); the matching "
    "machine step is given in parentheses.")


def run_precision(args: argparse.Namespace, out=None) -> int:
    out = out or sys.stdout
    _, machine, word = machine_and_input(args)
    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
    for d in dtypes:
        resolve_dtype(d)
    styles = ("sum", "weighted") if args.averaging == "both" else (args.averaging,)
    model = compile_machine(machine)
    budget = decoder_positions(machine, word, args.max_steps)
    results = [compare(model, word, dtype=d, averaging=s, max_steps=budget, tolerance=args.tolerance,
                       reference=args.reference) for d in dtypes for s in styles]
    if args.json:
        for r in results:
            print(json.dumps(r.as_dict(), default=str), file=out)
        return 0
    first = results[0] if results else None
    print(f"precision of {machine.name or args.file} on {word!r}: INEXACT float runs of the same weights "
          f"against the {first.reference if first else 'exact'} runtime", file=out)
    if first:
        longest = max(results, key=lambda r: r.steps_compared)
        end = ("the exact run halted there" if longest.reference_halted
               else "a float run diverged first" if longest.first_divergence is not None else "the step limit")
        print(f"compared up to {longest.steps_compared} decoder steps (limit {budget:,} = {args.max_steps:,} machine "
              f"steps; {end}); "
              f"steps are decoder steps i, machine step in parentheses", file=out)
    header = ("dtype", "averaging", "layer 3 differs", "output diverges", "broke first")
    rows = [(r.dtype + " (inexact)", r.averaging, _at(r.first_layer3, r.machine_steps["first_layer3"]),
             _at(r.first_divergence, r.machine_steps["first_divergence"]),
             "-" if r.broke_first is None else f"{r.broke_first} at {r.first_broken}") for r in results]
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)), file=out)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)), file=out)
    for r in results:
        if r.diagnosis:
            g = r.diagnosis
            stale = "an older write to the same cell" if g["same_cell"] else "another cell"
            print(f"{r.dtype}/{r.averaging}: at step {g['step']} layer 3 chose position {g['chosen']} ({stale}) "
                  f"instead of {g['exact_winner']}: exact score gap {g['exact_score_gap']:.3g} "
                  f"(= {g['rounding_units']:.2g} rounding units of the cancelling terms); float error of the gap "
                  f"{g['total_gap_error']:.3g}, of which {g['layer2_gap_error']:.3g} from the layer-2 averages", file=out)
    print("'-' = no difference within the compared steps. Float modes are measurements of rounding, "
          "not the construction: only the exact runtime is the model.", file=out)
    return 0


def _at(step: int | None, m: int | None) -> str:
    if step is None:
        return "-"
    return f"{step}" + ("" if m is None else f" (M {m})")
