"""Reading and writing machine files: the turingformer YAML format and four third-party formats.

=====================  =====================================================  ==============
format name            what                                                   extensions
=====================  =====================================================  ==============
``turingformer``       the project's YAML (``docs/format.md``)                ``.yaml .yml``
``turingmachine.io``   turingmachine.io YAML (``table:``, ``start state:``)   ``.yaml .yml``
``morphett``           Morphett's simulator text (5-tuples, ``;`` comments)   ``.txt``
``bbchallenge``        bbchallenge standard text (``1RB1LB_1LA1RZ``)          ``.txt .bb``
``automata-lib``       automata-lib DTM constructor arguments as JSON         ``.json``
=====================  =====================================================  ==============

:func:`load_machine` detects the format (:func:`detect_format`) unless ``format=`` names it;
:func:`dump_machine` always writes turingformer YAML. Third-party tools differ in small run
conventions (how inputs are written, whether a halt for "no rule" counts as a step):
:func:`prepare_input` and :func:`reported_steps` apply them; ``docs/importers.md`` lists them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from turingformer.errors import DefinitionSyntaxError, FormatError, InputError, Location
from turingformer.tm.machine import TuringMachine
from turingformer.tm.simulator import HaltReason
from . import _yaml, automata_lib, bbchallenge, morphett, tmio, turingformer

__all__ = [
    "FORMATS", "ALIASES", "load_machine", "loads_machine", "decode_text", "dump_machine", "detect_format",
    "normalize_format", "prepare_input", "reported_steps", "reported_final_state",
]

FORMATS: tuple[str, ...] = ("turingformer", "turingmachine.io", "morphett", "bbchallenge", "automata-lib")

_LOADERS: dict[str, Callable[[str, str | None], TuringMachine]] = {
    "turingformer": turingformer.loads,
    "turingmachine.io": tmio.loads,
    "morphett": morphett.loads,
    "bbchallenge": bbchallenge.loads,
    "automata-lib": automata_lib.loads,
}

#: Other spellings accepted by ``format=`` / ``--format`` (those of the corpus' EXPECTED.json too).
ALIASES: dict[str, str] = {
    "yaml": "turingformer", "tf": "turingformer",
    "tmio": "turingmachine.io", "turingmachineio": "turingmachine.io", "turingmachine.io-yaml": "turingmachine.io",
    "tm.io": "turingmachine.io",
    "morphett.info": "morphett", "morphett-text": "morphett",
    "bb": "bbchallenge", "bbchallenge-standard": "bbchallenge", "standard": "bbchallenge",
    "automata": "automata-lib", "automata-lib-dtm-json": "automata-lib", "automatalib": "automata-lib",
    "dtm-json": "automata-lib",
}


def normalize_format(name: str) -> str:
    """The canonical format name for ``name`` (case-insensitive, aliases allowed)."""
    key = name.strip().lower()
    if key in FORMATS:
        return key
    if key in ALIASES:
        return ALIASES[key]
    guess = _yaml.suggest(key, [*FORMATS, *ALIASES])
    raise FormatError(f"unknown format {name!r}",
                      hint=(f"{guess} " if guess else "") + f"the formats are: {', '.join(FORMATS)}")


# ---------------------------------------------------------------------------- detection
_TMIO_KEY = re.compile(r"^(?:start state|table|synonyms)[ \t]*:", re.MULTILINE)
_TF_KEY = re.compile(r"^(?:states|rules|start|input alphabet|tape alphabet)[ \t]*:", re.MULTILINE)
_MORPHETT_LINE = re.compile(r"^[ \t]*\S+[ \t]+\S[ \t]+\S[ \t]+[lLrR*][ \t]+\S+", re.MULTILINE)


def detect_format(path: str | Path | None, text: str) -> str:
    """Guess the format of a file from its extension, then from its content.

    * ``.json`` -> automata-lib;
    * ``.yaml``/``.yml`` -> turingmachine.io when a top-level ``start state:``, ``table:`` or
      ``synonyms:`` key appears, else turingformer;
    * ``.txt`` and anything else -> bbchallenge when the first token is a machine such as
      ``1RB1LB_1LA1RZ``, Morphett when a line looks like a 5-tuple, JSON / YAML by content.

    Raises :class:`~turingformer.errors.FormatError` when nothing fits (pass ``format=``).
    """
    suffix = Path(path).suffix.lower() if path is not None else ""
    stripped = text.lstrip("\ufeff \t\r\n")
    if suffix == ".json":
        return "automata-lib"
    if suffix in (".yaml", ".yml"):
        return _yaml_flavour(text)
    if bbchallenge.looks_like(stripped):
        return "bbchallenge"
    if suffix in (".txt", ".tm", ".morphett") and _MORPHETT_LINE.search(_strip_comments(text)):
        return "morphett"
    if stripped.startswith("{"):
        return "automata-lib"
    if _TMIO_KEY.search(text) or _TF_KEY.search(text):
        return _yaml_flavour(text)
    if _MORPHETT_LINE.search(_strip_comments(text)):
        return "morphett"
    raise FormatError(
        f"cannot tell the format of {str(path) if path is not None else 'the text'}",
        location=Location(str(path)) if path is not None else None,
        hint=f"name it with --format (one of {', '.join(FORMATS)}) or use the usual extension "
             "(.yaml, .txt, .json)")


def _yaml_flavour(text: str) -> str:
    return "turingmachine.io" if _TMIO_KEY.search(text) and not _TF_KEY.search(text) else "turingformer"


def _strip_comments(text: str) -> str:
    return "\n".join(line.split(";", 1)[0] for line in text.splitlines())


# ---------------------------------------------------------------------------- load / dump
def loads_machine(text: str, format: str | None = None, filename: str | None = None) -> TuringMachine:
    """Read a machine from ``text`` in ``format`` (detected from ``filename``/content when None)."""
    name = normalize_format(format) if format else detect_format(filename, text)
    return _LOADERS[name](text, filename)


def load_machine(path: str | Path, format: str | None = None) -> TuringMachine:
    """Read the machine file ``path`` (any of :data:`FORMATS`; detected unless ``format`` is given).

    Errors are :class:`~turingformer.errors.TuringformerError` subclasses naming the file and line.
    A file that cannot be read raises :class:`OSError` as usual.
    """
    path = Path(path)
    return loads_machine(decode_text(path.read_bytes(), str(path)), format, str(path))


def decode_text(data: bytes, filename: str | None) -> str:
    """The text of a machine file's bytes: UTF-8 (a BOM allowed), line breaks made ``\\n``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DefinitionSyntaxError(f"the file is not UTF-8 text (byte {error.start})",
                                    location=Location(filename, line),
                                    hint="save the file as UTF-8") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def dump_machine(machine: TuringMachine) -> str:
    """The machine as turingformer YAML text; ``loads_machine(dump_machine(m), 'turingformer') == m``."""
    return turingformer.dumps(machine)


