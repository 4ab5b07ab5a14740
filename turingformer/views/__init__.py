"""What a person looks at: state diagrams as DOT text (:mod:`.diagram`) and the matplotlib figures
of a run (:mod:`.figures`: space-time diagram, attention patterns, residual stream, verification
table). Reads the analysis layer; nothing below imports it.
"""
