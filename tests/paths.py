"""Where the tests find the project's files, wherever a test module sits below ``tests/``, and the
corpus indexes they read."""

import json
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MACHINES = ROOT / "machines"
PROGRAMS = MACHINES / "programs"
BROKEN = TESTS / "broken"
#: The verbatim corpus subset that always ships with the tests.
LOCAL_CORPUS = TESTS / "corpus"
#: The full third-party corpus, when ``../shared`` sits beside the checkout.
SHARED_CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_cases(root: Path, index: str) -> list[dict]:
    """The cases of a corpus index (``EXPECTED.json`` / ``expected.json``), or [] when it is absent."""
    path = root / index
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else []


def halting_corpus_cases(max_steps: int) -> list:
    """pytest params (corpus root, case) of every distinct case, shared corpus first, that halts
    within ``max_steps``; the id is ``file:input``."""
    import pytest

    seen, found = set(), []
    for root, index in ((SHARED_CORPUS, "EXPECTED.json"), (LOCAL_CORPUS, "expected.json")):
        for case in corpus_cases(root, index):
            key = (case["file"], case["input"])
            if case["expected"]["halts"] and case["expected"]["steps"] <= max_steps and key not in seen:
                seen.add(key)
                found.append(pytest.param(root, case, id=f"{case['file']}:{case['input']!r}"))
    return found
