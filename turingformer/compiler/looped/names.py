"""The looped constructions by name: the machine model each runs and what it is (looped spec §0).

A leaf of data, read by the registry entries (the package's ``__init__``), the builders
(:mod:`.construction`) and the model files (:mod:`.model`); the first name for a machine is its default.
"""

#: name -> (the machine model it runs, a one-line description).
CONSTRUCTIONS: dict[str, tuple[str, str]] = {
    "subleq-h3": ("subleq-h", "SUBLEQ-H, 3 single-head blocks, d = 16 (spec §5)"),
    "subleq-h2": ("subleq-h", "SUBLEQ-H, 2 blocks (1 and 2 heads), d = 16 (spec §5.7)"),
    "subleq-u3": ("subleq-u", "self-modifying SUBLEQ-U, 3 single-head blocks, d = 23 (spec §6)"),
    "fleq-h": ("fleq-h", "FLEQ-H, 4 single-head blocks (+1 FFN-only block for mul), d = 23 + F (+1) (spec §7)"),
}


def default_for(machine: str) -> str:
    """The construction a program of ``machine`` compiles with when none is named."""
    return next(name for name, (kind, _) in CONSTRUCTIONS.items() if kind == machine)
