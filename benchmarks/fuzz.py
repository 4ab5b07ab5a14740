"""The long fuzz campaign of issues 9 and 22 (not part of the test run; ``tests/test_fuzz.py`` is
the short one): mutants of every seed (``tests/fuzzing.py``) checked against the CLI's contract.

    python benchmarks/fuzz.py                                  # 6,000 mutants over every surface, seed 9
    python benchmarks/fuzz.py --surfaces subleq usubleq fleq official-csv "looped compile" --mutants 5000
    python benchmarks/fuzz.py --mutants 20000 --seed 1 --keep failures/

Mutants go round-robin over the chosen surfaces (default: all of ``fuzzing.SURFACES``). Prints a
table of counts per surface and outcome, the CPU and wall time and the load average, and exits 1
if any mutant broke the contract (``--keep DIR`` saves those mutants). docs/errors.md records the
last figures.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzzing import CONTRACT, KINDS, check, mutate, seeds, write  # noqa: E402
from turingformer.errors import shorten  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--surfaces", nargs="+", choices=KINDS, default=list(KINDS), metavar="SURFACE",
                        help=f"the surfaces to fuzz (default: all): {', '.join(KINDS)}")
    parser.add_argument("--keep", metavar="DIR", help="save the mutants that broke the contract here")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    counts: dict[str, collections.Counter] = {kind: collections.Counter() for kind in args.surfaces}
    failures = []
    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pool = seeds(work)
        by_kind = {kind: [s for s in pool if s.kind == kind] for kind in args.surfaces}
        folder = work / "mutants"
        folder.mkdir()
        for k in range(args.mutants):
            kind = args.surfaces[k % len(args.surfaces)]
            seed = rng.choice(by_kind[kind])
            mutant = mutate(rng, seed)
            outcome = check(seed, write(folder, seed, mutant), mutant)
            counts[kind][outcome] += 1
            if outcome not in CONTRACT:
                failures.append((kind, seed.name, outcome, mutant))
                if args.keep:
                    keep = Path(args.keep) / f"{len(failures):04d}"
                    keep.mkdir(parents=True, exist_ok=True)
                    write(keep, seed, mutant)
                    (keep / "options").write_text(" ".join(mutant.options) + "\n", encoding="utf-8")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    outcomes = sorted({o for c in counts.values() for o in c}, key=lambda o: (o not in CONTRACT, o))
    width = max(len(k) for k in args.surfaces)
    print(f"{'surface':<{width}}  " + "  ".join(f"{o:>8}" for o in outcomes) + f"  {'total':>7}")
    for kind in args.surfaces:
        print(f"{kind:<{width}}  " + "  ".join(f"{counts[kind][o]:>8,}" for o in outcomes)
              + f"  {sum(counts[kind].values()):>7,}")
    total = collections.Counter()
    for c in counts.values():
        total.update(c)
    print(f"{'all':<{width}}  " + "  ".join(f"{total[o]:>8,}" for o in outcomes) + f"  {sum(total.values()):>7,}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    used = sum(len(by_kind[kind]) for kind in args.surfaces)
    print(f"{args.mutants:,} mutants (seed {args.seed}, {used} seeds) in {wall:.0f} s wall, {cpu:.0f} s CPU, "
          f"peak RSS {peak:.0f} MB, load average {os.getloadavg()[0]:.2f}; contract broken by {len(failures)}")
    for kind, name, outcome, mutant in failures[:20]:
        print(f"  {kind}: mutant of {name}: {outcome}: {mutant.data[:160]!r} {shorten(' '.join(mutant.options))}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
