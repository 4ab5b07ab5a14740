"""BB(5) to its halt through the transformer (issue 23): 47,176,870 machine steps, 4,098 ones.

    python benchmarks/bb5.py [--steps N] [--write]

Compiles the BB(5) champion ``1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA`` (bbchallenge format,
:mod:`turingformer.tm.formats.bbchallenge`), saves the model file, and runs a **fresh process**
that loads the model file and decodes it exactly with the compiled fast decoder
(:meth:`turingformer.compiler.perez.decoding.ModelRun.chunks`: the weights and the empty input,
nothing else), comparing every decoded configuration — state, head cell, written symbol — with a
reference simulator streamed beside it in chunks of the same size (no second trace is held).
The streamed simulator's final configuration is checked against the project's reference
simulator (:func:`turingformer.tm.simulator.run`, final state only), and the decoded tape,
replayed from the decoded writes alone, must hold the 4,098 ones.

Reported: wall and CPU time of the whole process (load included) and of the decoding alone, peak
resident memory and its growth per decoder position, the time per step at checkpoints
10⁴, 3·10⁴, …, and the least-squares exponent of wall time in T over them, the decoder's largest
cached numerator, denominator and exact dot product (bits), and the load average. ``--write``
puts the result in docs/benchmarks.md ("BB(5) to its halt"). ``--steps`` stops earlier (a shorter
run to see whether the full one fits). Run the full one with ``nice -n 10`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

CODE = "1RB1LC_1RC1RB_1RD0LE_1LA1LD_1RZ0LA"
STEPS, ONES = 47_176_870, 4_098
SECTION = "## BB(5) to its halt (issue 23)"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def champion():
    from turingformer.tm.formats import loads_machine

    return loads_machine(CODE, "bbchallenge").replace(name="BB(5) champion")


class Stepper:
    """The reference simulator's rule, applied step by step and handed out in chunks: for each
    configuration its state, head cell and the symbol its rule writes (−1 where no rule applies,
    and the run has halted). Indices are those of the model's labels; the loop is the one of
    :func:`turingformer.tm.simulator.run` (a flat rule table, a list tape grown at both ends)."""

    def __init__(self, machine, states: tuple[str, ...], symbols: tuple[str, ...]):
        sym = {a: k for k, a in enumerate(symbols)}
        st = {q: k for k, q in enumerate(states)}
        self.nsym = len(symbols)
        self.table: list = [None] * (len(states) * self.nsym)
        for r in machine.rules:
            self.table[st[r.state] * self.nsym + sym[r.read]] = (st[r.next_state], sym[r.write], r.move.delta)
        self.blank = sym[machine.blank]
        self.tape = [self.blank] * 1024
        self.origin = 512
        self.state, self.pos, self.halted = st[machine.start], self.origin, False

    @property
    def head(self) -> int:
        return self.pos - self.origin

    def take(self, n: int):
        import numpy as np

        table, tape, nsym, blank = self.table, self.tape, self.nsym, self.blank
        state, pos, origin = self.state, self.pos, self.origin
        states, heads, writes = [], [], []
        for _ in range(n):
            states.append(state)
            heads.append(pos - origin)
            rule = table[state * nsym + tape[pos]]
            if rule is None:
                writes.append(-1)
                self.halted = True
                break
            state, tape[pos], move = rule
            writes.append(tape[pos])
            pos += move
            if not 0 <= pos < len(tape):
                grow = len(tape)
                if pos < 0:
                    tape[0:0] = [blank] * grow
                    origin, pos = origin + grow, pos + grow
                else:
                    tape.extend([blank] * grow)
        self.state, self.pos, self.origin = state, pos, origin
        return (np.array(states, dtype=np.int16), np.array(heads, dtype=np.int64), np.array(writes, dtype=np.int16))


def measure(model_path: str, limit: int) -> dict:
    """Runs in a fresh process: load the model file, decode, compare with the streamed simulator."""
    from collections import Counter

    import numpy as np

    from turingformer.compiler.perez.decoding import ModelRun
    from turingformer.modelfile import load_model
    from turingformer.tm.simulator import run

    wall, cpu = time.perf_counter, time.process_time
    w0, c0 = wall(), cpu()
    model = load_model(model_path)
    rss_loaded = _rss_mb()
    labels = model.labels
    machine = champion()
    stepper = Stepper(machine, labels.states, labels.symbols)
    stats: Counter = Counter()
    stream = ModelRun(model, "", max_steps=limit, stats=stats)
    configurations, stamps, sim_seconds = 0, [], 0.0
    decoded_tape: dict[int, int] = {}
    pending = None            # the latest configuration's write: a step only once a later configuration exists
    w1, c1 = wall(), cpu()
    for chunk in stream.chunks():
        s0 = wall()
        states, heads, writes = stepper.take(len(chunk))
        sim_seconds += wall() - s0
        if not (len(states) == len(chunk) and np.array_equal(states, chunk.states)
                and np.array_equal(heads, chunk.heads) and np.array_equal(writes, chunk.writes)):
            bad = next(k for k in range(min(len(states), len(chunk)))
                       if (states[k], heads[k], writes[k]) != (chunk.states[k], chunk.heads[k], chunk.writes[k]))
            raise SystemExit(f"DIVERGENCE at machine step {configurations + bad}: the transformer says "
                             f"({labels.states[chunk.states[bad]]}, cell {chunk.heads[bad]}, write {chunk.writes[bad]}), "
                             f"the simulator ({labels.states[states[bad]]}, cell {heads[bad]}, write {writes[bad]})")
        if pending is not None and len(chunk):
            decoded_tape[pending[0]] = pending[1]
        written = chunk.writes[:-1] >= 0
        for h, w in zip(chunk.heads[:-1][written].tolist(), chunk.writes[:-1][written].tolist()):
            decoded_tape[h] = w
        if len(chunk):
            pending = (int(chunk.heads[-1]), int(chunk.writes[-1])) if chunk.writes[-1] >= 0 else None
            last = (int(chunk.states[-1]), int(chunk.heads[-1]))
        configurations += len(chunk)
        stamps.append((configurations - 1, wall() - w1, cpu() - c1))
    w2, c2 = wall(), cpu()
    steps = configurations - 1
    halted = stepper.halted and chunk.writes[-1] == -1
    one = labels.symbols.index("1")
    ones = sum(1 for v in decoded_tape.values() if v == one)
    final = run(machine, "", max_steps=limit, record=False)          # the reference simulator, final state only
    agrees = (final.steps == steps and final.final.state == labels.states[last[0]]
              and final.final.head == last[1] and final.final.tape.nonblank() == ones)
    return {"steps": steps, "halted": bool(halted), "ones": ones, "reference_agrees": agrees,
            "positions": stream.positions, "wall": w2 - w0, "cpu": c2 - c0, "decode_wall": w2 - w1 - sim_seconds,
            "simulator_wall": sim_seconds, "rss_mb": _rss_mb(), "rss_loaded_mb": rss_loaded,
            "bytes_per_position": (_rss_mb() - rss_loaded) * 2 ** 20 / max(1, stream.positions),
            "stamps": [s for s in stamps if s[0] < 10 ** 5] + [s for s in stamps if s[0] >= 10 ** 5][::max(1, len(stamps) // 400)]
            + stamps[-1:], "stats": dict(stats), "load": _load()}


def run_worker(model_path: str, limit: int, nice: bool) -> dict:
    command = [sys.executable, __file__, "--worker", model_path, str(limit)]
    out = subprocess.run((["nice", "-n", "10"] if nice else []) + command, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"worker failed: {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def checkpoints(result: dict) -> list[tuple[int, float, float]]:
    """(T, wall, CPU) of the decoding at T = 10⁴, 3·10⁴, 10⁵, … and at the end."""
    stamps = result["stamps"]
    out, T = [], 10 ** 4
    while T <= stamps[-1][0]:
        out.append(min(stamps, key=lambda s: abs(s[0] - T)))
        T = T * 3 if str(T).startswith("1") else T * 10 // 3
    if stamps[-1] not in out:
        out.append(stamps[-1])
    return [tuple(s) for s in out]


def exponent(points: list[tuple[int, float, float]], column: int) -> float:
    pts = [(math.log(p[0]), math.log(p[column])) for p in points if p[0] > 0 and p[column] > 0]
    if len(pts) < 2:
        return math.nan
    mx = sum(x for x, _ in pts) / len(pts)
    my = sum(y for _, y in pts) / len(pts)
    return sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)


def render(result: dict, info: dict, command: str) -> str:
    points = checkpoints(result)
    st = result["stats"]
    done = "its halt" if result["halted"] else f"{result['steps']:,} steps (stopped there)"
    lines = [
        SECTION, "",
        f"`{command}`, {info['date']}: {info['cpu']}, {info['cores']} cores, Python {info['python']}, numpy "
        f"{info['numpy']}. A fresh process loads the model file of the BB(5) champion `{CODE}` and decodes it "
        "exactly with the compiled fast decoder (`ModelRun.chunks()`), comparing every configuration (state, head "
        "cell, written symbol) with a reference simulator streamed beside it; the streamed simulator's final "
        "configuration is checked against `tm.simulator.run`, and the ones are counted on the tape replayed from "
        f"the decoded writes alone. Load average at the end: {result['load']} (a shared machine: CPU time is the "
        "figure to compare).", "",
        f"**Decoded to {done}: {result['steps']:,} machine steps, {result['positions']:,} decoder positions, "
        f"{result['ones']:,} ones, every step equal to the simulator's"
        f"{'' if result['reference_agrees'] else ' (but the final configuration DIFFERS from tm.simulator.run)'}.**", "",
        "| measure | value |", "|---|---|",
        f"| wall time, whole process | {result['wall']:,.0f} s ({result['wall'] / 60:.1f} min) |",
        f"| CPU time, whole process | {result['cpu']:,.0f} s |",
        f"| decoding (wall, without the streamed simulator's {result['simulator_wall']:,.0f} s) | "
        f"{result['decode_wall']:,.0f} s = {1e6 * result['decode_wall'] / max(1, result['positions']):.2f} µs per position |",
        f"| peak resident memory | {result['rss_mb']:,.0f} MB |",
        f"| growth per decoder position | {result['bytes_per_position']:.1f} B |",
        f"| largest cached numerator / denominator | {st.get('largest cached numerator (bits)', 0)} / "
        f"{st.get('largest cached denominator (bits)', 0)} bits |",
        f"| largest exact dot product (numerator) | {st.get('largest exact dot product numerator (bits)', 0)} bits |",
        f"| positions handed to the exact Python path | {st.get('handed to the exact Python path', 0)} |",
        "", "Time from the first decoded position (decoding and the streamed simulator):", "",
        "| T (machine steps) | wall (s) | CPU (s) | wall µs per step so far |", "|---:|---:|---:|---:|"]
    for T, w, c in points:
        lines.append(f"| {T:,} | {w:,.1f} | {c:,.1f} | {1e6 * w / max(1, T):.2f} |")
    lines += ["", f"Exponent of time in T ({points[0][0]:,} → {points[-1][0]:,}): wall {exponent(points, 1):.3f}, "
                  f"CPU {exponent(points, 2):.3f}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--worker":
        print(json.dumps(measure(argv[1], int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=10 ** 9, help="stop after this many machine steps")
    parser.add_argument("--nice", action="store_true", help="run the worker under nice -n 10")
    parser.add_argument("--write", action="store_true", help="write the result into docs/benchmarks.md")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    args = parser.parse_args(argv)
    from million import write_section
    from run import machine_info

    from turingformer.compiler.perez.construction import compile_machine
    from turingformer.modelfile import save_model

    machine = champion()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bb5.json")
        save_model(compile_machine(machine), path, machine=machine)
        result = run_worker(path, args.steps, args.nice)
    command = "python benchmarks/bb5.py" + ("" if args.steps >= STEPS else f" --steps {args.steps}")
    text = render(result, machine_info(), command)
    print(text)
    if result["halted"] and (result["steps"], result["ones"]) != (STEPS, ONES):
        print(f"WRONG: expected {STEPS:,} steps and {ONES:,} ones")
        return 1
    if args.write:
        write_section(args.output, text, SECTION)
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
