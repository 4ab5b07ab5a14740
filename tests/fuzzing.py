"""Mutation fuzzing of everything a user feeds turingformer (issue 9), shared by the fuzz tests
(``tests/test_fuzz.py``, hypothesis, ~30 s) and the long campaign (``benchmarks/fuzz.py``).

Seeds are the corpus and teaching machines in all five formats plus compiled model files; a
mutant is a seed changed by a few byte-, line- or (for JSON) structure-level edits, biased toward
what broke before (deep nesting, aliases, huge numbers, odd digits, type swaps). The contract
(:func:`check`): the CLI either accepts the file — then the machine round-trips through the
turingformer YAML, simulates and (when small) compiles — or prints one ``turingformer: error:``
line (plus ``fix:`` lines) and exits 2. Anything else is a failure: another exit status, a
traceback, an ``internal error`` line, or a run past :data:`TIME_LIMIT` seconds (a hang).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import signal
from dataclasses import dataclass
from pathlib import Path

from paths import LOCAL_CORPUS, MACHINES, SHARED_CORPUS

from turingformer.cli import main
from turingformer.tm.formats import FORMATS, detect_format, dump_machine, load_machine, loads_machine

MODEL = "model file"
KINDS = (*FORMATS, MODEL)
#: Seconds one mutant may take before it counts as a hang.
TIME_LIMIT = 10.0
#: Machines up to this many states are also compiled (compiling is the slowest check).
COMPILE_STATES = 12
SUFFIX = {"turingformer": ".yaml", "turingmachine.io": ".yaml", "morphett": ".txt", "bbchallenge": ".txt",
          "automata-lib": ".json", MODEL: ".json"}
#: Fragments that broke a loader once, or that sit on a parser's edge.
TOKENS = ["[", "]", "{", "}", "&a ", "*a", "? ", ": ", "- ", "\n", "\t", "'", '"', "\\", ",", "#", ";", "!",
          "²", "٣", "\u00a0", "\ufeff", "\x00", "\x7f", "é", "9" * 4301, "1e400", "-1", "0", "null", "true",
          "~", "!!python/object:os.system ", "[" * 600, "{" * 300, "? &a [*a]\n: 1\n", "*", "_", "Halt ",
          "Infinite", "---", "ZZZ", "$INITIAL_TAPE: ", '"x": ', '[1, "a"]', "NaN", "Infinity", "1" * 5000]


@dataclass(frozen=True)
class Seed:
    kind: str          # a format name or MODEL
    name: str
    data: bytes


def _machine_files() -> list[Path]:
    files = sorted(MACHINES.glob("*.yaml"))
    for root in (LOCAL_CORPUS, SHARED_CORPUS):
        if root.exists():
            files += sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".txt", ".json")
                            and p.name not in ("expected.json", "EXPECTED.json") and "trace" not in p.name)
    return files


def seeds(model_dir: Path) -> list[Seed]:
    """Every seed: the machines (by their detected format) and two compiled model files."""
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
    return out


# ---------------------------------------------------------------------------- mutators
def _splice(rng: random.Random, data: bytes) -> bytes:
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
    return data[:at] + rng.choice(TOKENS).encode("utf-8") + data[at:]   # insert a token


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


def mutate(rng: random.Random, seed: Seed) -> bytes:
    """One mutant of ``seed``: 1-3 edits (JSON seeds also get structural edits)."""
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
                return json.dumps(document, ensure_ascii=rng.random() < 0.5).encode("utf-8")
            except (RecursionError, ValueError):
                return data
    for _ in range(rng.randint(1, 3)):
        data = _splice(rng, data)
    return data


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


def _cli(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def _clear_error(err: str) -> bool:
    lines = err.splitlines()
    notes = [line for line in lines if line.startswith("turingformer: warning: ")]
    rest = [line for line in lines if line not in notes]
    return (bool(rest) and rest[0].startswith("turingformer: error: ") and "Traceback" not in err
            and all(line.startswith("  fix: ") for line in rest[1:]))


def check(kind: str, path: Path) -> str:
    """The outcome of one mutant file: ``valid``, ``error`` (one clear error, exit 2), or a
    failure: ``hang``, ``traceback``, ``internal error``, ``unclear error``, ``exit N`` or
    ``round trip``. Only ``valid`` and ``error`` keep the contract."""
    try:
        with time_limit(TIME_LIMIT):
            if kind == MODEL:
                code, out, err = _cli(["run", str(path), "-n", "30", "-q"])
            else:
                code, out, err = _cli(["show", str(path)])
                if code == 0:
                    return _valid_machine(path)
    except Hang:
        return "hang"
    except BaseException as error:        # noqa: BLE001 - anything escaping main breaks the contract
        return f"traceback ({type(error).__name__})"
    if code == 0:
        return "valid"
    if code == 2:
        return "error" if _clear_error(err) else "unclear error"
    if "internal error" in err:
        return "internal error"
    return f"exit {code}"


def _valid_machine(path: Path) -> str:
    """A loaded machine must round-trip, simulate and (when small) compile."""
    machine = load_machine(path)
    if loads_machine(dump_machine(machine), "turingformer") != machine:
        return "round trip"
    for argv in (["simulate", str(path), "-n", "200", "-q"],
                 *([["compile", str(path), "-o", str(path.with_suffix(".model.json"))]]
                   if len(machine.states) <= COMPILE_STATES else [])):
        code, _, err = _cli(argv)
        if code not in (0, 2) or (code == 2 and not _clear_error(err)):
            return "internal error" if "internal error" in err else f"exit {code} in {argv[0]}"
    return "valid"


CONTRACT = ("valid", "error")
