"""Where an export's float run first diverges on the zig-zag walker (docs/export.md, "Where float breaks").

    python benchmarks/export.py [--steps N] [--quick] [--output benchmarks/export.json]

Runs ``turingformer.export.check`` — the export beside the exact model, every attention decision
and every output compared at every decoder step — for torch and ONNX exports of the walker
(``benchmarks/machines/zigzag_walker.yaml``, input ``''``), float64 and float32, both attention
forms, up to ``--steps`` decoder steps (default 12,000: past the float64 *sum* break near 10,184).
``--quick`` skips the float64 *sum* runs (the long ones). Prints one row per run and writes the
rows as JSON. About 2–3 minutes on 2 cores without ``--quick`` (the float64 sum runs dominate).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import turingformer  # noqa: E402
from turingformer.export import check, to_onnx, to_torch  # noqa: E402

WALKER = ROOT / "benchmarks" / "machines" / "zigzag_walker.yaml"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "benchmarks" / "export.json"))
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    model = turingformer.compile(turingformer.load(WALKER))
    rows = []
    for target, make in (("torch", to_torch), ("onnx", to_onnx)):
        for dtype in ("float32", "float64"):
            for form in ("sum", "pattern"):
                if args.quick and (dtype, form) == ("float64", "sum"):
                    continue
                started, cpu = time.perf_counter(), time.process_time()
                result = check(make(model, dtype=dtype, form=form), args.steps, "", model=model)
                row = {"target": target, "dtype": dtype, "form": form, "steps": args.steps,
                       "first_divergence": None if result.ok else result.divergence.step,
                       "where": None if result.ok else result.divergence.where, "verdict": result.verdict(),
                       "seconds": round(time.perf_counter() - started, 1), "cpu_seconds": round(time.process_time() - cpu, 1)}
                rows.append(row)
                print(f"{target:5} {dtype} {form:7} first divergence: {row['first_divergence']} ({row['where']}), "
                      f"{row['seconds']} s", flush=True)
    Path(args.output).write_text(json.dumps({"machine": WALKER.name, "input": "", "load": os.getloadavg(),
                                             "python": platform.python_version(), "torch": torch.__version__,
                                             "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
