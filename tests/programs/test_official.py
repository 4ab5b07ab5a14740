"""The importer of the official code's CSV programs (looped spec §1.1, §2.1): fixture pairs are
generated here the way the official generator lays them out (a, b: memory columns, c: command
columns, EOF last: (s_o, s_o + 1) over mem[0] = 0, mem[1] = -1, or swapped as in its reverse_list), and their runs are compared with an interpreter
that works on punch-card columns directly, as the official code does."""

from __future__ import annotations

import random

import pytest

from paths import BROKEN
from turingformer import errors as E
from turingformer.programs import SubleqInstruction as I, run, wrap
from turingformer.programs.formats import load_program


def official_pair(folder, name, scratch, memory, commands, *, index_column=False):
    """Write name_cmds.csv / name_init_mem.csv; ``commands`` are (a, b, c) column indices."""
    prefix = lambda i: f"{i}," if index_column else ""
    head = "," if index_column else ""
    (folder / f"{name}_cmds.csv").write_text(
        head + "a,b,c\n" + "".join(f"{prefix(i)}{a},{b},{c}\n" for i, (a, b, c) in enumerate(commands)))
    (folder / f"{name}_init_mem.csv").write_text(
        head + "mem\n" + "".join(f"{prefix(i)}{v}\n" for i, v in enumerate(memory)))
    return folder / f"{name}_cmds.csv"


def generate(seed, scratch, m, s, bits=8):
    """A random program in the official layout (spec §10.2 item 3)."""
    rng = random.Random(seed)
    half = 1 << (bits - 1)
    eof = [0, -1] if seed % 2 else [-1, 0]               # b of EOF holds -1: -1 - 0 <= 0 jumps to itself
    memory = eof + [rng.randrange(-half, half) for _ in range(m - 2)]
    n = scratch + m + s
    commands = [(rng.randrange(scratch + 2, scratch + m), rng.randrange(scratch + 2, scratch + m),
                 rng.randrange(scratch + m, n)) for _ in range(s - 1)]
    commands.append((scratch, scratch + 1, n - 1) if seed % 2 else (scratch + 1, scratch, n - 1))
    return memory, commands


def column_run(scratch, memory, commands, loops, bits):
    """SUBLEQ on punch-card columns: X[col] holds memory; pc is a command column."""
    X = {scratch + i: v for i, v in enumerate(memory)}
    first = scratch + len(memory)
    pc = first
    states = []
    for _ in range(loops + 1):
        states.append((pc - first, tuple(X[scratch + i] for i in range(len(memory)))))
        a, b, c = commands[pc - first]
        X[b] = wrap(X[b] - X[a], bits)
        pc = c if X[b] <= 0 else pc + 1
    return states


@pytest.mark.parametrize("seed, scratch, m, s", [(1, 1, 8, 16), (2, 8, 8, 16), (3, 2, 11, 25), (4, 3, 4, 5)])
def test_generated_programs_match_the_column_interpreter(tmp_path, seed, scratch, m, s):
    memory, commands = generate(seed, scratch, m, s)
    program = load_program(official_pair(tmp_path, f"p{seed}", scratch, memory, commands, index_column=seed == 3))
    assert program.cells == m and program.size == s and program.bits == 8 and program.name == f"p{seed}"
    trace = run(program, max_steps=60)
    assert not trace.halted and trace.steps == 60                      # EOF loops on itself forever
    assert [(t.pc, t.memory) for t in trace] == column_run(scratch, memory, commands, 60, 8)


def test_mapping_and_eof(tmp_path):
    # 2 scratchpad columns, memory at columns 2..5, commands at 6..8; EOF = (3, 2, 8)
    path = official_pair(tmp_path, "tiny", 2, [-1, 0, 5, 3], [(4, 5, 7), (5, 4, 6), (3, 2, 8)])
    program = load_program(tmp_path / "tiny_init_mem.csv")            # either file of the pair
    assert program.code == (I(2, 3, 1), I(3, 2, 0), I(1, 0, 2))
    assert load_program(path) == program
    trace = run(program, max_steps=10)
    assert trace.final.pc == 2 and trace[-2].memory == trace.final.memory  # EOF: a self-loop that changes nothing


def test_bits_option(tmp_path):
    path = official_pair(tmp_path, "w", 1, [0, -1, 300], [(3, 3, 4), (1, 2, 4)])
    with pytest.raises(E.WordRangeError, match="300 does not fit in 8 bits"):
        load_program(path)
    assert load_program(path, bits=10).memory == (0, -1, 300)


@pytest.mark.parametrize("name, error, line, column, phrase", [
    ("bad_column_cmds.csv", E.AddressError, 2, 5, "c = 8 is not a command column: they are 5..6"),
    ("bad_header_cmds.csv", E.AssemblySyntaxError, 1, 1, "the header is 'a,b', not 'a,b,c'"),
    ("lonely_cmds.csv", E.FormatError, None, None, "lonely_init_mem.csv is missing"),
    ("wide_word_init_mem.csv", E.WordRangeError, 3, 1, "the word 300 does not fit in 8 bits"),
    ("arabic_digit_cmds.csv", E.AssemblySyntaxError, 4, 1, "the word '٣' is not a whole number: '٣' (arabic-indic"),
    ("not_utf8_cmds.csv", E.AssemblySyntaxError, 4, None, "the file is not UTF-8 text (byte 9)"),
])
def test_broken_pairs(name, error, line, column, phrase):
    with pytest.raises(error) as caught:
        load_program(BROKEN / "programs" / name)
    located = caught.value.location
    assert type(caught.value) is error and phrase in caught.value.message and caught.value.hint
    assert (located.line, located.column) == (line, column)
