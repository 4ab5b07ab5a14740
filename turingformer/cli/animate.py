"""``turingformer animate``: write the HTML player of a run (:mod:`turingformer.views.player`)."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from turingformer.cli.common import machine_and_input, non_negative, note
from turingformer.errors import TuringformerError

#: The default step limit of ``animate``: the page stays smooth at this size (docs/player.md).
ANIMATE_MAX_STEPS = 10_000

ANIMATE_HELP = "write a self-contained HTML page that steps through the transformer's run"
ANIMATE_DESCRIPTION = (
    "Compile FILE, run the transformer on --input (exact, every step checked against the simulator) and "
    "write one offline HTML page: the tape, head and state; the state diagram with the current state and the "
    "rule that fired; the three decoder attentions and the residual stream (exact values) at that position; "
    "step forward/back, play/pause, speed, a slider and the keys left, right and space.")


def animate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", "-i", metavar="W",
                        help="the input word (default: the file's first example / default input, else empty)")
    parser.add_argument("--max-steps", "-n", metavar="N", type=non_negative, default=ANIMATE_MAX_STEPS,
                        help=f"at most N machine steps (default {ANIMATE_MAX_STEPS:,})")
    parser.add_argument("--output", "-o", metavar="RUN.html", required=True, help="the page to write (.html)")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then rename it over ``path``: a failed
    or interrupted run never leaves a half-written page or destroys the previous one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cmd_animate(args: argparse.Namespace) -> int:
    from turingformer.views.player import player_html

    output = Path(args.output)
    if output.suffix.lower() not in (".html", ".htm"):
        raise TuringformerError(f"cannot write the player to {args.output!r}: it is an HTML page",
                                hint="name the output RUN.html")
    if not output.parent.is_dir():
        raise TuringformerError(f"cannot write {args.output!r}: the folder {str(output.parent)!r} does not exist",
                                hint="create the folder first, or write somewhere else")
    machine, runnable, word = machine_and_input(args)
    page = player_html(runnable, word, max_steps=args.max_steps)
    write_atomically(output, page)
    note(f"wrote {output} ({len(page.encode('utf-8')):,} bytes); open it in a browser (works offline)")
    return 0
