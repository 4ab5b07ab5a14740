"""Mutation fuzzing of everything a user feeds turingformer (issues 9 and 22), shared by the fuzz
tests (``tests/test_fuzz.py``, hypothesis, ~1 minute) and the long campaign (``benchmarks/fuzz.py``).

A *surface* (:data:`SURFACES`) is one kind of input: the five machine formats, compiled model
files, the three program dialects, official CSV pairs, and the compile of a program into a looped
model (its size guards). Seeds are the corpus, the teaching machines and programs and compiled
model files; a mutant is a seed changed by a few byte-, line-, token- or (for JSON) structure-level
edits, biased toward what broke before (deep nesting, aliases, huge numbers, odd digits, type
swaps, word widths, sizes past a construction's limit). The contract (:func:`check`): the CLI
either accepts the file — then a machine round-trips through the turingformer YAML, simulates and
(when small) compiles, and a program simulates and its looped model agrees with the interpreter
(or compiling it is refused with one clear error) — or prints one ``turingformer: error:`` line
(plus ``fix:`` lines) and exits 2. Anything else is a failure: another exit status, a traceback, an
``internal error`` line, a divergence, or a run past :data:`TIME_LIMIT` seconds (a hang).

Surfaces not covered here yet (issue 22, being reworked by others): looped and looped-machine
model files, census machine lists and shard folders, ``animate`` names. Each is added as a
:class:`Surface` in the section "surfaces others add" at the end and registered in
:data:`SURFACES`; the test and the campaign pick it up from there.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from paths import LOCAL_CORPUS, MACHINES, SHARED_CORPUS

from turingformer.cli import main
from turingformer.errors import ProgramSizeError, TuringformerError
from turingformer.tm.formats import FORMATS, detect_format, dump_machine, load_machine, loads_machine

MODEL = "model file"
#: Seconds one mutant may take before it counts as a hang.
TIME_LIMIT = 10.0
#: Machines up to this many states are also compiled (compiling is the slowest check).
COMPILE_STATES = 12
#: Fragments that broke a loader once, or that sit on a parser's edge.
TOKENS = ["[", "]", "{", "}", "&a ", "*a", "? ", ": ", "- ", "\n", "\t", "'", '"', "\\", ",", "#", ";", "!",
          "²", "٣", "\u00a0", "\ufeff", "\x00", "\x7f", "é", "9" * 4301, "1e400", "-1", "0", "null", "true",
          "~", "!!python/object:os.system ", "[" * 600, "{" * 300, "? &a [*a]\n: 1\n", "*", "_", "Halt ",
          "Infinite", "---", "ZZZ", "$INITIAL_TAPE: ", '"x": ', '[1, "a"]', "NaN", "Infinity", "1" * 5000]
#: What broke the program readers (issue 22), or sits on their edges: odd digits, 4,301-digit
#: offsets, word widths outside [2, 4096], reserved and non-ASCII names, directives, FLEQ's wide ops.
PROGRAM_TOKENS = ["٣", "７", "²", "1_0", "+" + "1" * 4301, "9" * 4301, "0x" + "f" * 3600, " .bits 0\n",
                  "\n.bits 99999999999999\n", "\n.bits 62\n", "\n.bits 13\n", "\n.bits 4097\n", " HALT", "HALT:",
                  "αβ:", "x: ", ":", "#", "#-", "__Z", "+", "-", "-1", "0x", "0b2", ".start ", "\n.expect ",
                  " steps = ", "=", ",", ";", "\n.data\n", "\n.code\n", "\nmul ", "\nshr ", "\nsubleq ", "\nhalt\n",
                  " p:", "\t", "\u00a0", "\ufeff", "\x00", b"\xff", "Unnamed: 0,", "\r",
                  # FLEQ-M (issues 18, 19): matrix literals, shapes, directives, its functions
                  "[[1, 2], [3]]", "[[", "]]", "[1e9]", "#1e400", "#0.000000001", "\n.frac 99\n", "\n.k 0\n",
                  "\n.k 9\n", "\n.frac -1\n", "\nmm ", "\nrecip ", "\nsigm ", "\nshl9 ", "\namax ", "\n.cells ",
                  "\n.dataset X rows 9 ", "\n.learn gd linear ", " rate ", " epoch ", " raw ", " ~ "]


PROGRAMS = MACHINES / "programs"
#: The program dialects: surface name -> file suffix.
DIALECTS = {"subleq": ".subleq", "usubleq": ".usubleq", "fleq": ".fleq", "fleqm": ".fleqm"}
#: Dialects whose programs are also resized for the looped compile (FLEQ-M has its own size guards,
#: tested in tests/compiler/fixedpoint; its resized cards take minutes to build).
RESIZED = ("subleq", "usubleq", "fleq")
CSV = "official-csv"
LOOPED = "looped compile"
#: Programs below this many punch-card columns (FLEQ's mul and shr up to 8 bits) are verified on
#: their looped model loop for loop; larger ones are only compiled (or refused by the size guards).
VERIFY_COLUMNS = 300
#: Word widths the size mutations set: the edges of [2, 4096] and of FLEQ's mul (12) and shr (15).
WIDTHS = (2, 3, 8, 12, 13, 15, 16, 24, 62, 64, 4096)
#: Odd values of ``--bits`` for a CSV pair.
BITS_OPTIONS = ("0", "1", "2", "16", "62", "4096", "4097", "99999999999999", "٨", "1_0", "-3", "9" * 4301)


@dataclass(frozen=True)
class Seed:
    kind: str              # the surface's name
    name: str
    data: bytes            # the file the command names
    partner: bytes = b""   # an official CSV pair's X_init_mem.csv (``data`` is its X_cmds.csv)


@dataclass(frozen=True)
class Mutant:
    data: bytes
    partner: bytes = b""
    options: tuple[str, ...] = ()     # extra command-line options (``--bits N`` for a CSV pair)


@dataclass(frozen=True)
class Surface:
    """One kind of input: how its mutants are made, what their file is called, how they are checked."""

    name: str
    suffix: str                                      # the mutant's file name ends so
    mutate: Callable[[random.Random, Seed], Mutant]
    check: Callable[[Path, Mutant], str]             # the outcome (see :func:`check`)
    time_limit: float = TIME_LIMIT                   # seconds before a mutant counts as a hang


def _machine_files() -> list[Path]:
    files = sorted(MACHINES.glob("*.yaml"))
    for root in (LOCAL_CORPUS, SHARED_CORPUS):
        if root.exists():
            files += sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".txt", ".json")
                            and p.name not in ("expected.json", "EXPECTED.json") and "trace" not in p.name)
    return files


#: Official CSV pairs in the generator's layout (s_o scratchpad columns, m memory, s commands, EOF
#: last), one with a pandas index column: (name, X_cmds.csv, X_init_mem.csv).
CSV_SEEDS = (
    ("plain", "a,b,c\n2,3,6\n4,3,7\n3,4,5\n0,1,8\n", "mem\n0\n-1\n3\n5\n-2\n"),
    ("scratch", "a,b,c\n4,5,9\n6,4,10\n5,6,8\n3,2,11\n", "mem\n-1\n0\n7\n-7\n1\n0\n"),
    ("indexed", ",a,b,c\n0,3,2,5\n1,2,3,5\n2,1,0,6\n", ",mem\n0,-1\n1,0\n2,4\n3,100\n"),
)


def seeds(model_dir: Path) -> list[Seed]:
    """Every seed: the machines (by their detected format), two compiled model files, the example
    programs (once per dialect and once for the looped compile) and the official CSV pairs."""
    out = []
    for path in _machine_files():
        text = path.read_bytes()
        try:
            kind = detect_format(path, text.decode("utf-8-sig"))
            load_machine(path)
        except Exception:       # a file that is not a machine (a README) is no seed
            continue
        out.append(Seed(kind, path.name, text))
    for name in ("busy_beaver_2.yaml", "binary_increment.yaml"):
        model = model_dir / (Path(name).stem + ".json")
        if not model.exists():
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                assert main(["compile", str(MACHINES / name), "-o", str(model)]) == 0
        out.append(Seed(MODEL, model.name, model.read_bytes()))
    for dialect, suffix in DIALECTS.items():
        for path in sorted(PROGRAMS.glob(f"*{suffix}")):
            out.append(Seed(dialect, path.name, path.read_bytes()))
            if dialect in RESIZED:
                out.append(Seed(LOOPED, path.name, path.read_bytes()))
    out += [Seed(CSV, name, cmds.encode(), mem.encode()) for name, cmds, mem in CSV_SEEDS]
    return out


# ---------------------------------------------------------------------------- mutators
def _splice(rng: random.Random, data: bytes, tokens=TOKENS) -> bytes:
    at = rng.randrange(len(data) + 1)
    choice = rng.randrange(6)
    if choice == 0 and data:                                   # flip a byte
        k = rng.randrange(len(data))
        return data[:k] + bytes([data[k] ^ (1 << rng.randrange(8))]) + data[k + 1:]
    if choice == 1:                                            # delete a span
        return data[:at] + data[at + rng.randrange(1, 40):]
    if choice == 2:                                            # duplicate a span
        end = min(len(data), at + rng.randrange(1, 200))
        return data[:end] + data[at:end] + data[end:]
    if choice == 3:                                            # truncate
        return data[:at]
    if choice == 4:                                            # swap two lines
        lines = data.split(b"\n")
        if len(lines) > 1:
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        return b"\n".join(lines)
    token = rng.choice(tokens)                                 # insert a token
    return data[:at] + (token if isinstance(token, bytes) else token.encode("utf-8")) + data[at:]


_ODD_VALUES = [None, True, 0, -1, 1e308, "", "x", "1/0", "1e400", "٣", [], {}, [[[]]], "9" * 4400, ["a", 1],
               {"a": None}, "q2:state=nope"]


def _mutate_json(rng: random.Random, value, depth: int = 0):
    """A copy of a JSON value with one node replaced, deleted, nested or two swapped."""
    if isinstance(value, (dict, list)) and value and rng.random() < 0.85 and depth < 12:
        out = dict(value) if isinstance(value, dict) else list(value)
        keys = list(out) if isinstance(out, dict) else list(range(len(out)))
        key = rng.choice(keys)
        roll = rng.random()
        if roll < 0.1:
            del out[key]
        elif roll < 0.2:
            other = rng.choice(keys)
            out[key], out[other] = out[other], out[key]
        else:
            out[key] = _mutate_json(rng, value[key], depth + 1)
        return out
    roll = rng.random()
    if roll < 0.1:
        nested = value
        for _ in range(rng.choice((50, 600, 1200))):
            nested = [nested]
        return nested
    return rng.choice(_ODD_VALUES)


def _mutate_file(rng: random.Random, seed: Seed) -> Mutant:
    """A machine or model file: 1-3 edits (JSON seeds also get structural edits)."""
    data = seed.data
    if seed.name.endswith(".json") and rng.random() < 0.7:
        try:
            document = json.loads(data)
        except ValueError:
            document = None
        if document is not None:
            for _ in range(rng.randint(1, 2)):
                document = _mutate_json(rng, document)
            try:
                return Mutant(json.dumps(document, ensure_ascii=rng.random() < 0.5).encode("utf-8"))
            except (RecursionError, ValueError):
                return Mutant(data)
    for _ in range(rng.randint(1, 3)):
        data = _splice(rng, data)
    return Mutant(data)


_WORD = re.compile(rb"[^\s,;=]+")


def _odd_token(rng: random.Random, data: bytes) -> bytes:
    """A token of the program replaced: an odd number, a label with an odd offset, a reserved or
    non-ASCII name, a value at a word's edge."""
    words = list(_WORD.finditer(data))
    if not words:
        return data
    word = rng.choice(words)
    names = [m.group().rstrip(b":") for m in words if m.group()[:1].isalpha()]
    name = rng.choice(names) if names else b"x"
    odd = rng.choice([b"\xd9\xa3", "７".encode(), b"1_0", b"9" * 4301, name + b"+" + b"1" * 4301, name + b"+1",
                      name + b"-1", name + "+٢".encode(), b"HALT", "αβ".encode(), b"-1", b"0", b"127", b"128",
                      b"-129", b"32767", b"__Z", b"#0", b"#" + b"9" * 50, b"0x" + b"f" * 40, b"-0b1", b"p:" + name])
    return data[:word.start()] + odd + data[word.end():]


