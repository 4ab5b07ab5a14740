"""Programs in the official code's CSV format (looped spec §2.1, §10.2.3): programs from an own
re-implementation of the official random generator, imported, compiled and verified every loop."""

from __future__ import annotations

import random

import pytest

from turingformer.compiler.looped.verify import verify_looped
from turingformer.programs.formats import load_program


def official_random_program(r: random.Random, m: int = 8, s: int = 16, s_o: int = 1, bits: int = 8):
    """Columns: s_o scratchpad, m memory (the first two are EOF's cells), s commands (EOF last)."""
    B = 2 ** (bits - 1)
    cmds = [(r.randrange(s_o + 2, s_o + m), r.randrange(s_o + 2, s_o + m), r.randrange(s_o + m, s_o + m + s))
            for _ in range(s - 1)]
    cmds.append((s_o, s_o + 1, s_o + m + s - 1))         # EOF: mem[1] -= mem[0] (= -1), jump to itself
    mem = [0, -1] + [r.randint(-B, B - 1) for _ in range(m - 2)]
    return cmds, mem


@pytest.mark.parametrize("seed", range(5))
def test_official_random_programs_verify_for_60_loops(tmp_path, seed):
    cmds, mem = official_random_program(random.Random(seed))
    (tmp_path / "X_cmds.csv").write_text("a,b,c\n" + "".join(f"{a},{b},{c}\n" for a, b, c in cmds))
    (tmp_path / "X_init_mem.csv").write_text("mem\n" + "".join(f"{v}\n" for v in mem))
    program = load_program(tmp_path / "X_cmds.csv", bits=8)
    assert program.size == 16 and program.cells == 8 and program.code[-1].c == 15
    for construction in ("subleq-h3", "subleq-h2"):
        result = verify_looped(program, construction, max_loops=60)
        assert result.ok and result.loops_checked == 60 and not result.reference.halted
