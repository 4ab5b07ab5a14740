"""``turingformer serve``: the local web app in which a class edits machines and watches the
transformer run them (:mod:`turingformer.serve`; docs/player.md)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from turingformer.cli.common import PROG, non_negative, positive

#: The examples menu: the checkout's machines/ folder (with its programs/), as ``demo`` finds it.
EXAMPLES = Path(__file__).resolve().parents[2] / "machines"

SERVE_HELP = "a local web app: edit a machine or program in the browser and watch the transformer run it"
SERVE_DESCRIPTION = (
    "Start a web server (127.0.0.1 by default) with an editor for machines (any supported format) and programs "
    "for the looped computer, the project's FILE:LINE:COL errors at the line while typing, the examples of "
    "machines/ as a menu, share links (the machine and input in the address) and the player of 'animate'. "
    "Every run is compiled, decoded exactly and checked against the simulator in a worker process with a "
    "step, position, time and memory limit; nothing typed is executed or written. Ctrl-C stops it.")


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    from turingformer.serve.limits import Limits
    default = Limits()
    parser.add_argument("--host", default="127.0.0.1",
                        help="the address to listen on (default 127.0.0.1: this computer only; 0.0.0.0 opens it "
                             "to the network, e.g. a classroom)")
    parser.add_argument("--port", type=non_negative, default=8000, help="the port (default 8000; 0: any free port)")
    parser.add_argument("--examples", metavar="DIR", default=str(EXAMPLES),
                        help="the folder of example machines (and programs/) for the menu (default: machines/)")
    limits = parser.add_argument_group("limits per run")
    limits.add_argument("--max-steps", type=non_negative, default=default.max_steps, metavar="N",
                        help=f"machine steps (program loops) per run (default {default.max_steps:,})")
    limits.add_argument("--max-positions", type=positive, default=default.max_positions, metavar="N",
                        help=f"decoder positions per run: 2n + 3 + 2 per step (default {default.max_positions:,})")
    limits.add_argument("--max-input", type=non_negative, default=default.max_input, metavar="N",
                        help=f"input symbols (default {default.max_input:,})")
    limits.add_argument("--time-limit", type=float, default=default.time_limit, metavar="S",
                        help=f"seconds per request; the worker is killed after that (default {default.time_limit:g})")
    limits.add_argument("--memory-limit", type=positive, default=default.memory_mib, metavar="MiB",
                        help=f"address space of a worker process (default {default.memory_mib:,} MiB)")
    limits.add_argument("--workers", type=positive, default=default.processes, metavar="K",
                        help=f"runs at once; more wait in a queue (default {default.processes})")


def cmd_serve(args: argparse.Namespace) -> int:
    from turingformer.errors import TuringformerError
    from turingformer.serve.app import serve
    from turingformer.serve.limits import Limits

    if not args.time_limit > 0:
        raise TuringformerError(f"--time-limit must be more than 0 seconds, got {args.time_limit:g}")
    limits = Limits(max_steps=args.max_steps, max_positions=args.max_positions, max_input=args.max_input,
                    time_limit=args.time_limit, memory_mib=args.memory_limit, processes=args.workers)

    def ready(url: str) -> None:
        print(f"turingformer serve: open {url} in a browser (Ctrl-C stops the server)", flush=True)
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            print(f"{PROG}: note: listening on {args.host}: anyone who can reach this computer can use it",
                  file=sys.stderr, flush=True)

    try:
        serve(limits, host=args.host, port=args.port, examples_folder=Path(args.examples), ready=ready)
    except KeyboardInterrupt:
        print(f"\n{PROG}: stopped", file=sys.stderr)
    except OSError as error:
        raise TuringformerError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}",
                                hint="choose another port with --port (0 picks a free one)") from None
    return 0