def _mutate_program(rng: random.Random, seed: Seed) -> Mutant:
    """A program: 1-3 edits, byte-level (with the program tokens) or a replaced token."""
    data = seed.data
    for _ in range(rng.randint(1, 3)):
        data = _odd_token(rng, data) if rng.random() < 0.4 else _splice(rng, data, PROGRAM_TOKENS + TOKENS[:20])
    return Mutant(data)


def _mutate_pair(rng: random.Random, seed: Seed) -> Mutant:
    """An official CSV pair: edits of one of its two files, sometimes an odd ``--bits``."""
    files = [seed.data, seed.partner]
    for _ in range(rng.randint(1, 3)):
        k = rng.randrange(2)
        files[k] = _odd_token(rng, files[k]) if rng.random() < 0.3 else _splice(rng, files[k], PROGRAM_TOKENS)
    options = ("--bits", rng.choice(BITS_OPTIONS)) if rng.random() < 0.15 else ()
    return Mutant(files[0], files[1], options)


def _resize(rng: random.Random, seed: Seed) -> Mutant:
    """A program made wider or larger, across the constructions' limits: another ``.bits``, a line
    repeated up to 16,500 times, up to 16,500 more data cells, a FLEQ ``mul`` / ``shr``."""
    text = seed.data.decode("utf-8")
    fleq, unified = seed.name.endswith(".fleq"), seed.name.endswith(".usubleq")
    for _ in range(rng.randint(1, 2)):
        roll = rng.random()
        count = rng.choices((2, 50, 500, 16_500), (8, 6, 4, 1))[0]
        if roll < 0.35:
            text = re.sub(r"(?m)^\s*\.bits.*$", "", text)
            text = f".bits {rng.choice(WIDTHS)}\n" + text
        elif roll < 0.6:
            lines = [line for line in text.splitlines() if re.match(r"\s*(\w+:\s*)*[a-z]+\s", line)
                     and not line.lstrip().startswith(".")]
            if lines:
                line = re.sub(r"^\s*(\w+:\s*)*", "", rng.choice(lines)).split(";")[0]
                line = re.sub(r"\w+:(?=\S)", "", line)                  # SUBLEQ-U operand labels
                text += ("\n" if unified else "\n.code\n") + (line + "\n") * count
        elif roll < 0.85:
            text += ("\n" if unified else "\n.data\n") + f"pad{rng.randrange(10 ** 6)}: " + "0 " * count + "\n"
        elif fleq:
            text += f"\n.code\n{rng.choice(('mul', 'shr'))} #3 #5 __Z\n"
    return Mutant(text.encode("utf-8"))


