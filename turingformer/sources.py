"""What a file holds — a machine, a program or a model — identified once, and sources loaded from it.

Every command and :func:`turingformer.load` go through here, so a file is identified in one
place: a model file (a JSON object of format ``turingformer-model``, any kind), a program for
the looped computer (by its name: ``.subleq``, ``.usubleq``, ``.fleq``, an official CSV pair, or
``format=``), or else a Turing machine (any machine format, detected from the name and the
content). When nothing fits, the error lists every format, machines' and programs' alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turingformer.errors import FormatError, Location
from turingformer.files import STDIO
from turingformer.modelfile import sniff_kind
from turingformer.programs.formats import PROGRAM_FORMATS, is_program_file, load_program, loads_program
from turingformer.tm.formats import FORMATS, decode_text, load_machine, loads_machine

MACHINE, PROGRAM, MODEL = "machine", "program", "model"
#: Every format a source file may have, for errors and help texts.
ALL_FORMATS: tuple[str, ...] = (*FORMATS, *PROGRAM_FORMATS)


@dataclass(frozen=True)
class Identified:
    """A file as identified: ``what`` it is (machine, program or model), the model ``kind`` of a
    model file, and its bytes when they came from standard input (read once)."""

    path: str
    what: str
    kind: str | None = None
    data: bytes | None = None

    @property
    def name(self) -> str:
        return "<stdin>" if self.path == STDIO else self.path


def identify(path: str, format: str | None = None, data: bytes | None = None) -> Identified:
    """What ``path`` holds (``data``: its bytes, given for standard input). A ``format`` names a
    machine or program format and wins over the content; a file that cannot be read is left to
    the loader, which reports why."""
    if format is None:
        if data is None and path != STDIO:
            try:
                with open(path, "rb") as f:
                    head = f.read(1 << 16)
                kind = sniff_kind(Path(path).read_bytes()) if head.lstrip()[:1] == b"{" else None
            except OSError:
                kind = None
        else:
            kind = sniff_kind(data or b"")
        if kind is not None:
            return Identified(path, MODEL, kind, data)
    if is_program_file(path if path != STDIO else "", format):
        return Identified(path, PROGRAM, None, data)
    return Identified(path, MACHINE, None, data)


def load_source(found: Identified, *, format: str | None = None, bits: int | None = None) -> Any:
    """The machine or program of an identified file (a model file is not a source)."""
    if found.what == MODEL:
        raise FormatError(f"{found.name} is a model file (kind {found.kind}), not a machine or a program",
                          location=Location(found.name),
                          hint="load it with turingformer.load_model (the commands for models: run, verify, inspect)")
    if found.what == PROGRAM:
        if found.data is not None:
            return loads_program(decode_text(found.data, found.name), format or "", found.name, bits)
        return load_program(found.path, format=format, bits=bits)
    try:
        if found.data is not None:
            return loads_machine(decode_text(found.data, found.name), format, found.name)
        return load_machine(found.path, format=format)
    except FormatError as error:
        if "cannot tell the format" not in error.message:
            raise
        raise FormatError(error.message, location=error.location,
                          hint=f"name it with --format (one of {', '.join(ALL_FORMATS)}) or use the usual extension: "
                               ".yaml, .txt, .json for machines; .subleq, .usubleq, .fleq or an X_cmds.csv/"
                               "X_init_mem.csv pair for programs") from None


def load(path: str | Path, *, format: str | None = None, bits: int | None = None) -> Any:
    """The machine or program in the file ``path`` (``format``: when detection fails; ``bits``: an
    official CSV program's word width). A model file gets a clear error: use ``load_model``."""
    return load_source(identify(str(path), format), format=format, bits=bits)
