"""In-context learning on the looped computer (issue 19): every learner of machines/programs/ from
its model file, on its own training data and on other data loaded with ``--data``.

    python benchmarks/in_context_learning.py [--output docs/benchmarks.md] [--no-write]

Per learner (linreg_gd, linreg_newton, nn, nn_sigmoid): compile (CPU s), write the model file
(size), load it (CPU s: parse and validate every exact weight), then for each data set run the
model from that file to its halt on the exact integer path (``Model.run(data=…)``, every loop
decoded): loops, loops per CPU second, CPU seconds to train, the loss ½·mean(r²) at the start and
the end (the decoded weights, evaluated in float64) beside the same algorithm in float64 from the
same start, the largest weight difference to it and to numpy's ``lstsq`` (linear models) in ulps,
and the final state checked against the interpreter on the same data (bit for bit). One fresh
process ``turingformer run MODEL --data FILE --json --quiet`` per learner gives the wall time a
user sees. Load average and CPU time are reported: the machine is shared.

Writes its section ("## In-context learning") into docs/benchmarks.md unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from turingformer.compiler.fixedpoint import compile_fleqm  # noqa: E402
from turingformer.modelfile import load_model, save_model  # noqa: E402
from turingformer.programs import run  # noqa: E402
from turingformer.programs.formats import load_program  # noqa: E402

PROGRAMS = ROOT / "machines" / "programs"
DATA = PROGRAMS / "data"
LEARNERS = {"linreg_gd": (None, "linear_b.csv", "linear_c.npz"),
            "linreg_newton": (None, "linear_b.csv", "linear_c.npz"),
            "nn": (None, "network_b.csv"),
            "nn_sigmoid": (None,)}


def learner(name: str, folder: Path) -> dict:
    program = load_program(PROGRAMS / f"{name}.fleqm")
    start = time.process_time()
    model = compile_fleqm(program)
    compiled = time.process_time() - start
    path = folder / f"{name}.json"
    save_model(model, path, source=program)
    start = time.process_time()
    model = load_model(path)
    loaded = time.process_time() - start
    runs = []
    for data in LEARNERS[name]:
        given = None if data is None else DATA / data
        start = time.process_time()
        trace = model.run(data=given).trace
        seconds = time.process_time() - start
        reference = run(program if given is None else program.with_data(given), record=False)
        assert trace.final.memory == reference.final.memory and trace.halted, (name, data)
        found = trace.learned()
        runs.append({**found, "data": data or "own", "loops": trace.steps, "seconds": seconds})
    start = time.perf_counter()
    data = LEARNERS[name][-1]
    command = [sys.executable, "-m", "turingformer", "run", str(path), "--json", "--quiet"]
    command += [] if data is None else ["--data", str(DATA / data)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    wall = time.perf_counter() - start
    return {"name": name, "format": f"Q{program.bits}.{program.frac}", "compile": compiled, "load": loaded,
            "size": path.stat().st_size, "runs": runs, "wall": wall, "wall_data": data or "own"}


def report(results: list[dict], load: float) -> str:
    out = ["## In-context learning (issue 19)", "",
           f"`python benchmarks/in_context_learning.py` on {platform.machine()}, {os.cpu_count()} cores, Python "
           f"{platform.python_version()}, load average {load:.1f} at the start. Each learner is compiled once, "
           "written to a model file and loaded from it; every run is that model on the exact integer path "
           "(`Model.run(data=…)`, every loop decoded), its final state equal to the interpreter's on the same "
           "data. Loss = ½·mean((model(x) − y)²) of the decoded weights, evaluated in float64; \"float64\" = the "
           "same algorithm in float64 from the same decoded start; ulp = 2^−F.", "",
           "| learner | data | loops | epochs | loops/s | CPU s to train | loss start → end | float64 end | "
           "weights − float64 | w − lstsq |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        for x in r["runs"]:
            best = f"{x['lstsq']['ulps']:.1f} ulps" if "lstsq" in x else "—"
            out.append(f"| {r['name']} ({r['format']}) | {x['data']} | {x['loops']:,} | {x['epochs']} | "
                       f"{x['loops'] / x['seconds']:,.0f} | {x['seconds']:.1f} | {x['loss'][0]:.5g} → "
                       f"{x['loss'][-1]:.5g} | {x['float64']['loss'][-1]:.5g} | {x['float64']['ulps']:.1f} ulps | "
                       f"{best} |")
    out += ["", "| learner | compile (CPU s) | model file | load (CPU s) | `run MODEL --data` in a fresh process (wall) |",
            "|---|---|---|---|---|"]
    for r in results:
        out.append(f"| {r['name']} | {r['compile']:.2f} | {r['size'] / 1e6:.1f} MB | {r['load']:.2f} | "
                   f"{r['wall']:.1f} s ({r['wall_data']}) |")
    out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "docs" / "benchmarks.md"))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--only", nargs="*", default=list(LEARNERS), help="the learners to run (default: all)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        results = [learner(name, Path(folder)) for name in args.only]
    text = report(results, load)
    print(text)
    if not args.no_write:
        from looped import replace_section          # benchmarks/looped.py: one section writer
        replace_section(Path(args.output), "## In-context learning", text)


if __name__ == "__main__":
    main()
