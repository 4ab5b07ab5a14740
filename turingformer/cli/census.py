"""``turingformer census``: verify the construction on every machine of a class, or of a file
(:mod:`turingformer.analysis.census`), on local processes or a Dask cluster."""

from __future__ import annotations

import argparse
import contextlib
import sys

from turingformer.analysis.census import DEFAULT_CHUNK, MAX_CHUNK, run_census
from turingformer.cli.common import PROG, non_negative, positive, progress_bar

CENSUS_HELP = "verify every TNF machine of a class (or of a file) and write one Parquet row per machine"
CENSUS_DESCRIPTION = (
    "For every machine of the tree-normal-form class --states N --symbols M (the bbchallenge "
    "enumeration: 41 machines for 2 states, 4,057 for 3) or of --machines FILE (one bbchallenge "
    "machine such as 1RB1LB_1LA1RZ per line): compile it, decode the blank input exactly with the "
    "fast decoder, compare with the simulator at every step up to --max-steps, and write one row "
    "(machine, halted, steps, nonblank, agrees, first_divergence, d, seconds, ...) to OUT (Parquet). "
    "--dtype float32,float64 adds the first decoder step at which each INEXACT float mode diverges. "
    "Runs on --workers local processes, or on a Dask cluster with --scheduler tcp://HOST:PORT; "
    "--resume continues an interrupted census. Exit status: 0 all agree, 1 some machine disagrees, "
    "2 a bad option or a bad machine line (reported, the census goes on).")


def census_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--states", type=positive, metavar="N", help="census the TNF machines with N states")
    source.add_argument("--machines", metavar="FILE",
                        help="census the machines of FILE: one bbchallenge standard-text machine per line "
                             "(blank lines and # comments are skipped)")
    parser.add_argument("--symbols", type=positive, default=2, metavar="M", help="symbols of the TNF class (default 2)")
    parser.add_argument("--max-steps", "-n", type=positive, default=100, metavar="T",
                        help="machine steps to compare per machine (default 100)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT.parquet",
                        help="the Parquet file to write (not the machine list; OUT.lock keeps a second census off it)")
    parser.add_argument("--dtype", default="", metavar="LIST",
                        help="comma-separated INEXACT float modes whose first divergence to record, e.g. "
                             "float32,float64 (default none)")
    parser.add_argument("--workers", type=non_negative, default=None, metavar="K",
                        help="local worker processes (default: the number of cores; 0 = this process)")
    parser.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                        help="run on the Dask distributed cluster of this scheduler ('dask scheduler' and "
                             "'dask worker ADDRESS --nthreads 1' started by you) instead of local processes")
    parser.add_argument("--chunk", type=positive, default=DEFAULT_CHUNK, metavar="C",
                        help=f"machines per task, per Parquet shard and per decoded batch (default {DEFAULT_CHUNK}, "
                             f"at most {MAX_CHUNK:,})")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted census: keep the shards in OUT.shards/ that are verified to be "
                             "this census' (any other file there is recomputed)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def cmd_census(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    dtypes = [d.strip() for d in args.dtype.split(",") if d.strip()]
    bars = contextlib.ExitStack()
    progress = {"update": None, "done": 0}

    def start(total, done):
        progress["done"] = done
        if not args.quiet:
            progress["update"] = bars.enter_context(progress_bar(total, unit=" machine"))

    def rows(found):
        for row in found:
            if row["agrees"] is None and row["error"]:
                tqdm.write(f"{PROG}: error: {row['error']}", file=sys.stderr)
            elif row["agrees"] is False:
                tqdm.write(f"{PROG}: {row['machine']}: the transformer disagrees with the simulator at machine "
                           f"step {row['first_divergence']}" + (f" ({row['error']})" if row["error"] else ""),
                           file=sys.stderr)
        progress["done"] += len(found)
        if progress["update"] is not None:
            progress["update"](progress["done"])

    try:
        summary = run_census(args.output, states=args.states, symbols=args.symbols, machines=args.machines,
                             max_steps=args.max_steps, dtypes=dtypes, chunk=args.chunk, workers=args.workers,
                             scheduler=args.scheduler, resume=args.resume, on_rows=rows, on_start=start)
    except KeyboardInterrupt:
        print(f"{PROG}: census interrupted: the finished chunks are kept; run the same command with --resume "
              "to continue", file=sys.stderr)
        raise
    finally:
        bars.close()
    print(summary.line())
    print(f"{PROG}: note: wrote {args.output}", file=sys.stderr)
    if summary.errors:
        return 2
    return 1 if summary.divergences else 0
