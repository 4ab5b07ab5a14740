"""``turingformer animate``: write the HTML player of a run (:mod:`turingformer.views.player`): a Turing
machine on the Pérez transformer, or a program on the looped transformer."""

from __future__ import annotations

import argparse
from pathlib import Path

from turingformer.cli.common import input_arguments, load, machine_and_input, max_steps_argument, note, progress_bar
from turingformer.errors import TuringformerError
from turingformer.files import write_atomic
from turingformer.sources import PROGRAM

#: The default step limit of ``animate``: the page stays smooth at this size (docs/player.md).
ANIMATE_MAX_STEPS = 10_000
#: The output names a page may have.
PAGE_SUFFIXES = (".html", ".htm")

ANIMATE_HELP = "write a self-contained HTML page that steps through the transformer's run"
ANIMATE_DESCRIPTION = (
    "Compile FILE, run the transformer on --input (exact, every step checked against the simulator) and "
    "write one offline HTML page: the tape, head and state; the state diagram with the current state and the "
    "rule that fired; the three decoder attentions and the residual stream (exact values) at that position; "
    "step forward/back, play/pause, speed, a slider and the keys left, right and space. A program (.subleq, "
    ".usubleq, .fleq) gets the looped transformer's page: memory and pc, the address heads and the punch card "
    "per loop (--max-steps counts loops). A page holds at most 50,000 decoder positions (2n + 3 + 2 per step), "
    "refused before any work.")


def animate_arguments(parser: argparse.ArgumentParser) -> None:
    input_arguments(parser)
    max_steps_argument(parser, ANIMATE_MAX_STEPS)
    parser.add_argument("--output", "-o", metavar="RUN.html", required=True, help="the page to write (.html or .htm)")


def cmd_animate(args: argparse.Namespace) -> int:
    output = Path(args.output)
    if output.suffix.lower() not in PAGE_SUFFIXES:
        raise TuringformerError(f"cannot write the player to {args.output!r}: it is an HTML page",
                                hint="name the output RUN.html (or RUN.htm)")
    if not output.parent.is_dir():
        raise TuringformerError(f"cannot write {args.output!r}: the folder {str(output.parent)!r} does not exist",
                                hint="create the folder first, or write somewhere else")
    page, interrupted = _program_page(args) if args.found.what == PROGRAM else _machine_page(args)
    write_atomic(output, page)
    note(f"wrote {output} ({len(page.encode('utf-8')):,} bytes); open it in a browser (works offline)")
    if interrupted:
        note("interrupted: the page holds the partial run, as far as it was decoded and verified")
        return 130
    return 0


def _machine_page(args: argparse.Namespace) -> tuple[str, bool]:
    from turingformer.tm.formats import dump_machine
    from turingformer.views.player import check_page_bounds, player_html

    machine, runnable, word = machine_and_input(args)
    check_page_bounds(len(word), args.max_steps)
    with progress_bar(args.max_steps, stoppable=True) as progress:
        page = player_html(runnable, word, max_steps=args.max_steps, progress=progress, source=dump_machine(machine))
        return page, progress.asked()


def _program_page(args: argparse.Namespace) -> tuple[str, bool]:
    from turingformer.views.player import program_player_html

    program = load(args)
    found = args.found
    text = found.data if found.data is not None else Path(found.path).read_bytes()
    source = text.decode("utf-8", "replace") if not Path(args.file).suffix == ".csv" else None
    with progress_bar(args.max_steps, unit="loop", stoppable=True) as progress:
        page = program_player_html(program, max_loops=args.max_steps, progress=progress, source=source,
                                   file=Path(args.file).name)
        return page, progress.asked()