# ---------------------------------------------------------------------------- the contract
class Hang(BaseException):
    """A mutant that ran past the time limit (BaseException: the CLI's defence must not catch it)."""


@contextlib.contextmanager
def time_limit(seconds: float):
    def expire(signum, frame):
        raise Hang()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _cli(argv: list[str]) -> tuple[int, str]:
    """The exit status and the standard error of ``turingformer ARGV`` (run in this process). Exit 1
    for a claim the file makes about itself that its run does not meet (an example, an .expect) is
    the contract too: it counts as 0, with the report kept in the output."""
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit:          # argparse refuses an option value: usage, error, exit 2
            code = exit.code
    if code == 1 and argv[0] == "simulate" and "NOT MET" in out.getvalue() + err.getvalue():
        code = 0
    return code, err.getvalue()


def _clear_error(err: str) -> bool:
    lines = err.splitlines()
    notes = [line for line in lines if line.startswith("turingformer: warning: ")]
    rest = [line for line in lines if line not in notes]
    return (bool(rest) and rest[0].startswith("turingformer: error: ") and "Traceback" not in err
            and all(line.startswith("  fix: ") for line in rest[1:]))


def _outcome(code: int, err: str) -> str:
    """``valid`` (exit 0), ``error`` (one clear error, exit 2), or how the contract broke."""
    if code == 0:
        return "valid"
    if code == 2:
        return "error" if _clear_error(err) else "unclear error"
    if "internal error" in err:
        return "internal error"
    return f"exit {code}"


