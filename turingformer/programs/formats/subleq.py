"""SUBLEQ-H assembly, ``.subleq`` (looped spec §9.1): ``subleq a b [c]`` and the macros.

The macros expand over the zero cell ``__Z`` (value 0, restored to 0 by every macro):

=========  ==========================================================  ============
macro      expansion                                                   instructions
=========  ==========================================================  ============
``jmp L``  ``subleq __Z __Z L``                                        1
``halt``   ``subleq __Z __Z HALT``                                     1
``clr a``  ``subleq a a``                                              1
``sub a b``  ``subleq a b``                                            1
``add a b``  ``subleq a __Z; subleq __Z b; subleq __Z __Z``            3
``mov a b``  ``subleq b b; subleq a __Z; subleq __Z b; subleq __Z __Z``  4
``jle a L``  ``subleq __Z a L``                                        1
=========  ==========================================================  ============

An omitted c is the next instruction. SUBLEQ-U (:mod:`.usubleq`) uses the same table.
"""

from __future__ import annotations

from turingformer.programs.program import SubleqH, SubleqInstruction
from turingformer.programs.formats.assembly import HALT, NEXT, ZERO, InstructionSet, Mnemonic, assemble_harvard

Z = ZERO

#: mnemonic -> operands and expansion into (a, b, c) triples.
MNEMONICS: dict[str, Mnemonic] = {
    "subleq": Mnemonic(("a", "b", "c?"), 1, lambda o: [(o[0], o[1], o[2] if len(o) > 2 else NEXT)]),
    "jmp": Mnemonic(("L",), 1, lambda o: [(Z, Z, o[0])]),
    "halt": Mnemonic((), 1, lambda o: [(Z, Z, HALT)]),
    "clr": Mnemonic(("a",), 1, lambda o: [(o[0], o[0], NEXT)]),
    "sub": Mnemonic(("a", "b"), 1, lambda o: [(o[0], o[1], NEXT)]),
    "add": Mnemonic(("a", "b"), 3, lambda o: [(o[0], Z, NEXT), (Z, o[1], NEXT), (Z, Z, NEXT)]),
    "mov": Mnemonic(("a", "b"), 4, lambda o: [(o[1], o[1], NEXT), (o[0], Z, NEXT), (Z, o[1], NEXT), (Z, Z, NEXT)]),
    "jle": Mnemonic(("a", "L"), 1, lambda o: [(Z, o[0], o[1])]),
}

SUBLEQ = InstructionSet("SUBLEQ-H", MNEMONICS, ("cell", "cell", "target"))


def loads(text: str, filename: str | None = None, bits: int | None = None) -> SubleqH:
    """The :class:`~turingformer.programs.program.SubleqH` program of a ``.subleq`` text."""
    def build(code, **fields):
        return SubleqH(code=[SubleqInstruction(*fields_) for fields_ in code], **fields)

    return assemble_harvard(text, filename, bits, SUBLEQ, build)
