"""The fuzz suite (issues 9 and 22): mutants of every surface (``fuzzing.SURFACES``: the corpus
and teaching machines in every format, model files, the three program dialects, official CSV
pairs, and programs resized across the looped constructions' limits) keep the CLI's contract
(``fuzzing.check``): a valid input that does everything it promises (a machine round-trips,
simulates and compiles; a program simulates and its looped model agrees with the interpreter or
is refused by a size guard), or one clear error with exit 2 — never a traceback, a hang, a
divergence or another exit status. Hypothesis with a fixed seed; ``benchmarks/fuzz.py`` runs the
long campaign and reports counts per surface and outcome."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzzing import CONTRACT, CSV, DIALECTS, KINDS, LOOPED, MODEL, check, mutate, seeds, write

#: Mutants per surface: 1,080 for the machines and model files (about 10 CPU seconds, 45 s wall
#: at load average 14 on 2 cores), 225 for the programs (about 9 CPU seconds); FLEQ-M mutants
#: compile and verify matrix programs (about 0.25 s each): 30 of them, the campaign runs more.
EXAMPLES = {MODEL: 80, **{dialect: 50 for dialect in DIALECTS}, "fleqm": 30, CSV: 50, LOOPED: 25}
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
        changed = mutate(random.Random(number), seed)
        path = write(tmp_path, seed, changed)
        outcome = check(seed, path, changed)
        assert outcome in CONTRACT, (f"{seed.name} mutant {number}: {outcome}\n{changed.data[:400]!r}"
                                     f"\n{changed.partner[:200]!r} {' '.join(changed.options)[:100]}")

    mutant()
