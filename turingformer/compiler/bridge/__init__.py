"""One machine, two transformers (issue 14): a Turing machine compiled into a self-modifying
SUBLEQ-U program for the looped computer, and its configurations read back from the memory.

    layout.py        TapeLayout: where the states, the tape, the head and the status live
    tm_to_subleq.py  compile_machine: TuringMachine -> SUBLEQ-U program + layout + listing
    decoding.py      machine_trace: loop states (pc, memory) -> the machine's Trace

The compiler imports :mod:`turingformer.tm` and :mod:`turingformer.programs`; the decoder reads
only the memory and the layout (docs/two-transformers.md).
"""