def _argparse_error(err: str) -> bool:
    """argparse's own refusal of an option value (usage, then ``turingformer CMD: error: ...``)."""
    lines = err.strip().splitlines()
    return bool(lines) and lines[0].startswith("usage: ") and ": error: argument " in lines[-1]


def _check_model(path: Path, mutant: Mutant) -> str:
    """A model file must run (or be refused with one clear error)."""
    return _outcome(*_cli(["run", str(path), "-n", "30", "-q"]))


def _check_machine(path: Path, mutant: Mutant) -> str:
    """A machine must round-trip, simulate and (when small) compile."""
    code, err = _cli(["show", str(path)])
    if code != 0:
        return _outcome(code, err)
    machine = load_machine(path)
    if loads_machine(dump_machine(machine), "turingformer") != machine:
        return "round trip"
    for argv in (["simulate", str(path), "-n", "200", "-q"],
                 *([["compile", str(path), "-o", str(path.with_suffix(".model.json"))]]
                   if len(machine.states) <= COMPILE_STATES else [])):
        code, err = _cli(argv)
        if code not in (0, 2) or (code == 2 and not _clear_error(err)):
            return "internal error" if "internal error" in err else f"exit {code} in {argv[0]}"
    return "valid"


def _check_program(path: Path, mutant: Mutant) -> str:
    """A program that ``show`` accepts must simulate, and its looped model must agree with the
    interpreter loop for loop (small programs) or compile or be refused with one clear error."""
    argv = [str(path), *mutant.options]
    code, err = _cli(["show", *argv])
    if code == 2 and mutant.options and _argparse_error(err):
        return "error"
    if code != 0:
        return _outcome(code, err)
    code, err = _cli(["simulate", *argv, "-n", "200", "-q"])
    if code != 0:
        return _outcome(code, err) + " in simulate"
    return _check_compile(path, mutant)


