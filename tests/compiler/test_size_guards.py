"""Issue 22: every looped construction refuses, before building, what it cannot build in
reasonable size — FLEQ-H's ``mul`` and ``shr`` (σ units that double with every bit), a punch card
of more than MAX_COLUMNS columns, a Turing machine's tape block that cannot fit one — with the
limit and the reason in one :class:`ProgramSizeError`; and builds everything up to the limit.
The guards are checked to run *before* building: each refusal happens under a short alarm that
building would overrun by minutes (``mul`` at 64 bits, a tape block of 10^20 cells)."""

from __future__ import annotations

import pytest

from fuzzing import time_limit
from paths import MACHINES
from turingformer import errors as E
from turingformer.cli import main
from turingformer.compiler.bridge import tm_to_subleq
from turingformer.compiler.bridge.tm_to_subleq import MAX_TAPE_CELLS, compile_looped, machine_to_program
from turingformer.compiler.looped import fleq_h, limits
from turingformer.compiler.looped.construction import compile_program
from turingformer.programs.formats import loads_program
from turingformer.tm.formats import load_machine

#: Seconds a refusal may take: building what it refuses takes from 30 s to forever.
QUICK = 10


def fleq(bits: int, *ops: str):
    body = "".join(f"{op} a b c\n" for op in ops)
    return loads_program(f".bits {bits}\n.data\na: 3\nb: 2\nc: 0\n.code\n{body}halt\n", "fleq", "w.fleq")


@pytest.mark.parametrize("ops, bits, phrase, widest", [
    (("mul",), 13, "mul as tables of σ units that double with every bit: 20,479 units at N = 13, more than the "
                   "16,384 this construction builds (mul up to N = 12)", 12),
    (("mul",), 64, "mul up to N = 12", 12),
    (("shr",), 16, "32,768 units at N = 16", 15),
    (("shr", "mul", "add"), 13, "(shr up to N = 15, mul up to N = 12)", 12)])
def test_wide_function_tables_are_refused_before_building(ops, bits, phrase, widest):
    program = fleq(bits, *ops)
    with time_limit(QUICK), pytest.raises(E.ProgramSizeError) as caught:
        compile_program(program)
    assert phrase in caught.value.message and caught.value.hint.startswith(f"lower .bits to {widest},")
    assert caught.value.location.file == "w.fleq"


def test_the_widest_tables_still_build():
    assert fleq_h.widest("mul") == 12 and fleq_h.widest("shr") == 15
    fleq_h.check_size(fleq(12, "mul", "shr"))              # 10,239 + 2,048 units: accepted
    compile_program(fleq(8, "mul", "shr"))


@pytest.mark.parametrize("bits", range(2, 8))
def test_table_units_count_what_is_built(bits):
    """The guard's count is the construction's: the σ units labelled mul.* and shr.*."""
    transformer = fleq_h.build(3, bits, 1, ("mul", "shr", "add"))
    units = [name.split(":", 1)[1].split(".")[0] for block in transformer.blocks if block.ffn
             for name in block.ffn.layers[0].target.names]
    for name in ("mul", "shr", "add"):
        assert units.count(name) == fleq_h.table_units(name, bits) or name == "add"
    assert fleq_h.table_units("add", bits) == 0


def _subleq_h(cells: int, instructions: int):
    """``cells`` declared cells, __Z (for halt) and ``instructions`` halts: n = cells + 1 + instructions + 1."""
    return loads_program(".data\nx: " + "0 " * cells + "\n.code\n" + "halt\n" * instructions, "subleq", "w.subleq")


def _subleq_u(cells: int):
    return loads_program(".bits 16\nsubleq Z Z -1\nZ: " + "0 " * (cells - 3) + "\n", "usubleq", "w.usubleq")


