# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.7
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # One machine, two transformers
#
# turingformer can turn the *same* Turing machine into attention in two ways:
#
# * **Pérez et al.**: an encoder and a 3-layer hard-attention decoder; one decoder position per
#   machine step; exact rationals whose denominators grow with the step count.
# * **the looped computer** (Giannou et al.): the machine is compiled into a self-modifying
#   SUBLEQ program, and one fixed 3-block network (d = 23) is applied in a loop to a *punch card*
#   that holds the program and the tape. Every value is a small integer.
#
# This notebook runs binary increment and the 3-state busy beaver both ways and compares what each
# costs. The full table is in `docs/two-transformers.md` (`benchmarks/two_transformers.py`).

# %%
# %matplotlib inline
from turingformer.tm.formats import load_machine
from turingformer.tm import simulator
from turingformer.compiler.bridge.tm_to_subleq import machine_to_program as to_subleq, compile_looped
from turingformer.compiler.bridge.model import run_machine_model, card_states
from turingformer.compiler.perez.construction import compile_machine as to_perez
from turingformer.compiler.perez.decoding import run_model
from turingformer.runtime.fast import decode_fast
from turingformer.analysis.precision import bit_growth

increment = load_machine("../machines/binary_increment.yaml")
word = "1011"
reference = simulator.run(increment, word)
print(f"{increment.name} on {word!r}: {reference.steps} steps, final tape {reference.final.tape.span(reference.final.head)}")

# %% [markdown]
# ## The machine as a SUBLEQ-U program
#
# The tape becomes a block of K memory cells between two *sentinel* cells; the head is a pointer
# cell `NHP` holding −H. Each state is a block of code: it first copies H into the a-field of its
# own `read` instruction (`subleq NHP right.R` patches the line below it: self-modifying code),
# then `T := 1 − tape[H]` and a chain of `T += 1` tests dispatch on the symbol's value. A rule's
# handler patches its write instruction the same way, writes, moves the pointer and jumps to the
# next state's block. Here is the program for a block of 6 cells:

# %%
compiled = to_subleq(increment, word, tape_cells=6, head_offset=1)
print(compiled.listing())

# %% [markdown]
# ## Run it on the looped transformer
#
# `compile_looped` builds the SUBLEQ-U/3L network for this memory size and the punch card. The run
# reads (pc, memory) back from the card after every loop and turns it into the machine's
# configurations with the layout alone: a machine step ends when the pc lands on a state's block.

# %%
_, looped = compile_looped(increment, word, tape_cells=6, head_offset=1)
trace, loops = run_machine_model(looped)
assert trace == reference
t = looped.looped.transformer
print(f"looped: {len(t.blocks)} blocks, d = {len(t.space)}, {t.nonzero_weights()} non-zero weights, "
      f"n = {looped.looped.n} columns; {loops} loops for {trace.steps} machine steps")
for conf in trace:
    print(conf.step, conf.state, conf.head, conf.tape.span(conf.head))

# %% [markdown]
# ## The same machine on the Pérez decoder

# %%
perez = to_perez(increment)
ran = run_model(perez, word, decoder=decode_fast)
ptrace = ran.trace
assert ptrace == reference
pt = perez.transformer
print(f"Pérez: {len(pt.encoder)} encoder + {len(pt.decoder)} decoder layers, d = {pt.d}, "
      f"{pt.nonzero_weights()} non-zero weights, {ran.positions} decoder positions")

# %% [markdown]
# ## What grows: bits per step
#
# The Pérez decoder's values are rationals like c/(i+1); their bit length grows like log t. The
# looped network's card holds N-bit words that never grow. Busy beaver 3 (21 steps) shows both:

# %%
import matplotlib.figure

bb3 = load_machine("../machines/busy_beaver_3.yaml")
bb3_ref = simulator.run(bb3, "")
low, high = min(bb3_ref.heads), max(bb3_ref.heads)
_, bb3_looped = compile_looped(bb3, "", tape_cells=high - low + 1, head_offset=-low)
entries = set(bb3_looped.layout.entries)

card_bits = []
for pc, memory in card_states(bb3_looped.looped):
    if pc in entries:
        card_bits.append(max(abs(v) for v in memory).bit_length() + 1)

growth = bit_growth(to_perez(bb3), "", max_steps=100, decoder=decode_fast)
fig = matplotlib.figure.Figure(figsize=(7, 3.2))
ax = fig.subplots()
ax.plot(growth.t, growth.denominator, label="Pérez: largest denominator (bits)")
ax.plot(growth.t, growth.numerator, label="Pérez: largest numerator (bits)")
ax.step(range(len(card_bits)), card_bits, where="post", label="looped: largest card entry (bits)")
ax.set_xlabel("decoder position / machine step")
ax.set_ylabel("bits")
ax.set_title("busy beaver 3 on both transformers")
ax.legend(fontsize=8)
fig

# %% [markdown]
# ## Floats
#
# Because every looped weight is dyadic and every card entry an integer, float32 and float64 runs
# of the same weights give exactly the integer run (here checked card for card at every loop).

# %%
from turingformer.analysis.precision import looped_precision
p = looped_precision(bb3_looped, run_machine_model(bb3_looped)[1])
print(p)
assert p.float_departure == {"float64": None, "float32": None}

# %% [markdown]
# ## Off the tape block
#
# The looped computer's tape is fixed in advance. A run that needs a cell outside the block does
# not go wrong: it stops with the reason `tape bound`, and every configuration up to there is the
# simulator's.

# %%
_, small = compile_looped(bb3, "", tape_cells=3, head_offset=1)
cut, _ = run_machine_model(small)
print(cut.reason.value, cut.steps, "steps; the simulator goes on to", bb3_ref.steps)
assert cut.reason.value == "tape bound"
assert cut.states == bb3_ref.states[:cut.steps + 1] and cut.heads == bb3_ref.heads[:cut.steps + 1]

# %%
assert trace == reference and ptrace == reference
assert len(t.blocks) == 3 and len(t.space) == 23
assert max(card_bits) <= bb3_looped.looped.labels.bits + 1
assert growth.denominator[-1] > growth.denominator[0]
