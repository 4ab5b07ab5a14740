"""What a user's Turing machine is: the validated transition graph (:mod:`.machine`), the file
formats it is read from and written to (:mod:`.formats`), the reference simulator
(:mod:`.simulator`) and the trace both the simulator and the decoder produce (:mod:`.trace`).

Imports nothing from the layers above (runtime, compiler, analysis, views, cli).
"""
