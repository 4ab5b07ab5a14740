"""Model files: a compiled model saved as JSON, exactly, with every dimension's name, the source it
was compiled from, and an integrity digest.

Format ``turingformer-model`` version 2 (documented in ``docs/model-format.md``) is an
**envelope** around the body of one model kind::

    {"format": "turingformer-model", "version": 2, "kind": "<model kind>",
     "digest": "sha256:<64 hex digits>",
     "source": {"machine": "<turingformer YAML>", "examples": ["011", ...]}
             | {"program": {...}, "examples": []} | null,
     ...the body written by the kind's Model.to_json()...}

This module knows the envelope only: the version, the digest, the recorded source, and which
:class:`~turingformer.compiler.protocol.Model` class reads a kind (the construction registry,
:func:`turingformer.compiler.model_class`). Each model class writes and validates its own body
(``to_json`` / ``from_json``, with the shared readers of :mod:`turingformer.runtime.serialize`),
so a new construction never edits this file. Numbers are strings ``"p/q"`` so nothing is
rounded; dimensions are named, never indexed; nothing is pickled.

**Provenance.** ``source`` records what the model was compiled from — a Turing machine as
canonical turingformer YAML plus its example inputs, or a program as JSON — for ``verify MODEL``
(which re-runs the reference on it) and for ``run``'s default input. Decoding never reads it.

**Integrity.** ``digest`` is the SHA-256 of the canonical form of everything else: the document
re-serialised from the *loaded* model (so ``"2/4"`` and ``"1/2"`` are one weight), plus
``source``, as JSON with sorted keys and no spaces. :attr:`ModelFile.modified` is True when the
recorded digest is not the computed one: the file was edited after compiling. Editing is allowed
(it is an experiment), never silent.

**Validation.** Loading checks the whole structure before building anything; damage is a
:class:`~turingformer.errors.ModelFileError` naming the JSON path (``decoder[1].cross.query.weights[3]``),
never a guess and never a traceback.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from turingformer.compiler import model_class, source_kind
from turingformer.compiler.protocol import Model
from turingformer.errors import Location, ModelFileError, SourceKindError
from turingformer.files import write_atomic
from turingformer.runtime.serialize import JsonReader, canonical_digest, kind_of_value

FORMAT = "turingformer-model"
VERSION = 2
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_CREATE = "create one with `turingformer compile FILE -o MODEL`"


# ---------------------------------------------------------------------------- provenance
@dataclass(frozen=True)
class Source:
    """What a model was compiled from: a machine as canonical turingformer YAML (``machine``) and
    its example inputs (the default input of ``run``), or a program as JSON (``program``). Never
    read by decoding; :meth:`load` rebuilds the source for ``verify``."""

    machine: str | None = None
    examples: tuple[str, ...] = ()
    program: dict | None = None

    @classmethod
    def of(cls, source: Any) -> "Source":
        """The record of a source object (a :class:`~turingformer.tm.machine.TuringMachine` or a program)."""
        if source_kind(source) == "turing-machine":
            from turingformer.tm.formats import dump_machine
            return cls(dump_machine(source), tuple(e.input for e in source.examples))
        return cls(program=source.to_json())

    def load(self, where: str = "<model>") -> Any:
        """The recorded source as an object again (validated as any source is)."""
        if self.machine is not None:
            from turingformer.tm.formats import loads_machine
            return loads_machine(self.machine, "turingformer", f"{where} (recorded machine)")
        from turingformer.programs import Program
        try:
            return Program.from_json(self.program)
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelFileError(f"the recorded program is damaged ({type(error).__name__}: {str(error)[:80]})",
                                 location=Location(where), hint="recompile the program") from None

    def to_json(self) -> dict:
        if self.machine is not None:
            return {"machine": self.machine, "examples": list(self.examples)}
        return {"program": self.program, "examples": list(self.examples)}


@dataclass(frozen=True)
class ModelFile:
    """A model file as read: the model, its provenance, and its digest recorded and computed."""

    model: Model
    kind: str
    source: Source | None
    recorded_digest: str
    digest: str

    @property
    def modified(self) -> bool:
        """True when the file was edited after it was written (the digests differ)."""
        return self.recorded_digest != self.digest

    def default_input(self) -> str | None:
        """The input a command runs on when none is given: the first recorded example, else None
        (the model's own: empty for a machine, the memory for a program)."""
        return self.source.examples[0] if self.source and self.source.examples else None


# ---------------------------------------------------------------------------- documents
def _canonical_digest(kind: str, body: dict, source: Source | None) -> str:
    return canonical_digest({"format": FORMAT, "version": VERSION, "kind": kind,
                             "source": None if source is None else source.to_json(), **body})


def _check_model(model: Any) -> Model:
    if not isinstance(model, Model):
        raise SourceKindError(f"save_model saves a compiled model, not a {type(model).__name__}",
                              hint="compile it first: model = turingformer.compile(source)")
    return model


def to_json(model: Model, source: Any = None) -> dict:
    """The model file document of ``model``; ``source`` (a machine or a program) is recorded as its provenance."""
    body = _check_model(model).to_json()
    record = None if source is None else source if isinstance(source, Source) else Source.of(source)
    return {"format": FORMAT, "version": VERSION, "kind": model.kind,
            "digest": _canonical_digest(model.kind, body, record),
            "source": None if record is None else record.to_json(), **body}


def save_model(model: Model, path: str | Path, *, source: Any = None) -> None:
    """Write ``model`` to ``path`` (JSON, UTF-8, atomically: the old file survives any failure).

    ``source`` is what it was compiled from (default: the model's own :attr:`Model.source`, set by
    :func:`turingformer.compile` and by loading), recorded for ``verify MODEL`` and ``run``'s default input.
    """
    source = getattr(model, "source", None) if source is None else source
    write_atomic(path, json.dumps(to_json(model, source), ensure_ascii=False, indent=1) + "\n")


def read_model(path: str | Path) -> ModelFile:
    """Read and fully validate a model file (see the module docstring)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise ModelFileError(f"cannot read the model file {path}: {e.strerror}", location=Location(str(path))) from None
    return parse_model(raw, str(path))


def model_kind(path: str | Path) -> str | None:
    """The ``kind`` of the model file at ``path`` (whatever an edited file says), or None when
    ``path`` is no model file: not a JSON object whose ``format`` is a model file's (a machine
    file, an automata-lib DTM included, is not), unreadable, or not JSON."""
    try:
        return sniff_kind(Path(path).read_bytes())
    except OSError:
        return None


def sniff_kind(raw: bytes) -> str | None:
    """:func:`model_kind` of the bytes of a file (standard input, say)."""
    try:
        if not raw.lstrip()[:1] == b"{" or FORMAT.encode() not in raw:
            return None
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    return str(data.get("kind"))[:80]


def parse_model(raw: bytes, source: str) -> ModelFile:
    """Read and fully validate the bytes of a model file; ``source`` names it in errors."""
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as e:
        where = (Location(source, e.lineno, e.colno) if isinstance(e, json.JSONDecodeError) else Location(source))
        raise ModelFileError(f"not a turingformer model file (not JSON: {getattr(e, 'msg', e)})", location=where,
                             hint=_CREATE) from None
    except RecursionError:
        raise ModelFileError("not a turingformer model file (JSON nested too deeply)", location=Location(source),
                             hint=_CREATE) from None
    return read_json(data, source)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number of a model file")


def _read_source(r: JsonReader, value) -> Source | None:
    if value is None:
        return None
    record = r.obj(value, "source")
    if "machine" in record:
        s = r.obj(value, "source", ("machine", "examples"))
        return Source(r.string(s["machine"], "source.machine"), r.strings(s["examples"], "source.examples"))
    s = r.obj(value, "source", ("program", "examples"))
    return Source(examples=r.strings(s["examples"], "source.examples"), program=r.obj(s["program"], "source.program"))


def read_json(data, source: str = "<model>") -> ModelFile:
    """Validate a parsed model file document and build its model (see the module docstring)."""
    r = JsonReader(source)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ModelFileError("not a turingformer model file", location=Location(source), hint=_CREATE)
    version = data.get("version")
    if type(version) is not int or version != VERSION:
        shown = json.dumps(version)[:40] if isinstance(version, (int, str, float, type(None))) else kind_of_value(version)
        raise ModelFileError(f"model format version {shown}; this turingformer reads version {VERSION}",
                             location=Location(source), hint="recompile: turingformer compile FILE -o MODEL")
    kind = r.string(data.get("kind"), "kind")
    cls = model_class(kind, source)
    recorded = r.string(data.get("digest"), "digest")
    if not _DIGEST.match(recorded):
        raise r.fail("digest", f"{recorded[:40]!r} is not 'sha256:' and 64 hex digits")
    provenance = _read_source(r, data.get("source"))
    model = cls.from_json(data, r).with_source(provenance)
    return ModelFile(model, kind, provenance, recorded, _canonical_digest(kind, model.to_json(), provenance))


def load_model(path: str | Path) -> Model:
    """Read a model file and return its model (its recorded source as :attr:`Model.source`);
    raises :class:`~turingformer.errors.ModelFileError` if it is not one. :func:`read_model`
    also gives the integrity check."""
    return read_model(path).model


def from_json(data, source: str = "<model>") -> Model:
    """The model of a parsed model file document."""
    return read_json(data, source).model