# ---------------------------------------------------------------------------- run conventions
#: Formats whose tools run any input symbol (a symbol without a rule simply stops the machine).
LENIENT_INPUT = ("turingmachine.io", "automata-lib")


def prepare_input(machine: TuringMachine, word: str) -> tuple[TuringMachine, str]:
    """The machine and input to simulate ``word`` the way the machine's source tool would.

    * Morphett: spaces in an input are blanks (``_``); a leading ``*`` (the head marker on the
      first cell) is dropped; a ``*`` further right is refused (the head always starts on cell 0).
    * turingmachine.io and automata-lib run any input: symbols outside the machine's alphabet are
      added to its input alphabet for this run, and the machine stops (rejects) where it reads one
      without a rule, as those tools do.
    * Everything else is checked strictly: :class:`~turingformer.errors.InputError`.
    """
    if machine.source_format == "morphett":
        word = word.replace(" ", morphett.BLANK)
        if word.startswith("*"):
            word = word[1:]
        if "*" in word:
            raise InputError(f"input {word!r}: Morphett's head marker '*' is only supported on the first cell",
                             hint="turingformer starts the head on cell 0: drop the cells left of the '*'")
        unknown = sorted(set(word) - set(machine.tape_alphabet))
        if unknown:
            raise InputError(
                f"input {word!r}: symbol(s) {', '.join(map(repr, unknown))} do not occur in the Morphett program",
                hint="the importer expands wildcards over the symbols the program (and its $INITIAL_TAPE) "
                     "mentions; add the symbol to a rule or to the $INITIAL_TAPE comment")
    elif machine.source_format in LENIENT_INPUT:
        allowed = set(machine.input_alphabet) | {machine.blank}
        extra = [s for s in dict.fromkeys(word) if s not in allowed]
        if extra:
            machine = machine.replace(input_alphabet=[*machine.input_alphabet, *extra])
    machine.check_input(word)
    return machine, word


def reported_steps(machine: TuringMachine, result) -> int:
    """The step count the machine's source tool reports for a run (a Trace or FinalResult).

    The simulator counts executed transitions. Morphett's simulator, when no rule applies,
    still counts one step (it writes the symbol back and enters ``halt``), so its count is one
    higher for a "no rule" halt. turingmachine.io, bbchallenge and automata-lib count as the
    simulator does (a transition into a halting state is executed and counted; a stop for lack of
    a rule is not a step).
    """
    if machine.source_format == "morphett" and result.reason is HaltReason.NO_RULE:
        return result.steps + 1
    return result.steps


def reported_final_state(machine: TuringMachine, result) -> str:
    """The final state the source tool shows: Morphett moves to ``halt`` when no rule applies."""
    if machine.source_format == "morphett" and result.reason is HaltReason.NO_RULE:
        return "halt"
    return result.final.state