@pytest.mark.parametrize("construction, program, columns", [
    ("subleq-h3", lambda: _subleq_h(9, 9), 20), ("subleq-h2", lambda: _subleq_h(9, 9), 20),
    ("subleq-u3", lambda: _subleq_u(19), 20), ("fleq-h", lambda: loads_program(
        ".data\nx: " + "0 " * 10 + "\n.code\n" + "add x x x\n" * 9, "fleq", "w.fleq"), 20)])
def test_every_construction_refuses_a_card_over_the_column_limit(construction, program, columns, monkeypatch):
    """n = M + s + 1 (Harvard) or M + 1 (SUBLEQ-U): exactly the limit builds, one more is refused."""
    monkeypatch.setattr(limits, "MAX_COLUMNS", columns)
    model = compile_program(program(), construction)
    assert model.n == columns
    monkeypatch.setattr(limits, "MAX_COLUMNS", columns - 1)
    with pytest.raises(E.ProgramSizeError, match=f"n = .* = {columns} columns; the looped constructions take at "
                                                 f"most {columns - 1} .every loop scores each column"):
        compile_program(program(), construction)


def test_the_column_limit_admits_a_10000_instruction_program():
    assert limits.MAX_COLUMNS >= 10_000 + 100 + 1


def test_a_huge_tape_block_is_refused_at_once():
    machine = load_machine(MACHINES / "binary_increment.yaml")
    with time_limit(QUICK):
        for cells in (10 ** 20, MAX_TAPE_CELLS + 1):
            with pytest.raises(E.ProgramSizeError, match=f"tape block has at most {MAX_TAPE_CELLS:,} cells"):
                machine_to_program(machine, "1", tape_cells=cells)
        # the largest block passes the first guard; the code around it is counted exactly by SUBLEQ-U's
        with pytest.raises(E.ProgramSizeError, match="SUBLEQ-U would need a punch card of n = M \\+ 1"):
            compile_looped(machine, "1", tape_cells=MAX_TAPE_CELLS)


def test_the_tape_guard_is_exact_for_the_smallest_machine(monkeypatch):
    """_FIXED_CELLS is a lower bound that one-state machines reach: at the limit they compile."""
    machine = load_machine(MACHINES / "binary_increment.yaml")
    monkeypatch.setattr(limits, "MAX_COLUMNS", 200)
    monkeypatch.setattr(tm_to_subleq, "MAX_TAPE_CELLS", 200 - 1 - tm_to_subleq._FIXED_CELLS)
    compiled = machine_to_program(machine, "1", tape_cells=100)
    fixed = compiled.program.cells - 100
    assert fixed >= tm_to_subleq._FIXED_CELLS
    compile_looped(machine, "1", tape_cells=200 - 1 - fixed)
    with pytest.raises(E.ProgramSizeError):
        compile_looped(machine, "1", tape_cells=200 - fixed)


@pytest.mark.parametrize("command", [["compile", "-o", "{out}"], ["show"], ["verify"]])
def test_the_cli_gives_one_error_for_a_huge_tape_block(command, tmp_path, capsys):
    """--tape-cells 1000000 wrote a 134 MB model; 10^20 ran 49 s into a traceback (compile), a
    traceback (show) or exit 70 (verify)."""
    argv = [command[0], str(MACHINES / "binary_increment.yaml"), "--construction", "looped-machine",
            "--tape-cells", "1000000", *[a.format(out=tmp_path / "m.json") for a in command[1:]]]
    with time_limit(QUICK):
        assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("turingformer: error: a tape block of 1000000 cells does not fit")
    assert err[1].startswith("  fix: give --tape-cells") and len(err) == 2
    assert not (tmp_path / "m.json").exists()


def test_a_wide_mul_program_is_refused_by_the_cli(tmp_path, capsys):
    source = tmp_path / "wide.fleq"
    source.write_text(".bits 64\n.data\na: 3\nb: 2\nc: 0\n.code\nmul a b c\nhalt\n")
    with time_limit(QUICK):
        assert main(["compile", str(source), "-o", str(tmp_path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"turingformer: error: {source}: FLEQ-H compiles mul as tables") and "Traceback" not in err
