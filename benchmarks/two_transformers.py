"""One machine, two transformers (issue 14): the Pérez decoder and the looped computer side by side.

    python benchmarks/two_transformers.py [--quick] [--sample-loops L] [--output docs/two-transformers.md] [--no-write]
    python benchmarks/two_transformers.py --corpus [--teaching] [--verify] [--max-cells M]

For every teaching machine (machines/*.yaml, on its longest-running example; BB(2)-BB(4) are the
teaching files busy_beaver_*.yaml) it compiles the machine both ways and measures, on the fast exact paths:

* Pérez (compiler/perez, decoded by runtime.fast.decode_fast): layers, width d, non-zero
  weights, decoder positions (one per step plus the prelude), the largest numerator/denominator
  bit length of any activation over the whole run (analysis.precision.bit_growth, every hook),
  whether float32/float64 reproduce the run (analysis.precision.compare: no divergence), wall and
  CPU time per machine step of run_model;
* looped (compiler/bridge, SUBLEQ-U/3L on the tightest tape block of the run): layers, d,
  non-zero weights, punch-card columns, loops per machine step (mean and largest), the largest
  card entry over the whole run in bits and the certified bound on every integer a block forms
  from such cards (analysis.precision.looped_precision), the numerator/denominator bits of every
  activation on the Fraction runtime over the first L loops (``--sample-loops``), whether the
  float32/float64 cards equal the exact card at every loop, wall and CPU time per machine step of
  run_machine_model (integer path);

``--corpus`` instead runs every corpus case (../shared/corpus/EXPECTED.json) that halts within
2,000 steps and fits a tape block of 300 cells: ``compile --construction looped-machine`` on its tightest block,
then ``turingformer run MODEL --json`` in a fresh process against ``simulate --json`` (the outputs
must be equal), for programs of at most ``--max-cells`` cells (each loop attends over all M + 1
columns; larger programs are listed with their size and not run). ``--teaching`` does the same for
every example of machines/*.yaml; ``--verify`` also runs ``turingformer verify FILE --construction looped-machine
looped`` on each (every machine step against the simulator, every loop against the interpreter).

And, for BB(5), that the looped run on a block of 300 cells stops with ``tape bound``. Every run is
checked against the simulator first. The Markdown table replaces the block between the markers in
``docs/two-transformers.md`` (with the date and the load average) unless ``--no-write``; the raw
figures go to ``benchmarks/two_transformers.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from turingformer.analysis.precision import looped_precision  # noqa: E402
from turingformer.analysis.precision import _bits, bit_growth, compare  # noqa: E402
from turingformer.compiler.bridge.model import card_states, run_machine_model  # noqa: E402
from turingformer.compiler.bridge.tm_to_subleq import compile_looped, machine_to_program as to_subleq  # noqa: E402
from turingformer.compiler.perez.construction import compile_machine  # noqa: E402
from turingformer.compiler.perez.decoding import run_model  # noqa: E402
from turingformer.runtime.fast import decode_fast  # noqa: E402
from turingformer.tm import simulator  # noqa: E402
from turingformer.tm.formats import load_machine, loads_machine, prepare_input  # noqa: E402

BEGIN, END = "<!-- two-transformers:begin -->", "<!-- two-transformers:end -->"
BB5 = "1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA"


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def perez(machine, word: str, steps: int) -> dict:
    model = compile_machine(machine)
    result, wall, cpu = timed(lambda: run_model(model, word, decoder=decode_fast, keep_steps=False))
    assert result.trace == simulator.run(machine, word), machine.name
    positions = result.positions
    growth = bit_growth(model, word, max_steps=positions, decoder=decode_fast)
    floats = {dtype: compare(model, word, dtype=dtype, max_steps=positions).first_divergence is None
              for dtype in ("float32", "float64")}
    t = model.transformer
    return {"layers": f"{len(t.encoder)} + {len(t.decoder)}", "d": t.d, "parameters": t.nonzero_weights(),
            "positions": positions, "numerator_bits": max(growth.numerator), "denominator_bits": max(growth.denominator),
            **floats, "wall_per_step": wall / max(1, steps), "cpu_per_step": cpu / max(1, steps)}


def sampled_bits(model, loops: int) -> tuple[int, int]:
    """Numerator/denominator bits of every activation (Fraction runtime, every hook) over ``loops`` loops."""
    t, X = model.looped.transformer, model.looped.card
    num = den = 0
    for _ in range(loops):
        X, acts = t.step(X, capture=None)
        a, b = _bits([v for hook, v in acts.items() if not hook.endswith(".winners")])
        num, den = max(num, a), max(den, b)
    return num, den


def looped(machine, word: str, reference, sample_loops: int) -> dict:
    low, high = min(0, *reference.heads), max(len(word) - 1, *reference.heads)
    compiled, model = compile_looped(machine, word, tape_cells=high - low + 1, head_offset=-low)
    (trace, loops), wall, cpu = timed(lambda: run_machine_model(model))
    assert trace == reference, machine.name
    entries = set(model.layout.entries)
    starts = [t for t, (pc, _) in enumerate(card_states(model.looped)) if pc in entries]
    per_step = [b - a for a, b in zip(starts, starts[1:])]
    precision = looped_precision(model, loops)
    sample = min(loops, sample_loops) if model.looped.n <= 300 else 0
    num, den = sampled_bits(model, sample) if sample else (None, None)
    t = model.looped.transformer
    return {"layers": len(t.blocks), "d": len(t.space), "parameters": t.nonzero_weights(), "positions": model.looped.n,
            "tape_cells": model.layout.tape_cells, "N": compiled.program.bits, "M": compiled.program.cells,
            "loops": loops, "loops_per_step": loops / max(1, reference.steps), "max_loops_per_step": max(per_step, default=0),
            "entry_bits": precision.entry_bits, "integer_bits": precision.integer_bits,
            "sample_numerator_bits": num, "sample_denominator_bits": den, "sample_loops": sample,
            "float32": precision.float_departure["float32"] is None, "float64": precision.float_departure["float64"] is None,
            "wall_per_step": wall / max(1, reference.steps), "cpu_per_step": cpu / max(1, reference.steps)}


def machines(quick: bool):
    paths = sorted((ROOT / "machines").glob("*.yaml"))
    if quick:
        paths = [p for p in paths if p.stem in ("binary_increment", "busy_beaver_2", "busy_beaver_3")]
    for path in paths:
        machine = load_machine(path)
        runs = [prepare_input(machine, example.input) for example in machine.examples] or [(machine, "")]
        runnable, word = max(runs, key=lambda run: simulator.run(*run).steps)
        yield path.stem, runnable, word


def bb5_tape_bound(cells: int = 300) -> dict:
    machine = loads_machine(BB5, format="bbchallenge")
    _, model = compile_looped(machine, "", tape_cells=cells)
    (trace, loops), wall, cpu = timed(lambda: run_machine_model(model, max_steps=10**6))
    reference = simulator.run(machine, "", max_steps=trace.steps)
    assert (trace.states, trace.heads, trace.writes) == (reference.states, reference.heads, reference.writes)
    return {"tape_cells": cells, "reason": trace.reason.value, "steps": trace.steps, "head": trace.final.head,
            "loops": loops, "wall_per_step": wall / trace.steps, "cpu_per_step": cpu / trace.steps}


def yes(flag: bool) -> str:
    return "yes" if flag else "**no**"


def table(rows: list[dict]) -> str:
    head = ("| machine (input) | steps | Pérez layers / d / weights | Pérez positions | Pérez bits num/den "
            "| Pérez f32 / f64 | Pérez ms/step (CPU) | looped layers / d / weights | looped columns (K, N) "
            "| loops/step mean (max) | looped bits: card / every integer (certified) / sampled num/den "
            "| looped f32 / f64 | looped ms/step (CPU) |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        p, q = r["perez"], r["looped"]
        lines.append(
            f"| {r['name']} ({r['input']!r}) | {r['steps']} | {p['layers']} / {p['d']} / {p['parameters']:,} "
            f"| {p['positions']} | {p['numerator_bits']} / {p['denominator_bits']} | {yes(p['float32'])} / {yes(p['float64'])} "
            f"| {1000 * p['wall_per_step']:.2f} ({1000 * p['cpu_per_step']:.2f}) "
            f"| {q['layers']} / {q['d']} / {q['parameters']:,} | {q['positions']} ({q['tape_cells']}, {q['N']}) "
            f"| {q['loops_per_step']:.1f} ({q['max_loops_per_step']}) "
            f"| {q['entry_bits']} / {q['integer_bits']} / "
            f"{'-' if q['sample_loops'] == 0 else str(q['sample_numerator_bits']) + '/' + str(q['sample_denominator_bits'])} "
            f"| {yes(q['float32'])} / {yes(q['float64'])} "
            f"| {1000 * q['wall_per_step']:.2f} ({1000 * q['cpu_per_step']:.2f}) |")
    return "\n".join(lines)


def campaign_cases(teaching: bool):
    """(file, input) of every corpus case that halts within 2,000 steps, or of every teaching example."""
    if teaching:
        for path in sorted((ROOT / "machines").glob("*.yaml")):
            for example in load_machine(path).examples:
                yield path, example.input
        return
    seen = set()
    for case in json.loads((ROOT.parent / "shared" / "corpus" / "EXPECTED.json").read_text(encoding="utf-8")):
        key = (case["file"], case["input"])
        if case["expected"]["halts"] and case["expected"]["steps"] <= 2000 and key not in seen:
            seen.add(key)
            yield ROOT.parent / "shared" / "corpus" / case["file"], case["input"]


def corpus(max_cells: int, teaching: bool, verify: bool) -> int:
    import subprocess
    import tempfile
    failed, ran, skipped = 0, 0, []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for path, given in campaign_cases(teaching):
            case = {"file": str(path.relative_to(path.parents[1])), "input": given}
            machine, word = prepare_input(load_machine(path), given)
            reference = simulator.run(machine, word)
            low, high = min(0, *reference.heads), max(len(word) - 1, *reference.heads)
            if high - low + 1 > 300:
                skipped.append(f"{case['file']} {case['input']!r}: needs {high - low + 1} tape cells")
                continue
            cells = to_subleq(machine, word, tape_cells=high - low + 1, head_offset=-low).program.cells
            if cells > max_cells:
                skipped.append(f"{case['file']} {case['input']!r}: a program of {cells} cells, {reference.steps} steps")
                continue
            model = str(Path(tmp) / "m.json")
            cli = [sys.executable, "-m", "turingformer"]
            common = ["--input", case["input"]]
            try:
                subprocess.run([*cli, "compile", str(path), *common, "--construction", "looped-machine", "--tape-cells",
                                str(high - low + 1), "--head-offset", str(-low), "-o", model], check=True,
                               capture_output=True, text=True)
                ran_out = subprocess.run([*cli, "run", model, "--json"], check=True, capture_output=True,
                                         text=True).stdout
            except subprocess.CalledProcessError as error:
                ran_out = f"exit {error.returncode}: {error.stderr.strip().splitlines()[-1:]}"
            sim_out = subprocess.run([*cli, "simulate", str(path), *common, "--json"], capture_output=True,
                                     text=True).stdout
            same = ran_out == sim_out
            if verify and same:
                checked = subprocess.run([*cli, "verify", str(path), *common, "--construction", "looped-machine", "--tape-cells",
                                          str(high - low + 1), "--head-offset", str(-low), "--quiet"],
                                         capture_output=True, text=True)
                same = checked.returncode == 0
                ran_out = checked.stdout + checked.stderr
            failed += not same
            ran += 1
            print(f"{'same' if same else 'DIFFERENT'}  {case['file']} {case['input']!r}: {reference.steps} steps, "
                  f"M = {cells}" + ("" if same else f" ({ran_out[:300]})"), flush=True)
    print(f"{ran} cases run from model files in fresh processes{' and verified' if verify else ''}, "
          f"{failed} different, {time.perf_counter() - started:.0f} s; not run:")
    for line in skipped:
        print(f"  {line}")
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three small machines only")
    parser.add_argument("--sample-loops", type=int, default=4, metavar="L",
                        help="loops measured on the Fraction runtime with every hook (default 4; only for "
                             "punch cards of at most 300 columns, as it costs O(n^2) Fractions per loop)")
    parser.add_argument("--output", default=str(ROOT / "docs" / "two-transformers.md"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--corpus", action="store_true",
                        help="run the corpus from model files in fresh processes instead (see above)")
    parser.add_argument("--max-cells", type=int, default=2500, metavar="M",
                        help="--corpus: the largest program run (default 2,500 cells)")
    parser.add_argument("--teaching", action="store_true", help="--corpus: every teaching example instead")
    parser.add_argument("--verify", action="store_true",
                        help="--corpus: also 'verify --construction looped-machine' every case (every step and every loop)")
    args = parser.parse_args(argv)
    if args.corpus:
        return corpus(args.max_cells, args.teaching, args.verify)
    rows = []
    for name, machine, word in machines(args.quick):
        reference = simulator.run(machine, word)
        print(f"{name} ({word!r}): {reference.steps} steps ...", file=sys.stderr, flush=True)
        rows.append({"name": name, "input": word, "steps": reference.steps,
                     "perez": perez(machine, word, reference.steps),
                     "looped": looped(machine, word, reference, args.sample_loops)})
    bb5 = None if args.quick else bb5_tape_bound()
    load = os.getloadavg()
    stamp = (f"Measured {datetime.date.today()} by `python benchmarks/two_transformers.py`"
             f"{' --quick' if args.quick else ''}; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on "
             f"{os.cpu_count()} cores (a shared machine: wall times are pessimistic, CPU times are the comparable ones).")
    text = f"{stamp}\n\n{table(rows)}\n"
    if bb5:
        text += (f"\nBB(5) on the looped computer with a block of {bb5['tape_cells']} cells: stops with "
                 f"`{bb5['reason']}` after {bb5['steps']:,} steps (head on cell {bb5['head']}), {bb5['loops']:,} loops, "
                 f"{1000 * bb5['wall_per_step']:.2f} ms per step ({1000 * bb5['cpu_per_step']:.2f} CPU); every "
                 f"configuration up to there is the simulator's.\n")
    print(text)
    (ROOT / "benchmarks" / "two_transformers.json").write_text(
        json.dumps({"stamp": stamp, "rows": rows, "bb5": bb5}, indent=1) + "\n", encoding="utf-8")
    if not args.no_write:
        path = Path(args.output)
        doc = path.read_text(encoding="utf-8")
        start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
        path.write_text(doc[:start] + "\n" + text + doc[end:], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
