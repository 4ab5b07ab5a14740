"""FLEQ-H assembly, ``.fleq`` (looped spec §9.4).

``<op> a b c [f [p]]`` means mem[c] = op(mem[a], mem[b]); if mem[f] <= 0 goto p, with f
defaulting to c and p to the next instruction; op is one of the 11 functions of spec §2.3.
``jmp L`` = ``sub __Z __Z __Z __Z L`` and ``halt`` = ``sub __Z __Z __Z __Z HALT``. Data, labels,
operands, literals and directives are those of ``.subleq`` (:mod:`.assembly`).
"""

from __future__ import annotations

from turingformer.programs.program import FLEQ_FUNCTIONS, FleqH, FleqInstruction
from turingformer.programs.formats.assembly import HALT, NEXT, ZERO, InstructionSet, Mnemonic, assemble_harvard

Z = ZERO


def _function(op: str) -> Mnemonic:
    def expand(o):
        c = o[2]
        f = o[3] if len(o) > 3 else c
        return [(op, o[0], o[1], c, f, o[4] if len(o) > 4 else NEXT)]
    return Mnemonic(("a", "b", "c", "f?", "p?"), 1, expand)


MNEMONICS: dict[str, Mnemonic] = {
    **{op: _function(op) for op in FLEQ_FUNCTIONS},
    "jmp": Mnemonic(("L",), 1, lambda o: [("sub", Z, Z, Z, Z, o[0])]),
    "halt": Mnemonic((), 1, lambda o: [("sub", Z, Z, Z, Z, HALT)]),
}

FLEQ = InstructionSet("FLEQ-H", MNEMONICS, ("op", "cell", "cell", "cell", "cell", "target"))


def loads(text: str, filename: str | None = None, bits: int | None = None) -> FleqH:
    """The :class:`~turingformer.programs.program.FleqH` program of a ``.fleq`` text."""
    def build(code, **fields):
        return FleqH(code=[FleqInstruction(*fields_) for fields_ in code], **fields)

    return assemble_harvard(text, filename, bits, FLEQ, build)