def _check_compile(path: Path, mutant: Mutant) -> str:
    """``verify`` (exit 0: every loop agrees) for a small program, else ``compile`` (exit 0, or one
    clear error from a size guard). A FLEQ program with mul or shr over 10 bits that its guard
    admits is not built: that takes seconds, depends on N alone, and
    tests/compiler/test_size_guards.py builds it."""
    from turingformer.programs.formats import load_program
    argv = [str(path), *mutant.options]
    program = load_program(path, bits=int(mutant.options[1]) if mutant.options else None)   # show accepted it
    if _small(program):
        code, err = _cli(["verify", *argv, "-n", "20", "-q"])
        return {0: "valid", 1: "divergence"}.get(code, _outcome(code, err) + " in verify")
    if {"mul", "shr"} & set(getattr(program, "functions", ())) and program.bits > 10 and _admitted(program):
        return "valid"
    return _outcome(*_cli(["compile", *argv, "-o", str(path.with_name("mutant-compiled.json"))]))


def _small(program) -> bool:
    """A program whose looped model ``verify`` checks loop for loop in a moment."""
    wide = {"mul", "shr"} & set(getattr(program, "functions", ()))
    return program.cells + getattr(program, "size", 0) < VERIFY_COLUMNS and (not wide or program.bits <= 8)


