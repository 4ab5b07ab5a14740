"""Regenerate every number and figure of docs/census.md (issues 13 and 23). Not part of the test run.

    .venv/bin/python benchmarks/census.py          # 2 and 3 states, scaling: a few CPU-minutes
    .venv/bin/python benchmarks/census.py four     # all 620,261 4-state machines: about 21 CPU-minutes
    .venv/bin/python benchmarks/census.py four 20  # every 20th and the champion: about 1 CPU-minute

1. the TNF enumeration counts for 2, 3 and 4 states (and the time to enumerate);
2. the census of every TNF machine with 2 and with 3 states, 2 symbols, 100 steps, with the first
   float32 and float64 divergence (``benchmarks/census/bb2.parquet``, ``bb3.parquet``) and the
   histogram ``docs/census_divergence.png``;
3. the scaling: the exact 3-state census on 1 and on 2 local worker processes (machines/s, wall
   and CPU time, the load average before and after each run);
4. the cost per machine of the 4-state class, from a census of every 1,000th 4-state TNF machine
   at 200 steps, and what the whole class would cost on a cluster;
5. (``four [N]``) the census of every 4-state TNF machine (or of every N-th and the champion), 107
   steps, float32 and float64, on 2 local worker processes: ``benchmarks/census/bb4.parquet``
   (``bb4_everyN.parquet``) in a release-size form (:func:`release`), ``docs/census_divergence4.png``,
   and a census at 1,000 steps of about 1 in 400 of the class' machines still running at 107 (the
   results block ``<!-- census 4 results -->``).

Writes ``benchmarks/census.json`` and the results block of ``docs/census.md`` (between the
``<!-- census results -->`` markers). Timings depend on the load of the machine: each one is
recorded with the load average, and CPU time beside wall time.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pyarrow.parquet as pq  # noqa: E402

from turingformer.analysis.census import run_census  # noqa: E402
from turingformer.files import write_atomic  # noqa: E402
from turingformer.tm.tnf import tnf_machines  # noqa: E402
from turingformer.views.census import divergence_histogram  # noqa: E402
from turingformer.views.figures import save  # noqa: E402

OUT = ROOT / "benchmarks" / "census"
DOC = ROOT / "docs" / "census.md"
FIGURE = ROOT / "docs" / "census_divergence.png"
RESULTS = ROOT / "benchmarks" / "census.json"
DTYPES = ("float32", "float64")
CLUSTER_CORES = (16, 64, 256)


def load() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


def timed(fn):
    before, wall, cpu = load(), time.perf_counter(), time.process_time()
    value = fn()
    return value, {"wall_s": time.perf_counter() - wall, "client_cpu_s": time.process_time() - cpu,
                   "load_before": before, "load_after": load()}


def enumeration() -> dict:
    out = {}
    for states, steps in ((2, 100), (3, 100), (4, 200)):
        count, t = timed(lambda: sum(1 for _ in tnf_machines(states, 2, max_steps=steps)))
        out[f"{states}x2"] = {"machines": count, "max_steps": steps, **t}
        print(f"TNF {states} states: {count:,} machines ({t['wall_s']:.1f} s)", flush=True)
    return out


def census(path: Path, **options) -> dict:
    summary, t = timed(lambda: run_census(path, **options))
    print(summary.line(), flush=True)
    return {"machines": summary.machines, "halting": summary.halting, "S": summary.S, "S_machine": summary.S_machine,
            "sigma": summary.sigma, "sigma_machine": summary.sigma_machine, "divergences": summary.divergences,
            "float_divergences": summary.float_divergences, "workers_cpu_s": summary.cpu_seconds,
            "machines_per_s": summary.per_second, "where": summary.where, **t}


def float_steps(path: Path) -> dict:
    table = pq.read_table(path)
    out = {}
    for dt in DTYPES:
        steps = [v for v in table.column(f"first_divergence_{dt}").to_pylist() if v is not None]
        out[dt] = {"diverge": len(steps), "min": min(steps, default=None), "max": max(steps, default=None),
                   "median": sorted(steps)[len(steps) // 2] if steps else None}
    compared = table.column("steps").to_pylist()
    out["machine_steps_compared"] = {"min": min(compared), "max": max(compared)}
    return out


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    kept = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    results = {**{k: v for k, v in kept.items() if k.startswith("bb4") and k != "bb4_sample"},
               "cores": os.cpu_count(), "enumeration": enumeration()}
    results["bb2"] = census(OUT / "bb2.parquet", states=2, max_steps=100, dtypes=DTYPES, workers=0)
    results["bb3"] = census(OUT / "bb3.parquet", states=3, max_steps=100, dtypes=DTYPES, workers=2)
    results["bb2"]["float_steps"] = float_steps(OUT / "bb2.parquet")
    results["bb3"]["float_steps"] = float_steps(OUT / "bb3.parquet")
    fig = divergence_histogram(OUT / "bb3.parquet",
                               title="TNF machines with 3 states, 2 symbols, 100 machine steps")
    save(fig, FIGURE)
    with tempfile.TemporaryDirectory() as tmp:
        results["scaling"] = {str(k): census(Path(tmp) / f"w{k}.parquet", states=3, max_steps=100, workers=k)
                              for k in (1, 2)}
        sample = Path(tmp) / "bb4_sample.txt"
        machines = [m for i, m in enumerate(tnf_machines(4, 2, max_steps=200)) if i % 1000 == 0]
        sample.write_text("\n".join(machines) + "\n", encoding="utf-8")
        results["bb4_sample"] = census(Path(tmp) / "bb4.parquet", machines=sample, max_steps=200, workers=2)
    results["estimate"] = estimate(results)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_doc(results)
    print(f"wrote {RESULTS}, {FIGURE}, {OUT}/ and the results block of {DOC}")
    return 0


def estimate(results: dict) -> dict:
    """CPU per machine of the 4-state sample, the float factor measured on 3 states, the class size."""
    sample = results["bb4_sample"]
    per_machine = sample["workers_cpu_s"] / sample["machines"]
    exact3 = results["scaling"]["2"]["workers_cpu_s"]
    float_factor = results["bb3"]["workers_cpu_s"] / exact3
    machines = results["enumeration"]["4x2"]["machines"]
    total = machines * per_machine
    return {"machines": machines, "cpu_s_per_machine_exact": per_machine, "float_factor": float_factor,
            "cpu_hours_exact": total / 3600, "cpu_hours_with_floats": total * float_factor / 3600,
            "hours_on": {str(c): {"exact": total / c / 3600, "with_floats": total * float_factor / c / 3600}
                         for c in CLUSTER_CORES}}


def write_doc(r: dict) -> None:
    e = r["enumeration"]
    lines = ["<!-- census results -->",
             f"*Measured by `python benchmarks/census.py` on {r['cores']} cores; every timing with the load "
             "average (1, 5, 15 min) before and after it. Other sessions were using the machine: read the "
             "CPU columns, the wall times are pessimistic.*", "",
             "**Enumeration** (`turingformer.tm.tnf.tnf_machines`):", "",
             "| class | step limit | machines | published | time |", "|---|---|---|---|---|"]
    published = {"2x2": "41", "3x2": "4,057", "4x2": "620,261"}
    for key, v in e.items():
        lines.append(f"| {key[0]} states, 2 symbols | {v['max_steps']} | {v['machines']:,} | {published[key]} | "
                     f"{v['wall_s']:.2f} s wall, {v['client_cpu_s']:.2f} s CPU |")
    lines += ["", "**The censuses** (100 machine steps, exact fast decoder against the simulator; "
              "float32 and float64 are the INEXACT float modes of the same weights):", "",
              "| class | machines | halt | S found | Σ found | divergences (exact) | float32 diverges on | "
              "float64 diverges on | wall | CPU (workers) | load before → after |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for key, label in (("bb2", "2 states"), ("bb3", "3 states")):
        v = r[key]
        f = v["float_steps"]
        lines.append(
            f"| {label} | {v['machines']:,} | {v['halting']:,} | {v['S']} (`{v['S_machine']}`) | {v['sigma']} "
            f"(`{v['sigma_machine']}`) | {v['divergences']} | {_float(f['float32'])} | {_float(f['float64'])} | "
            f"{v['wall_s']:.0f} s ({v['where']}) | {v['workers_cpu_s']:.0f} s | {_load(v)} |")
    lines += ["", "**Scaling** (the exact 3-state census, 4,057 machines, no float modes, local worker processes):", "",
              "| workers | wall | machines/s | CPU (workers) | CPU per machine | load before → after |",
              "|---|---|---|---|---|---|"]
    for k, v in r["scaling"].items():
        lines.append(f"| {k} | {v['wall_s']:.1f} s | {v['machines_per_s']:.1f} | {v['workers_cpu_s']:.1f} s | "
                     f"{1000 * v['workers_cpu_s'] / v['machines']:.1f} ms | {_load(v)} |")
    s, est = r["bb4_sample"], r["estimate"]
    lines += ["", f"**The 4-state class**: a census of every 1,000th 4-state TNF machine ({s['machines']} machines, "
              f"200 steps, all agree: {s['divergences']} divergences) took {s['workers_cpu_s']:.0f} s of worker CPU, "
              f"{1000 * est['cpu_s_per_machine_exact']:.0f} ms per machine; with float32 and float64 the 3-state "
              f"census cost {est['float_factor']:.1f}× its exact CPU time. For all {est['machines']:,} machines:", "",
              "| cluster (worker processes, 1 thread each) | exact only | with --dtype float32,float64 |",
              "|---|---|---|",
              f"| 1 core | {est['cpu_hours_exact']:.1f} h | {est['cpu_hours_with_floats']:.1f} h |"]
    for cores, h in est["hours_on"].items():
        lines.append(f"| {cores} cores | {60 * h['exact']:.0f} min | {60 * h['with_floats']:.0f} min |")
    lines += ["", "(CPU time divides by the number of cores: the chunks are independent and a chunk of 1,024 machines "
              "costs seconds, so scheduling overhead is negligible. The estimate assumes the sampled machines "
              "are typical: every 1,000th one in the enumeration order, decoded as one batch.)",
              "<!-- /census results -->"]
    text = DOC.read_text(encoding="utf-8")
    block = "\n".join(lines)
    new = re.sub(r"<!-- census results -->.*<!-- /census results -->", lambda _: block, text, flags=re.S)
    write_atomic(DOC, new)


def _float(f: dict) -> str:
    if not f["diverge"]:
        return "0 machines"
    return f"{f['diverge']:,} machines (decoder steps {f['min']}–{f['max']}, median {f['median']})"


def _load(v: dict) -> str:
    return f"{'/'.join(f'{x:.1f}' for x in v['load_before'])} → {'/'.join(f'{x:.1f}' for x in v['load_after'])}"


# ------------------------------------------------------------------------------ all 4-state machines
#: The columns of the release-size census: the row number is the enumeration index, and the
#: per-row timing, file line and error columns say nothing about a finished TNF census.
RELEASE = ("machine", "halted", "steps", "nonblank", "agrees", "first_divergence", "d",
           "first_divergence_float32", "first_divergence_float64")


def release(source: Path, target: Path) -> dict:
    """The census ``source`` without its empty and timing columns, zstd-compressed, at ``target``."""
    table = pq.read_table(source)
    assert table.column("index").to_pylist() == list(range(table.num_rows))
    assert table.column("error").null_count == table.num_rows
    slim = table.select(list(RELEASE)).replace_schema_metadata(table.schema.metadata)
    pq.write_table(slim, target, compression="zstd", compression_level=19)
    return {"rows": slim.num_rows, "bytes": target.stat().st_size, "full_bytes": source.stat().st_size}


#: The BB(4) champion in TNF standard text (107 steps, 13 ones): added to a sample that misses it.
CHAMPION4 = "1RB1LB_1LA0LC_1RZ1LD_1RD0RA"


def four(every: int = 1) -> int:
    """All 4-state TNF machines (``every`` = 1), or every ``every``-th and the champion; then every
    (400 / every)-th of the machines still running at 107 steps (about 1 in 400 of the class'), at 1,000."""
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    name = "bb4.parquet" if every == 1 else f"bb4_every{every}.parquet"
    with tempfile.TemporaryDirectory() as tmp:
        full = Path(tmp) / name
        if every == 1:
            results["bb4"] = census(full, states=4, max_steps=107, dtypes=DTYPES, workers=2)
        else:
            machines = list(tnf_machines(4, 2, max_steps=107))[::every]
            machines += [CHAMPION4] if CHAMPION4 not in machines else []
            listed = Path(tmp) / "sample.txt"
            listed.write_text("\n".join(machines) + "\n", encoding="utf-8")
            results["bb4"] = census(full, machines=listed, max_steps=107, dtypes=DTYPES, workers=2)
        results["bb4"]["every"] = every
        results["bb4"]["float_steps"] = float_steps(full)
        results["bb4"]["release"] = release(full, OUT / name)
        table = pq.read_table(full, columns=["machine", "halted"])
        running = [m for m, h in zip(table.column("machine").to_pylist(), table.column("halted").to_pylist())
                   if not h]
        sample = Path(tmp) / "running.txt"
        sample.write_text("\n".join(running[::max(1, 400 // every)]) + "\n", encoding="utf-8")
        results["bb4_long"] = census(Path(tmp) / "long.parquet", machines=sample, max_steps=1000, dtypes=DTYPES,
                                     workers=2)
        results["bb4_long"]["float_steps"] = float_steps(Path(tmp) / "long.parquet")
        results["bb4_long"]["running_at_107"] = len(running)
    figure(OUT / name, every)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_four(results)
    print(f"wrote {RESULTS}, {OUT / name}, docs/census_divergence4.png and docs/census.md")
    return 0


def figure(path: Path, every: int) -> None:
    what = "TNF machines" if every == 1 else f"every {every}th TNF machine"
    save(divergence_histogram(path, title=f"{what} with 4 states, 2 symbols, 107 machine steps"),
         ROOT / "docs" / "census_divergence4.png")


def write_four(r: dict) -> None:
    v, long, rel = r["bb4"], r["bb4_long"], r["bb4"]["release"]
    f, g = v["float_steps"], long["float_steps"]
    every = v.get("every", 1)
    what = "all 4-state machines" if every == 1 else f"every {every}th 4-state machine and the champion"
    lines = [
        "<!-- census 4 results -->",
        "| census | machines | halt | S found | Σ found | divergences (exact) | float32 diverges on | "
        "float64 diverges on | wall | CPU (workers) | load before → after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {what}, 107 steps | {v['machines']:,} | {v['halting']:,} | {v['S']} (`{v['S_machine']}`) | "
        f"{v['sigma']} (`{v['sigma_machine']}`) | {v['divergences']} | {_float(f['float32'])} | "
        f"{_float(f['float64'])} | {v['wall_s']:.0f} s ({v['where']}) | {v['workers_cpu_s']:.0f} s | {_load(v)} |",
        f"| every {max(1, 400 // every)}th of those {long['running_at_107']:,} still running at 107, 1,000 steps "
        f"| {long['machines']:,} | {long['halting']:,} | {long['S'] or '—'} | {long['sigma'] or '—'} | "
        f"{long['divergences']} | "
        f"{_float(g['float32'])} | {_float(g['float64'])} | {long['wall_s']:.0f} s ({long['where']}) | "
        f"{long['workers_cpu_s']:.0f} s | {_load(long)} |",
        "",
        f"CPU per machine: {1000 * v['workers_cpu_s'] / v['machines']:.2f} ms at 107 steps with both float "
        f"modes (compiled, simulated, decoded exactly and in float32 and float64, compared), "
        f"{1000 * long['workers_cpu_s'] / long['machines']:.1f} ms at 1,000 steps. "
        f"`benchmarks/census/{'bb4.parquet' if every == 1 else f'bb4_every{every}.parquet'}`: {rel['rows']:,} rows, "
        f"{rel['bytes'] / 1e6:.2f} MB (the census file: {rel['full_bytes'] / 1e6:.2f} MB).",
        "<!-- /census 4 results -->"]
    text = DOC.read_text(encoding="utf-8")
    new = re.sub(r"<!-- census 4 results -->.*<!-- /census 4 results -->", lambda _: "\n".join(lines), text,
                 flags=re.S)
    write_atomic(DOC, new)


if __name__ == "__main__":
    if sys.argv[1:2] == ["four"]:
        sys.exit(four(int(sys.argv[2]) if len(sys.argv) > 2 else 1))
    sys.exit(main())
