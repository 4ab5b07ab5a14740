"""Produce the tables of docs/precision.md (issue 6). Not part of the test run.

    .venv/bin/python benchmarks/precision_tables.py            # everything, about 2 minutes
    .venv/bin/python benchmarks/precision_tables.py --quick    # shorter runs, about 30 seconds

Prints Markdown tables on standard output and writes every number to
``benchmarks/precision_tables.json`` (read by notebooks/05_precision.ipynb, which recomputes a
small part and checks it against this file). Float results are measurements of the INEXACT float
modes of :mod:`turingformer.runtime.floating`; the exact runtime is the reference.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from turingformer.compiler.perez.construction import compile_machine  # noqa: E402
from turingformer.tm.formats import load_machine  # noqa: E402
from turingformer.analysis.precision import (  # noqa: E402
    beta_threshold, bit_growth, compare, layer3_margins, predicted_window, verify_scores,
)
from turingformer.runtime.transformer import decode  # noqa: E402

#: (label, file, input, decoder-step budget for the float comparisons)
MACHINES = [
    ("zig-zag walker", "benchmarks/machines/zigzag_walker.yaml", "", 20_000),
    ("binary counter", "benchmarks/machines/binary_counter.yaml", "0", 20_000),
    ("BB(4)", "machines/busy_beaver_4.yaml", "", 2_000),
    ("palindrome (decider)", "machines/palindrome.yaml", "abba" * 6, 2_000),
]
DTYPES = ("float16", "float32", "float64")
STYLES = ("sum", "weighted")
BITS_STEPS = 1000
BETA_MACHINE = "zig-zag walker"
BETA_T = (10, 20, 50, 100, 200, 500, 1000)
OUT = ROOT / "benchmarks" / "precision_tables.json"


def command(path: str, word: str, budget: int) -> str:
    return f"turingformer precision {path} --input '{word}' --max-steps {budget}"


def at(step, m) -> str:
    if step is None:
        return "—"
    return f"{step}" + ("" if m is None else f" (M {m})")


def divergence_tables(machines, data) -> None:
    print("\n## First divergence (decoder step i; machine step in parentheses)\n")
    for label, path, word, budget in machines:
        model = compile_machine(load_machine(ROOT / path))
        rows = []
        for dtype in DTYPES:
            for style in STYLES:
                r = compare(model, word, dtype=dtype, averaging=style, max_steps=budget)
                d = r.as_dict()
                d.pop("hooks")
                d["label"] = label
                d["command"] = command(path, word, budget)
                data["divergence"].append(d)
                g = r.diagnosis
                units = "—" if g is None else f"{g['rounding_units']:.2g}"
                share = "—" if g is None or g["layer2_fraction"] is None else f"{g['layer2_fraction']:.2f}"
                rows.append((dtype, style, at(r.first_layer3, r.machine_steps["first_layer3"]),
                             at(r.first_divergence, r.machine_steps["first_divergence"]),
                             r.layer_broke_first or "—", units, share, r.steps_compared,
                             "halted" if r.reference_halted else ("diverged" if r.first_divergence is not None else "limit"),
                             f"{r.seconds:.1f}"))
        print(f"**{label}** on `{word!r}` — `{command(path, word, budget)}`\n")
        print("| dtype | averaging | layer 3 first differs | output first diverges | layer that broke first "
              "| gap at the break (rounding units) | layer-2 share of the score error | steps compared | end | s |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(map(str, row)) + " |")
        print()


def window_table(machines, data) -> None:
    print("\n## Predicted float16 window vs measured (from the exact layer-3 margins)\n")
    print("| machine | earliest (gap < 8 rounding units) | latest (recency term underflows) "
          "| measured, sum | measured, weighted |")
    print("|---|---|---|---|---|")
    for label, path, word, _ in machines:
        model = compile_machine(load_machine(ROOT / path))
        margins = layer3_margins(model, word, max_steps=400)
        lo, hi = predicted_window(margins, "float16")
        measured = [next((d["first_layer3"] for d in data["divergence"]
                          if d["label"] == label and d["dtype"] == "float16" and d["averaging"] == s), None)
                    for s in STYLES]
        data["windows"].append({"label": label, "earliest": lo, "latest": hi, "measured": measured})
        print(f"| {label} | {lo} | {hi} | {measured[0]} | {measured[1]} |")


def bits_table(machines, data, steps: int) -> None:
    print(f"\n## Bits (exact run, all activations, up to {steps} decoder steps)\n")
    print("| machine | steps | max numerator bits | max denominator bits | denominator fit a·log2 t + b | R² "
          "| rms (log / linear) | numerator fit | verdict | per-layer denominator slopes | s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for label, path, word, _ in machines:
        model = compile_machine(load_machine(ROOT / path))
        g = bit_growth(model, word, max_steps=steps, decoder=decode)
        fd, fn = g.fit_denominator, g.fit_numerator
        slopes = ", ".join(f"{layer}: {fits['denominator'].a:.2f}" for layer, fits in sorted(g.per_layer_fits.items()))
        data["bits"].append({"label": label, "word": word, "t": g.t, "numerator": g.numerator,
                             "denominator": g.denominator,
                             "per_layer": g.per_layer,
                             "fit_denominator": vars(fd), "fit_numerator": vars(fn),
                             "per_layer_slopes": {k: v["denominator"].a for k, v in g.per_layer_fits.items()},
                             "seconds": g.seconds})
        print(f"| {label} | {len(g.t)} | {max(g.numerator)} | {max(g.denominator)} | {fd.a:.2f}·log2 t + {fd.b:.2f} "
              f"| {fd.r2:.3f} | {fd.rms:.2f} / {fd.linear_rms:.2f} | {fn.a:.2f}·log2 t + {fn.b:.2f} "
              f"| {fd.verdict} | {slopes} | {g.seconds:.0f} |")


def beta_table(machines, data, ts) -> None:
    label, path, word, _ = next(m for m in machines if m[0] == BETA_MACHINE)
    model = compile_machine(load_machine(ROOT / path))
    print(f"\n## Soft attention: beta*(T) on the {label} (float64, Reader tolerance 0.1, bisection to 5%)\n")
    print("| T (machine steps) | decoder steps | beta* | largest failing beta | evaluations | s |")
    print("|---|---|---|---|---|---|")
    rows = []
    for T in ts:
        r = beta_threshold(model, word, T, rel=0.05)
        rows.append(r)
        data["beta"].append({**r.as_dict(), "label": label})
        print(f"| {T} | {r.decoder_steps} | {r.beta:.3g} | {r.beta_fails:.3g} | {r.evaluations} | {r.seconds:.1f} |")
    good = [r for r in rows if r.beta and r.steps >= 50]
    if len(good) >= 2:
        x = np.log([r.decoder_steps for r in good])
        y = np.log([r.beta for r in good])
        p, c = np.polyfit(x, y, 1)
        data["beta_fit"] = {"exponent": p, "log_constant": c, "from_T": good[0].steps}
        print(f"\nlog beta* ≈ {p:.2f}·log T + {c:.2f} for T ≥ {good[0].steps} (decoder steps): beta* ~ T^{p:.1f}")


def scores_table(machines, data) -> None:
    print("\n## Score variants (exact runs against the simulator)\n")
    print("| machine | input | score | steps | trace equal | layer 1 unique for i+1 ≤ n | layer-1 ties past the input "
          "| layer-3 ties |")
    print("|---|---|---|---|---|---|---|---|")
    for label, path, word, _ in machines:
        machine = load_machine(ROOT / path)
        for c in verify_scores(machine, word, max_steps=300):
            data["scores"].append({**c.as_dict(), "label": label})
            print(f"| {label} | `{word!r}` | {c.score} | {c.steps} | {c.trace_equal} | {c.layer1_unique_inside} "
                  f"| {c.layer1_ties_outside} | {c.layer3_ties} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 30 seconds)")
    parser.add_argument("--json", default=str(OUT), help=f"where to write the numbers (default {OUT})")
    args = parser.parse_args(argv)
    machines = MACHINES
    bits_steps, ts = BITS_STEPS, BETA_T
    if args.quick:
        machines = [(a, b, c, min(d, 3000)) for a, b, c, d in MACHINES]
        bits_steps, ts = 300, BETA_T[:5]
    data = {"quick": args.quick, "divergence": [], "windows": [], "bits": [], "beta": [], "scores": []}
    started = time.perf_counter()
    print("All float results are INEXACT float modes (turingformer.runtime.floating) measured against the exact runtime.")
    for section in (lambda: divergence_tables(machines, data), lambda: window_table(machines, data),
                    lambda: bits_table(machines, data, bits_steps), lambda: beta_table(machines, data, ts),
                    lambda: scores_table(machines, data)):
        t = time.perf_counter()
        section()
        print(f"\n_(section: {time.perf_counter() - t:.0f} s)_")
    data["seconds"] = time.perf_counter() - started
    print(f"\n_total: {data['seconds']:.0f} s_")
    Path(args.json).write_text(json.dumps(data, indent=1, default=_default))
    return 0


def _default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, float) and math.isinf(value):
        return str(value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
