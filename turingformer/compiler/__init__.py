"""Constructions: they turn a user's computation into the weights of a transformer, and read the
transformer's outputs back into the user's terms. One subpackage per construction:
:mod:`.perez` (Pérez, Barceló and Marinkovic 2021: a Turing machine into an encoder and a
three-layer hard-attention decoder).

A construction may import :mod:`turingformer.tm` and :mod:`turingformer.runtime`, never the layers
above it.
"""
