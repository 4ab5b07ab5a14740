"""Questions asked of a compiled model: does it agree with the simulator at every step
(:mod:`.verify`), where does finite precision break (:mod:`.precision`), and what is every
activation (:mod:`.inspect`, the TransformerLens-style cache). Above the compilers; below views
and the command line.
"""
