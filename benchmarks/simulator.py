"""Benchmark of the reference simulator: BB(5), 47,176,870 steps (not part of the test run).

    python benchmarks/simulator.py            # BB(5) from the corpus or the built-in string

Prints the steps, the ones, the time and the steps per second; checks the published numbers.
"""

from __future__ import annotations

import platform
import time

from turingformer.tm.formats import loads_machine
from turingformer.tm.simulator import run

BB5 = "1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA"


def main() -> int:
    machine = loads_machine(BB5, "bbchallenge")
    start = time.perf_counter()
    result = run(machine, "", max_steps=10**9, record=False)
    seconds = time.perf_counter() - start
    ones = result.final.tape.nonblank()
    print(f"BB(5) {BB5}: {result.steps:,} steps, {ones:,} ones, head {result.final.head}, "
          f"{seconds:.2f} s, {result.steps / seconds / 1e6:.1f} M steps/s "
          f"(Python {platform.python_version()}, {platform.machine()})")
    assert (result.steps, ones) == (47_176_870, 4098), "BB(5) must halt after 47,176,870 steps with 4098 ones"
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
