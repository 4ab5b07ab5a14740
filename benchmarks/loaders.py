"""Benchmark of the machine loaders on big files (issue 9: loading was quadratic in the
automata-lib and Morphett importers; 40,000 states took 62 s). Not part of the test run.

    python benchmarks/loaders.py                # 20,000 states
    python benchmarks/loaders.py --states 40000

Writes one machine of N states (a chain q0 -> q1 -> ... that reads 0/1 and moves right) in every
format, loads each with ``load_machine`` and prints wall and CPU seconds, with the load average.
bbchallenge names states A-Z, so its file has the format's maximum of 26 states.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from turingformer.tm.formats import dump_machine, load_machine
from turingformer.tm.machine import Rule, TuringMachine


def chain(n: int) -> TuringMachine:
    states = [f"q{k}" for k in range(n)] + ["done"]
    rules = [Rule(states[k], s, "1" if s == "0" else "0", "R", states[k + 1]) for k in range(n) for s in "01"]
    return TuringMachine(states=states, start="q0", blank="_", rules=rules, input_alphabet=["0", "1"],
                         halt=["done"], name=f"chain of {n}")


def files(n: int) -> dict[str, tuple[str, str]]:
    """format -> (file name, text) for an n-state chain."""
    states = [f"q{k}" for k in range(n)] + ["done"]
    tmio = ["blank: ' '", "start state: q0", "table:"]
    for k in range(n):
        tmio += [f"  {states[k]}:", f"    '0': {{write: '1', R: {states[k + 1]}}}",
                 f"    '1': {{write: '0', R: {states[k + 1]}}}"]
    tmio.append("  done:")
    morphett = [f"{'0' if k == 0 else states[k]} {s} {'1' if s == '0' else '0'} r "
                f"{states[k + 1] if k + 1 < n else 'halt'}" for k in range(n) for s in "01"]
    dtm = {"states": states, "input_symbols": ["0", "1"], "tape_symbols": ["0", "1", "."],
           "transitions": {states[k]: {s: [states[k + 1], "1" if s == "0" else "0", "R"] for s in "01"}
                           for k in range(n)},
           "initial_state": "q0", "blank_symbol": ".", "final_states": ["done"]}
    letters = [chr(ord("A") + k) for k in range(26)]
    bb = "_".join(f"1R{letters[k + 1] if k < 25 else 'Z'}0R{letters[k + 1] if k < 25 else 'Z'}" for k in range(26))
    return {
        "turingformer": ("chain.yaml", dump_machine(chain(n))),
        "turingmachine.io": ("chain_tmio.yaml", "\n".join(tmio) + "\n"),
        "morphett": ("chain.txt", "\n".join(morphett) + "\n"),
        "automata-lib": ("chain.json", json.dumps(dtm, indent=1)),
        "bbchallenge": ("chain_bb.txt", bb + "\n"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="load big machine files in every format")
    parser.add_argument("--states", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(f"{'format':<18} {'states':>7} {'rules':>7} {'MB':>6} {'wall s':>7} {'CPU s':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, (name, text) in files(args.states).items():
            path = Path(tmp) / name
            path.write_text(text, encoding="utf-8")
            wall, cpu = time.perf_counter(), time.process_time()
            machine = load_machine(path, format=fmt)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"{fmt:<18} {len(machine.states):>7,} {len(machine.rules):>7,} {len(text) / 1e6:>6.2f} "
                  f"{wall:>7.2f} {cpu:>7.2f}")
    print(f"load average {os.getloadavg()[0]:.2f} (figures under load: compare CPU seconds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
