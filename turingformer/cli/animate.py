"""``turingformer animate``: write the HTML player of a run (:mod:`turingformer.views.player`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from turingformer.cli.common import input_arguments, machine_and_input, max_steps_argument, note
from turingformer.errors import TuringformerError
from turingformer.files import write_atomic

#: The default step limit of ``animate``: the page stays smooth at this size (docs/player.md).
ANIMATE_MAX_STEPS = 10_000

ANIMATE_HELP = "write a self-contained HTML page that steps through the transformer's run"
ANIMATE_DESCRIPTION = (
    "Compile FILE, run the transformer on --input (exact, every step checked against the simulator) and "
    "write one offline HTML page: the tape, head and state; the state diagram with the current state and the "
    "rule that fired; the three decoder attentions and the residual stream (exact values) at that position; "
    "step forward/back, play/pause, speed, a slider and the keys left, right and space.")


def animate_arguments(parser: argparse.ArgumentParser) -> None:
    input_arguments(parser)
    max_steps_argument(parser, ANIMATE_MAX_STEPS)
    parser.add_argument("--output", "-o", metavar="RUN.html", required=True, help="the page to write (.html)")


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
    write_atomic(output, page)
    note(f"wrote {output} ({len(page.encode('utf-8')):,} bytes); open it in a browser (works offline)")
    return 0