def _admitted(program) -> bool:
    """True when the program's construction guard admits it (False without guards: code before
    issue 22, whose compile of a wide mul then runs into the time limit)."""
    try:
        from turingformer.compiler.looped.construction import check_size
    except ImportError:
        return False
    try:
        check_size(program)
    except ProgramSizeError:
        return False
    return True


def _check_looped(path: Path, mutant: Mutant) -> str:
    """A resized program: compiling ends in a model (that agrees with the interpreter, for a small
    program) or in one clear error. The file is read once here and once by ``compile``: a mutant
    may have 16,500 lines."""
    from turingformer.programs.formats import load_program
    try:
        program = load_program(path)
    except TuringformerError:
        program = None                    # compile must refuse it with one clear error
    if program is not None and {"mul", "shr"} & set(getattr(program, "functions", ())) and program.bits > 10 \
            and _admitted(program):
        return "valid"
    code, err = _cli(["compile", str(path), "-o", str(path.with_name("mutant-compiled.json"))])
    if code != 0 or program is None or not _small(program):
        return _outcome(code, err)
    code, err = _cli(["verify", str(path), "-n", "20", "-q"])
    return {0: "valid", 1: "divergence"}.get(code, _outcome(code, err) + " in verify")


# ---------------------------------------------------------------------------- the surfaces
SURFACES: dict[str, Surface] = {
    **{kind: Surface(kind, {"automata-lib": ".json", "morphett": ".txt", "bbchallenge": ".txt"}.get(kind, ".yaml"),
                     _mutate_file, _check_machine) for kind in FORMATS},
    MODEL: Surface(MODEL, ".json", _mutate_file, _check_model),
    **{dialect: Surface(dialect, suffix, _mutate_program, _check_program) for dialect, suffix in DIALECTS.items()},
    CSV: Surface(CSV, "_cmds.csv", _mutate_pair, _check_program),
    LOOPED: Surface(LOOPED, "", _resize, _check_looped, time_limit=30.0),   # up to 16,500 lines, read twice
}

# ---------------------------------------------------------------------------- surfaces others add
# Looped and looped-machine model files, census machine lists and shard folders, and animate names
# (issue 22) are reworked by others; each becomes a Surface here (seeds in seeds(), a mutator, a
# check returning "valid" / "error" or how the contract broke) registered in SURFACES.

KINDS = tuple(SURFACES)
CONTRACT = ("valid", "error")


def mutate(rng: random.Random, seed: Seed) -> Mutant:
    """One mutant of ``seed``, by its surface's mutator."""
    return SURFACES[seed.kind].mutate(rng, seed)


def write(directory: Path, seed: Seed, mutant: Mutant) -> Path:
    """Write ``mutant`` into ``directory`` and return the file a command names (an official CSV
    pair's X_cmds.csv; a resized program under its seed's suffix)."""
    path = directory / ("mutant" + (SURFACES[seed.kind].suffix or Path(seed.name).suffix))
    path.write_bytes(mutant.data)
    if seed.kind == CSV:
        (directory / "mutant_init_mem.csv").write_bytes(mutant.partner)
    return path


def check(seed: Seed, path: Path, mutant: Mutant) -> str:
    """The outcome of one mutant: ``valid`` (accepted, and everything it promises held), ``error``
    (one clear error, exit 2), or a failure: ``hang``, ``traceback (TYPE)``, ``internal error``,
    ``unclear error``, ``exit N``, ``round trip`` or ``divergence``. Only :data:`CONTRACT` keeps it."""
    try:
        with time_limit(SURFACES[seed.kind].time_limit):
            return SURFACES[seed.kind].check(path, mutant)
    except Hang:
        return "hang"
    except BaseException as error:        # noqa: BLE001 - anything escaping main breaks the contract
        return f"traceback ({type(error).__name__})"
