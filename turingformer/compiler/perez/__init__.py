"""The Pérez–Barceló–Marinkovic construction (spec ``perez-construction.md``), one module per stage:
:mod:`.normalize` (§2b, the machine M' the network runs) → :mod:`.layout` (§3, the named residual
dimensions and the compiled model) → :mod:`.construction` (§4–§6, every weight) →
:mod:`.decoding` (§7, outputs back into the user's trace, from weights, input and labels alone).
"""
