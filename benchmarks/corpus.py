"""Verify every halting case of the shared corpus (except BB(5)) with the fast exact decoder.

    python benchmarks/corpus.py [--corpus PATH] [--max-steps N] [--markdown] [--write]

For each case of ``EXPECTED.json`` that halts (BB(5) excluded: 47 million machine steps), the
machine is loaded in its own format, prepared for the input the way its source tool runs it
(:func:`turingformer.tm.formats.prepare_input`), compiled, and decoded from the weights with
:func:`turingformer.runtime.fast.decode_fast` through :func:`turingformer.compiler.perez.decoding.run_model`. The
decoded trace must equal the reference simulator's at every machine step (state, head, symbol,
tape, reason, verdict; :func:`turingformer.compiler.perez.verify.compare_traces`), and the final configuration
must match the corpus' published numbers (steps in the source's convention, head, tape).

Prints one line per case and the total; exits 1 on any mismatch. Per case: compile time, the
time spent inside ``decode_fast`` (the decoder proper), and the whole ``run_model`` time (the
decoder plus reading every output back into a configuration). ``--markdown`` prints a Markdown
table; ``--write`` also puts it into the "Corpus verification" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from turingformer.compiler.perez.construction import compile_machine  # noqa: E402
from turingformer.compiler.perez.decoding import run_model  # noqa: E402
from turingformer.runtime.fast import decode_fast  # noqa: E402
from turingformer.tm.formats import load_machine, prepare_input, reported_steps  # noqa: E402
from turingformer.tm.simulator import run  # noqa: E402
from turingformer.compiler.perez.verify import compare_traces  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus"
SKIP = {"bbchallenge/bb5_champion.txt"}


def halting_cases(corpus: Path, max_steps: int | None = None) -> list[dict]:
    cases = json.loads((corpus / "EXPECTED.json").read_text(encoding="utf-8"))
    out = []
    for case in cases:
        expected = case["expected"]
        if not expected.get("halts") or case["file"] in SKIP:
            continue
        if max_steps is not None and expected["steps"] > max_steps:
            continue
        out.append(case)
    return out


class _Timed:
    """Wraps ``decode_fast`` and accumulates the time spent inside it."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, model, tokens, **kw):
        clock = time.perf_counter
        steps = decode_fast(model, tokens, **kw)
        while True:
            start = clock()
            try:
                step = next(steps)
            except StopIteration:
                self.seconds += clock() - start
                return
            self.seconds += clock() - start
            yield step


def verify_case(corpus: Path, case: dict) -> dict:
    """Decode one case with the fast decoder and compare it with the simulator and the corpus."""
    expected = case["expected"]
    start = time.perf_counter()
    machine, word = prepare_input(load_machine(corpus / case["file"]), case["input"])
    limit = max(2 * expected["steps"], 1000)
    model = compile_machine(machine)
    compiled = time.perf_counter()
    timed = _Timed()
    result = run_model(model, word, max_steps=limit, decoder=timed, keep_steps=False)
    decoded = result.trace
    run_model_time = time.perf_counter() - compiled
    reference = run(machine, word, max_steps=limit)
    problems = []
    divergence = compare_traces(reference, decoded)
    if divergence is not None:
        problems.append(f"differs from the simulator: {divergence}")
    final = decoded.final
    if reported_steps(machine, decoded) != expected["steps"]:
        problems.append(f"steps {reported_steps(machine, decoded)} != {expected['steps']}")
    if final.head != expected["head"]:
        problems.append(f"head {final.head} != {expected['head']}")
    if expected.get("tape") is not None:
        offset, tape = final.tape.span(final.head)
        if (tape, offset) != (expected["tape"], expected["tape_offset"]):
            problems.append(f"tape {offset}:{tape!r} != {expected['tape_offset']}:{expected['tape']!r}")
    return {
        "case": f"{case['file']} {case['input']!r}",
        "d": model.transformer.d,
        "decoder_steps": result.positions,
        "machine_steps": decoded.steps,
        "compile_s": compiled - start,
        "decode_s": timed.seconds,
        "run_model_s": run_model_time,
        "total_s": time.perf_counter() - start,
        "problems": problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--max-steps", type=int, default=None, help="skip cases longer than this")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    cases = halting_cases(args.corpus, args.max_steps)
    results = []
    start = time.perf_counter()
    table = ["| case | d | decoder steps | machine steps | decode_fast (s) | run_model (s) | result |",
             "|---|---:|---:|---:|---:|---:|---|"]
    if args.markdown:
        print("\n".join(table))
    for case in cases:
        r = verify_case(args.corpus, case)
        results.append(r)
        verdict = "ok" if not r["problems"] else "FAIL: " + "; ".join(r["problems"])
        name = r["case"].replace("|", "\\|")
        if len(name) > 70:
            name = name[:67] + "..."
        row = (f"| `{name}` | {r['d']} | {r['decoder_steps']:,} | {r['machine_steps']:,} | "
               f"{r['decode_s']:.3f} | {r['run_model_s']:.3f} | {verdict} |")
        table.append(row)
        if args.markdown:
            print(row, flush=True)
        else:
            print(f"{r['total_s']:8.3f} s (decoder {r['decode_s']:7.3f} s, run_model {r['run_model_s']:7.3f} s)  "
                  f"{r['decoder_steps']:>7,} decoder steps  {r['machine_steps']:>7,} machine steps  "
                  f"d={r['d']:<4} {verdict:4}  {r['case']}", flush=True)
    total = time.perf_counter() - start
    failures = [r for r in results if r["problems"]]
    decoder_steps = sum(r["decoder_steps"] for r in results)
    decode_s = sum(r["decode_s"] for r in results)
    run_model_s = sum(r["run_model_s"] for r in results)
    summary = (f"{len(results)} halting cases (BB(5) excluded), {decoder_steps:,} decoder steps, "
               f"{len(failures)} failures; total {total:.1f} s, of which {decode_s:.1f} s inside "
               f"decode_fast and {run_model_s:.1f} s in run_model (decoder + reading the outputs back)")
    print("\n" + summary)
    if args.write:
        write_section(table, summary, total)
    return 1 if failures else 0


def write_section(table: list[str], summary: str, total: float) -> None:
    import datetime
    import os
    import platform

    doc = ROOT / "docs" / "benchmarks.md"
    old = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks: exact fast decoding\n"
    marker = "\n## Corpus verification"
    head = old[:old.index(marker)] if marker in old else old
    rest = old[old.index(marker) + len(marker):] if marker in old else ""
    tail = rest[rest.index("\n## "):] if "\n## " in rest else ""     # the sections after this one stay
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown")
    section = [
        "", "## Corpus verification", "",
        f"`python benchmarks/corpus.py --write`, {datetime.datetime.now():%Y-%m-%d %H:%M}, {cpu}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, load average at the end "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}. Every halting case of the corpus' "
        "EXPECTED.json except BB(5), decoded exactly with `decode_fast` through `run_model` and "
        "compared with the reference simulator at every machine step and with the published final "
        "configuration. *decode_fast* is the time inside the decoder; *run_model* adds reading every "
        "output back into a configuration (`decoding.Reader`).", "",
        f"**{summary}.**", "", *table, "",
    ]
    doc.write_text(head.rstrip() + "\n" + "\n".join(section) + tail, encoding="utf-8")
    print(f"wrote {doc}")


if __name__ == "__main__":
    sys.exit(main())
