"""Every call ``turingformer serve`` makes into the library, in one module.

The server and its worker processes only call the four functions here: :func:`example_files`
(the menu), :func:`check_source` (the errors shown while typing), :func:`run_source` (what "run"
loads into the player) and :func:`source_kind`. Each takes the text a user typed and plain
limits, and returns JSON-able dicts; a user's mistake comes back as an ``error`` entry with the
project's ``FILE:LINE:COL`` message, never as an exception. Nothing here executes the text or
writes a file: machines and programs are *parsed* (YAML safely, assembly by the project's
assemblers) and then simulated, compiled and decoded.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from turingformer.errors import TuringformerError
from turingformer.programs.formats import detect_program_format, loads_program
from turingformer.tm.examples import check_example, check_examples, examples_of_input
from turingformer.tm.formats import loads_machine, prepare_input
from turingformer.views.player import (
    PlayerLimitError, diagram_svg, player_data, program_player_data, check_page_bounds,
)

__all__ = ["example_files", "source_kind", "check_source", "run_source", "error_entry"]

#: The name a share link or the editor gives a source when it has none.
DEFAULT_FILE = "machine.yaml"


def source_kind(file: str) -> str:
    """``"program"`` when the file name is a program's (``.subleq``, ``.usubleq``, ``.fleq``), else ``"machine"``."""
    return "program" if detect_program_format(_name(file)) in ("subleq", "usubleq", "fleq") else "machine"


def _name(file: str) -> str:
    """Only the last component of a user-given file name: it names a format, never a path."""
    return PurePosixPath(str(file or DEFAULT_FILE).replace("\\", "/")).name or DEFAULT_FILE


def error_entry(error: TuringformerError) -> dict:
    """A user's error for the page: the one-line message as the CLI prints it, its line and column."""
    where = error.location
    return {"message": str(error).split("\n  fix: ")[0], "hint": error.hint,
            "line": where.line if where else None, "column": where.column if where else None}


def _load(text: str, file: str):
    name = _name(file)
    if source_kind(name) == "program":
        return "program", loads_program(text, detect_program_format(name), name)
    return "machine", loads_machine(text, None, name)


def example_files(folder: Path) -> list[dict]:
    """The menu: every machine (``*.yaml``) and program of ``folder`` and ``folder/programs`` with
    its text, name and kind, sorted by kind and name (unreadable files are left out)."""
    out = []
    for path in sorted(folder.glob("*.yaml")) + sorted((folder / "programs").glob("*.*")):
        if detect_program_format(path) not in (None, "subleq", "usubleq", "fleq"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
            kind, thing = _load(text, path.name)
        except (OSError, UnicodeDecodeError, TuringformerError):
            continue
        out.append({"file": path.name, "kind": kind, "name": thing.name or path.stem, "source": text,
                    "input": thing.examples[0].input if kind == "machine" and thing.examples else ""})
    return out


def check_source(text: str, file: str, *, max_steps: int) -> dict:
    """Load ``text`` as the file ``file`` would be loaded: ``{"ok": true, kind, name, summary,
    examples}`` (each example of a machine checked on the simulator within ``max_steps`` steps) or
    ``{"ok": false, "error": {message, hint, line, column}}``."""
    try:
        kind, thing = _load(text, file)
    except TuringformerError as error:
        return {"ok": False, "error": error_entry(error)}
    checks = check_examples(thing, max_steps=max_steps) if kind == "machine" else ()
    if kind == "program":
        summary = f"{thing.kind.value} program: {thing.cells} cells of {thing.bits} bits"
    else:
        summary = (f"{len(thing.states)} states, {len(thing.tape_alphabet)} tape symbols, {len(thing.rules)} rules"
                   + (f", {len(checks)} example{'' if len(checks) == 1 else 's'} checked" if checks else ""))
    return {"ok": True, "kind": kind, "name": thing.name or "", "summary": summary,
            "examples": [{"text": str(c), "met": c.met, "failed": c.failed,
                          "line": c.example.location.line if c.example.location else None} for c in checks]}


def run_source(text: str, file: str, word: str, *, max_steps: int, max_positions: int) -> dict:
    """Compile the machine (or program) of ``text``, decode it exactly on ``word`` for at most
    ``max_steps`` steps (loops) and return the player's data, with ``examples`` (the check of the
    machine's examples for this input) and ``limited`` (the step limit stopped the run).
    A user's error or a run over ``max_positions`` is ``{"error": {...}}``."""
    try:
        kind, thing = _load(text, file)
        if kind == "program":
            if word:
                return {"error": {"message": "a program's input is its initial memory: leave the input empty "
                                             "and edit the .data values", "hint": None, "line": None, "column": None}}
            data = program_player_data(thing, max_loops=max_steps)
            data["source"], data["file"] = text, _name(file)
        else:
            runnable, word = prepare_input(thing, word)
            check_page_bounds(len(word), max_steps, max_positions=max_positions)
            data = player_data(runnable, word, max_steps=max_steps, max_positions=max_positions)
            data["diagram"] = diagram_svg(runnable)
            data["source"], data["file"] = text, _name(file)
            data["examples"] = [str(check_example(thing, example, number=k, max_steps=max_steps))
                                for k, example in examples_of_input(thing, word)]
    except PlayerLimitError as error:
        return {"error": {**error_entry(error), "hint": "ask for fewer steps or a shorter input (this server's "
                                                        "limit); on your own computer 'turingformer animate' "
                                                        "draws up to 50,000 positions"}, "limit": True}
    except TuringformerError as error:
        return {"error": error_entry(error)}
    data["limited"] = data["verdict"] == "running"
    return data
