"""The fuzz suite (issue 9): mutants of the corpus and teaching machines in every format and of
model files keep the CLI's contract (``fuzzing.check``): a valid machine that round-trips,
simulates and compiles, or one clear error with exit 2 — never a traceback, a hang or another
exit status. Hypothesis with a fixed seed, about 30 s in all; ``benchmarks/fuzz.py`` runs the long
campaign and reports counts per format and outcome."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzzing import CONTRACT, KINDS, SUFFIX, check, mutate, seeds

#: Mutants per kind: 1,080 in all, about 10 CPU seconds (45 s wall at load average 14 on 2 cores).
EXAMPLES = {"model file": 80}
DEFAULT_EXAMPLES = 200


@pytest.fixture(scope="module")
def all_seeds(tmp_path_factory):
    return seeds(tmp_path_factory.mktemp("models"))


@pytest.mark.parametrize("kind", KINDS)
def test_mutants_keep_the_contract(kind, all_seeds, tmp_path):
    pool = [s for s in all_seeds if s.kind == kind]
    assert pool, f"no seed of kind {kind}"

    @settings(max_examples=EXAMPLES.get(kind, DEFAULT_EXAMPLES), derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, 2**32), st.integers(0, len(pool) - 1))
    def mutant(number, which):
        seed = pool[which]
        path = tmp_path / f"mutant{SUFFIX[kind]}"
        path.write_bytes(mutate(random.Random(number), seed))
        outcome = check(kind, path)
        assert outcome in CONTRACT, f"{seed.name} mutant {number}: {outcome}\n{path.read_bytes()[:400]!r}"

    mutant()
