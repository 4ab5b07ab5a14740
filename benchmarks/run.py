"""Decoder benchmarks: exact fast decoding (and float64) against the simulator and the plain paths.

    python benchmarks/run.py [--quick] [--output docs/benchmarks.md] [--no-write]

For each machine (a zig-zag binary counter, the BB(5) champion's first steps, a base-16 counter
with a 17-symbol alphabet, and Morphett's universal machine, d = 289, when the corpus and the
loaders are present) it decodes T = 100, 1,000 and 10,000 decoder steps (``--quick``: 100 and
1,000) and reports, per decoder:

* ``fast``: :func:`turingformer.runtime.fast.decode_fast`, exact (the compiled kernel, yielding one
  Step of Fractions per position);
* ``fast-python``: the same with ``compiled=False`` (the certified Python path);
* ``float64``: :func:`turingformer.runtime.floating.decode_float` (inexact; skipped if the module is absent);
* ``plain``: :func:`turingformer.runtime.transformer.decode`, exact, cached, T ≤ 1,000 only;
* ``naive``: :func:`turingformer.runtime.transformer.decode_naive`, T ≤ 200 only.

Columns: total seconds, steps/s, the time per step over the last 10 % of the steps, peak RSS of
the measuring process (each measurement runs in a fresh subprocess, so peaks do not mix) and its
growth during decoding, the ratio to the reference simulator running the same normalised machine
for the same number of steps, and the log-log slope of total time in T between 1,000 and
10,000. Also times BB(4) compiled and verified end to end (compile, decode through
``run_model`` with ``decode_fast``, compare with the simulator). Writes Markdown to
``docs/benchmarks.md`` (with the CPU, cores, Python, date and load) unless ``--no-write``.

Decoding captures no hooks (``capture=()``), i.e. it measures the decoder itself; ``run_model``
also captures one hook per step and reads every output back, which is reported separately.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
UNIVERSAL_INPUT = ("[ R+++++++, R+, R++! L++,0R.,1R.: L++,0R.,1R.: R++++, L++, L+++++: R+++, L++++, "
                   "L+: R++,0L+,1L+: R------,0L.,1L.:1L++,,:0L+, L., L.:,,:]1001")


# ---------------------------------------------------------------------------------- machines
def bbchallenge(code: str, name: str):
    from turingformer.tm.formats import loads_machine

    return loads_machine(code, "bbchallenge").replace(name=name)


def counter(base: int):
    """Counts up in base ``base`` forever; the head zig-zags over a growing tape."""
    from turingformer.tm.machine import Rule, TuringMachine

    digits = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    top = digits[-1]
    rules = [Rule("inc", top, "0", "L", "inc"), Rule("inc", "_", "1", "R", "right"),
             Rule("right", "_", "_", "L", "inc")]
    for k, d in enumerate(digits):
        if d != top:
            rules.append(Rule("inc", d, digits[k + 1], "R", "right"))
        rules.append(Rule("right", d, d, "R", "right"))
    return TuringMachine(states=["inc", "right"], start="inc", blank="_", rules=rules,
                         input_alphabet=list(digits), name=f"base-{base} counter")


def machine(name: str):
    """(machine, input word, description) for a benchmark machine name."""
    if name == "counter2":
        return counter(2), "", "binary counter (zig-zag over a growing tape)"
    if name == "bb5":
        return (bbchallenge("1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA", "BB(5)"), "",
                "BB(5) champion, first steps (busy beaver)")
    if name == "counter16":
        return counter(16), "", "base-16 counter (|Σ| = 17, large alphabet)"
    if name == "universal":
        from turingformer.tm.formats import load_machine, prepare_input

        m, word = prepare_input(load_machine(CORPUS / "morphett" / "universal.txt"), UNIVERSAL_INPUT)
        return m, word, "Morphett's universal TM (|Q| = 102, |Σ| = 16, long input)"
    raise ValueError(name)


def available_machines() -> list[str]:
    names = ["counter2", "bb5", "counter16"]
    if (CORPUS / "morphett" / "universal.txt").exists():
        names.append("universal")
    return names


# ---------------------------------------------------------------------------------- worker
def _rss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(name: str, decoder: str, steps: int) -> dict:
    """Runs in a fresh process: decode ``steps`` steps of ``name`` with ``decoder``."""
    from turingformer.compiler.perez.construction import compile_machine
    from turingformer.compiler.perez.normalize import normalize
    from turingformer.tm.simulator import run

    m, word, _ = machine(name)
    model = compile_machine(m)
    tokens = model.labels.encoder_input(word)
    t = model.transformer
    if decoder == "naive":
        from turingformer.runtime.transformer import decode_naive
    elif decoder in ("fast", "fast-python"):
        from collections import Counter

        from turingformer.runtime.fast import decode_fast

        counts = Counter()

        def run_decoder(model, tokens, **kw):
            return decode_fast(model, tokens, stats=counts, compiled=decoder == "fast", **kw)
    elif decoder == "plain":
        from turingformer.runtime.transformer import decode as run_decoder
    else:
        from turingformer.runtime.floating import decode_float

        def run_decoder(model, tokens, **kw):
            return decode_float(model, tokens, dtype="float64", **kw)
    before = _rss_kb()
    stamps = []
    clock = time.process_time          # CPU seconds: on a shared machine wall time measures the neighbours
    start = clock()
    if decoder == "naive":
        decode_naive(t, tokens, steps)
        stamps = [clock()]
    else:
        for _ in run_decoder(t, tokens, max_steps=steps):
            stamps.append(clock())
    total = stamps[-1] - start
    tail = max(1, len(stamps) // 10)
    last = (stamps[-1] - stamps[-1 - tail]) / tail if len(stamps) > tail else total / max(1, len(stamps))
    peak = _rss_kb()
    nm = normalize(m)
    sim_start = clock()
    run(nm.machine, nm.tape_input(word), max_steps=steps, record=False)
    sim = clock() - sim_start
    return {"name": name, "decoder": decoder, "steps": steps, "decoded": len(stamps) if decoder != "naive" else steps,
            "total": total, "last": last, "rss_kb": peak, "rss_growth_kb": peak - before, "simulator": sim,
            "d": t.d, "decisions": dict(counts) if decoder.startswith("fast") else None}


def _qualify(filename: str, line: int, function: str) -> str:
    """``module.Class.method`` for a profiled function (the class found by indentation)."""
    if not line or not filename.endswith(".py"):
        return function
    try:
        source = Path(filename).read_text(encoding="utf-8").splitlines()
    except OSError:
        return f"{Path(filename).stem}.{function}"
    owner = ""
    text = source[line - 1] if line <= len(source) else ""
    if text.startswith((" ", "\t")):
        for k in range(line - 2, -1, -1):
            if source[k].startswith("class "):
                owner = source[k][6:].split("(")[0].split(":")[0].strip() + "."
                break
            if source[k] and not source[k][0].isspace() and not source[k].startswith(("#", "@", ")")):
                break
    return f"{Path(filename).stem}.{owner}{function}"


def profile(name: str, steps: int, decoder: str = "fast", top: int = 10) -> dict:
    """Runs in a fresh process: cProfile of a decoder on ``name`` for ``steps`` steps."""
    import cProfile
    import pstats

    from functools import partial

    from turingformer.compiler.perez.construction import compile_machine
    from turingformer.runtime.fast import decode_fast
    from turingformer.runtime.transformer import decode

    run_decoder = partial(decode_fast, compiled=False) if decoder == "fast-python" else decode

    m, word, _ = machine(name)
    model = compile_machine(m)
    tokens = model.labels.encoder_input(word)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in run_decoder(model.transformer, tokens, max_steps=steps):
        pass
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (filename, line, function), (_, calls, tottime, cumtime, _) in stats.stats.items():
        where = _qualify(filename, line, function)
        rows.append((tottime, cumtime, calls, where))
    rows.sort(reverse=True)
    focus = [r for r in rows if r[3].endswith(("transformer.hardmax", "fast._Attention.decide"))]
    return {"name": name, "steps": steps, "total": total, "decoder": decoder,
            "rows": [{"where": w, "calls": c, "tottime": t, "cumtime": cu} for t, cu, c, w in rows[:top]],
            "focus": [{"where": w, "calls": c, "tottime": t, "cumtime": cu} for t, cu, c, w in focus]}


def run_worker(name: str, decoder: str, steps: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", name, decoder, str(steps)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def per_position(mode: str, steps: int) -> dict:
    """Runs in a fresh process: the BB(5) champion through ``decode_chunks`` (``chunks``: the
    compiled kernel's arrays), ``decode_fast`` (``steps``: one Step of Fractions per position) or
    ``decode_fast(compiled=False)`` (``python``), no hooks: CPU µs and bytes of peak RSS growth per
    decoder position (the caches: keys, values, index)."""
    from turingformer.compiler.perez.construction import compile_machine
    from turingformer.runtime.fast import decode_chunks, decode_fast

    model = compile_machine(machine("bb5")[0]).transformer
    before = _rss_kb()
    start = time.process_time()
    if mode == "chunks":
        n = sum(len(c) for c in decode_chunks(model, [], max_steps=steps))
    else:
        n = sum(1 for _ in decode_fast(model, [], max_steps=steps, compiled=mode == "steps"))
    cpu = time.process_time() - start
    return {"mode": mode, "steps": n, "us": 1e6 * cpu / n, "bytes": (_rss_kb() - before) * 1024 / n,
            "load": " ".join(f"{x:.2f}" for x in os.getloadavg())}


PER_POSITION = (("chunks", 10 ** 6), ("steps", 10 ** 6), ("python", 10 ** 5))


def end_to_end_bb4() -> dict:
    """BB(4): compile, decode via run_model with decode_fast, compare with the simulator."""
    from turingformer.compiler.perez.construction import compile_machine
    from turingformer.compiler.perez.decoding import run_model
    from turingformer.runtime.fast import decode_fast
    from turingformer.tm.simulator import run
    from turingformer.compiler.perez.verify import compare_traces

    bb4 = bbchallenge("1RB1LB_1LA0LC_1RZ1LD_1RD0RA", "BB(4)")
    start = time.process_time()
    model = compile_machine(bb4)
    result = run_model(model, "", decoder=decode_fast, keep_steps=False)
    ok = compare_traces(run(bb4, ""), result.trace) is None and result.steps == 107
    return {"seconds": time.process_time() - start, "ok": ok, "decoder_steps": result.positions}


# ---------------------------------------------------------------------------------- report
def machine_info() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import flint
    import numpy

    return {
        "cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
        "numpy": numpy.__version__, "python-flint": flint.__version__,
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def _ms(r: dict) -> str:
    """Time per step at the end, in ms (not defined for the naive oracle, which returns at once)."""
    return "–" if r["decoder"] == "naive" else f"{1000 * r['last']:.3f}"


def slope(rows: list[dict], decoder: str, name: str) -> str:
    times = {r["steps"]: r["total"] for r in rows if r["decoder"] == decoder and r["name"] == name}
    if 1000 in times and 10000 in times:
        return f"{math.log(times[10000] / times[1000]) / math.log(10):.2f}"
    return "–"


def targets(rows: list[dict], bb4: dict, names: list[str]) -> list[str]:
    """The issue's targets against the measured fast-decoder numbers."""
    def fast(name, T):
        return next((r["total"] for r in rows if r["name"] == name and r["decoder"] == "fast"
                     and r["steps"] == T), None)

    def worst(T):
        values = [(fast(n, T), n) for n in names if fast(n, T) is not None]
        return max(values) if values else None

    out = ["| target | measured (fast, worst machine) | met |", "|---|---|---|",
           f"| BB(4) compiled and verified end to end < 1 s | {bb4['seconds']:.3f} s | "
           f"{'yes' if bb4['ok'] and bb4['seconds'] < 1 else 'NO'} |"]
    for T, limit in ((1000, 1.0), (10000, 15.0)):
        w = worst(T)
        if w:
            out.append(f"| T = {T:,} decoder steps < {limit:g} s | {w[0]:.3f} s ({w[1]}) | "
                       f"{'yes' if w[0] < limit else 'NO'} |")
    slopes = [(float(slope(rows, "fast", n)), n) for n in names if slope(rows, "fast", n) != "–"]
    if slopes:
        top = max(slopes)
        out.append(f"| total time grows no faster than T^2.1 (10³→10⁴) | slope {top[0]:.2f} ({top[1]}) | "
                   f"{'yes' if top[0] <= 2.1 else 'NO'} |")
    return out


def render_profile(profiles: list[dict]) -> list[str]:
    lines = ["## Where the time goes", ""]
    for prof in profiles:
        what = ("the Python path of `decode_fast` (`compiled=False`; the compiled kernel is C, out of cProfile's sight)"
                if prof["decoder"] == "fast-python" else "the plain `transformer.decode`")
        lines += [f"cProfile of {what} on the binary counter, T = {prof['steps']:,} "
                  f"({prof['total']:.2f} s under the profiler, which inflates Python-level calls). "
                  "Top functions by own time:", "",
                  "| function | calls | own time (s) | share | cumulative (s) |", "|---|---:|---:|---:|---:|"]
        for r in prof["rows"][:10 if prof["decoder"] == "fast-python" else 6]:
            lines.append(f"| `{r['where']}` | {r['calls']:,} | {r['tottime']:.3f} | "
                         f"{100 * r['tottime'] / prof['total']:.0f} % | {r['cumtime']:.3f} |")
        for r in prof.get("focus", []):
            lines += ["", f"`{r['where']}` (every attention decision, including what it calls): "
                      f"{r['cumtime']:.2f} s cumulative = {100 * r['cumtime'] / prof['total']:.0f} % of the run."]
        lines.append("")
    return lines


def render(rows: list[dict], info: dict, bb4: dict, names: list[str], quick: bool,
           command: str, prof: list[dict] | None = None) -> str:
    lines = [
        "# Benchmarks: exact fast decoding",
        "",
        f"Measured with `{command}` on {info['date']}: {info['cpu']}, {info['cores']} cores, "
        f"Python {info['python']}, numpy {info['numpy']}, python-flint {info['python-flint']}; "
        f"load average at the end {info['load']} (other work was running on the machine).",
        "",
        "Decoders: **fast** = `turingformer.runtime.fast.decode_fast` (exact, bit-for-bit the plain decoder's "
        "outputs; the compiled kernel, one `Step` of Fractions per position); **fast-python** = the same with "
        "`compiled=False` (the certified Python path); "
        "**float64** = `turingformer.runtime.floating.decode_float(dtype='float64')` (inexact); "
        "**plain** = `transformer.decode` (exact, cached; T ≤ 1,000); **naive** = `decode_naive` "
        "(T ≤ 200). T counts decoder steps; no hooks captured. Times are CPU seconds of the measuring "
        "process (on a quiet machine they equal wall seconds; on a shared one wall time measures the "
        "neighbours too). *last/step* = mean time per step "
        "over the last 10 % of the steps; *RSS* = peak resident memory of the measuring process "
        "(fresh per row) and its growth while decoding; *×sim* = time ÷ the reference simulator "
        "running the same normalised machine for T steps; *slope* = log-log slope of total time "
        "between T = 1,000 and 10,000.",
        "",
    ]
    lines += [f"BB(4) compiled and verified end to end (compile + `run_model(decoder=decode_fast)` "
              f"+ compare with the simulator, {bb4['decoder_steps']} decoder steps): "
              f"**{bb4['seconds']:.3f} s**, {'ok' if bb4['ok'] else 'MISMATCH'}.", "",
              "## Targets (issue 4)", "", *targets(rows, bb4, names), ""]
    if bb4.get("per_position"):
        what = {"chunks": "`decode_chunks` (the compiled kernel's integer arrays)",
                "steps": "`decode_fast` (the compiled kernel, one `Step` of Fractions per position)",
                "python": "`decode_fast(compiled=False)` (the certified Python path)"}
        lines += ["## The compiled step (issue 23)", "",
                  "The BB(5) champion, no hooks, a fresh process per row: CPU time and peak-RSS growth per decoder "
                  "position (the growth is the caches: keys, values and the index's member lists). Targets: "
                  "≤ 5 µs and ≤ 100 B per position at 10⁶.", "",
                  "| decoder | T | µs per position (CPU) | bytes per position | load |", "|---|---:|---:|---:|---|"]
        lines += [f"| {what[c['mode']]} | {c['steps']:,} | {c['us']:.2f} | {c['bytes']:.0f} | {c['load']} |"
                  for c in bb4["per_position"]]
        lines.append("")
    for name in names:
        _, _, description = machine(name)
        sub = [r for r in rows if r["name"] == name]
        lines += [f"## {description}", "", f"d = {sub[0]['d']} (after normalisation).", "",
                  "| decoder | T | total (s) | steps/s | last/step (ms) | RSS (MB) | RSS growth (MB) "
                  "| ×sim | slope 10³→10⁴ |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in sub:
            ratio = r["total"] / r["simulator"] if r["simulator"] > 0 else float("inf")
            lines.append(
                f"| {r['decoder']} | {r['steps']:,} | {r['total']:.3f} | {r['decoded'] / r['total']:,.0f} | "
                f"{_ms(r)} | {r['rss_kb'] / 1024:.0f} | {r['rss_growth_kb'] / 1024:.1f} | "
                f"{ratio:,.0f} | {slope(rows, r['decoder'], name) if r['steps'] == 10000 else ''} |")
        fast = {r["steps"]: r["total"] for r in sub if r["decoder"] == "fast"}
        others = []
        for other in ("fast-python", "plain", "naive"):
            for r in sub:
                if r["decoder"] == other and r["steps"] in fast:
                    others.append(f"{other} ÷ fast at T = {r['steps']:,}: {r['total'] / fast[r['steps']]:,.0f}×")
        if others:
            lines += ["", "Speed-up: " + "; ".join(others) + "."]
        longest = max((r for r in sub if r["decoder"] == "fast"), key=lambda r: r["steps"], default=None)
        if longest and longest.get("decisions"):
            parts = [f"{k}: {v:,}" for k, v in sorted(longest["decisions"].items())]
            lines += ["", f"Attention decisions of the fast decoder at T = {longest['steps']:,} (all layers): "
                      + "; ".join(parts) + "."]
        lines.append("")
    if prof:
        lines += render_profile(prof)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        print(json.dumps(measure(argv[1], argv[2], int(argv[3]))))
        return 0
    if argv and argv[0] == "--profile-worker":
        print(json.dumps(profile(argv[1], int(argv[2]), argv[3])))
        return 0
    if argv and argv[0] == "--per-position-worker":
        print(json.dumps(per_position(argv[1], int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="T = 100 and 1,000 only")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--machines", nargs="*", default=None)
    args = parser.parse_args(argv)
    names = args.machines or available_machines()
    sizes = [100, 1000] if args.quick else [100, 1000, 10000]
    bb4 = end_to_end_bb4()
    print(f"BB(4) end to end: {bb4['seconds']:.3f} s ({'ok' if bb4['ok'] else 'MISMATCH'})")
    costs = []
    for mode, T in PER_POSITION:
        out = subprocess.run([sys.executable, __file__, "--per-position-worker", mode, str(T)],
                             capture_output=True, text=True, check=True)
        costs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"BB(5) {mode:7} T={T:,}: {costs[-1]['us']:.2f} µs and {costs[-1]['bytes']:.0f} B per position", flush=True)
    bb4["per_position"] = costs
    rows = []
    for name in names:
        plan = [("fast", T) for T in sizes] + [("fast-python", T) for T in sizes] + [("float64", T) for T in sizes]
        plan += [("plain", T) for T in sizes if T <= (100 if args.quick else 1000)]
        # the naive oracle is O(T³): at d = 289 its 100 steps take ~40 s, so --quick leaves it out there
        plan += [("naive", T) for T in sizes if T <= 200 and not (args.quick and name == "universal")]
        for decoder, T in plan:
            r = run_worker(name, decoder, T)
            rows.append(r)
            print(f"{name:10} {decoder:8} T={T:>6}: {r['total']:8.3f} s  {r['decoded'] / r['total']:9,.0f} steps/s  "
                  f"last {_ms(r)} ms/step  RSS {r['rss_kb'] / 1024:.0f} MB  "
                  f"×sim {r['total'] / max(r['simulator'], 1e-9):,.0f}", flush=True)
        for decoder in ("fast", "fast-python", "float64"):
            s = slope(rows, decoder, name)
            if s != "–":
                print(f"{name:10} {decoder:8} slope of total time between T = 1,000 and 10,000: {s}")
    prof = []
    for decoder, prof_steps in (("fast-python", 1000 if args.quick else 10000), ("plain", 300)):
        out = subprocess.run([sys.executable, __file__, "--profile-worker", "counter2", str(prof_steps), decoder],
                             capture_output=True, text=True, check=True)
        prof.append(json.loads(out.stdout.strip().splitlines()[-1]))
    command = "python benchmarks/run.py" + (" --quick" if args.quick else "")
    text = render(rows, machine_info(), bb4, names, args.quick, command, prof)
    if not args.no_write:
        corpus_section = ""
        if args.output.exists():
            old = args.output.read_text(encoding="utf-8")
            # keep the sections other scripts write (million.py, corpus.py)
            kept = [old.index(m) for m in ("\n## A million exact steps", "\n## Corpus verification") if m in old]
            if kept:
                corpus_section = old[min(kept):]
        args.output.write_text(text.rstrip() + "\n" + corpus_section, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
