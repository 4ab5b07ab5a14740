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
# # 01 · Quickstart: from a Turing machine to a transformer, and back
#
# A **transformer** is the neural network behind today's language models. Pérez, Barceló and
# Marinkovic proved in *Attention is Turing Complete* (JMLR 2021) that a transformer with a fixed
# set of weights can **simulate any Turing machine**: given the machine's input, it writes out the
# machine's run, one step per output.
#
# `turingformer` builds those weights for a machine you give it, **exactly**: every weight and every
# number the network computes is a rational number (a fraction), never a rounded float. Then it
# runs the network and checks, step by step, that it really does what the machine does.
#
# In this notebook we:
#
# 1. write a Turing machine as a few lines of YAML,
# 2. run it with an ordinary simulator,
# 3. compile it into a transformer,
# 4. run the transformer and read the machine's run back from its outputs,
# 5. verify that the two agree at every step.

# %%
# %matplotlib inline
from IPython.display import display, HTML, Markdown

# %% [markdown]
# ## 1. A machine, written in YAML
#
# Our machine adds one to a binary number (most significant bit first). It walks right to the end
# of the number, then carries a 1 leftwards: every trailing `1` becomes `0`, and the first `0` (or
# the blank in front of the number) becomes `1`. The blank symbol is `_`. A rule
# `'1': ['0', L, carry]` in state `carry` means *reading 1: write 0, move left, go to state carry*.

# %%
from turingformer.tm.formats import loads_machine

machine = loads_machine("""
name: binary increment
blank: '_'
input alphabet: ['0', '1']
states: [right, carry, done]
start: right
halt: [done]
rules:
  right:                      # walk to the end of the number
    '0': ['0', R, right]
    '1': ['1', R, right]
    '_': ['_', L, carry]      # past the last digit: step back onto it
  carry:                      # add one here
    '1': ['0', L, carry]      # 1 + 1 = 10: write 0, carry on to the left
    '0': ['1', L, done]       # 0 + 1 = 1: done
    '_': ['1', L, done]       # ran off the front: the number gets a new digit
""", format="turingformer")

for rule in machine.rules:
    print(rule)

# %% [markdown]
# The same machine as a **state diagram** (drawn from the machine's `networkx` graph, `machine.graph`):
# each circle is a state, each arrow a rule, labelled `read→write,move`.

# %%
from turingformer.views import figures as views

views.state_diagram(machine)

# %% [markdown]
# ## 2. Run it with the simulator
#
# `run` is a plain Turing-machine simulator, the reference everything else is checked against. The
# input `1011` is eleven in binary, so we expect `1100` (twelve). In the table the head's cell is in
# brackets.

# %%
from turingformer.tm.simulator import run

word = "1011"
reference = run(machine, word)
for configuration in reference:
    tape = configuration.tape
    cells = "".join(f"[{tape[c]}]" if c == configuration.head else tape[c]
                    for c in range(min(tape.offset, configuration.head), tape.offset + len(tape.cells)))
    print(f"step {configuration.step}: {configuration.state:<6} {cells}")
print(reference.summary())

# %% [markdown]
# A **space-time diagram** shows the same run as a picture: one row per step (time runs down), one
# column per tape cell; the outlined cell is where the head is, in the colour of the current state.

# %%
views.spacetime(reference)

# %% [markdown]
# ## 3. Compile the machine into a transformer
#
# `compile_machine` produces every weight of the network. The summary says how big it is:
#
# * The construction needs the machine in a particular shape (it must start left of the input,
#   first sweep over the input to read it, and always move). So the compiler first adds three
#   **prelude** states, `⟨init⟩`, `⟨read⟩`, `⟨back⟩`, and a *marked blank*; this is the
#   "normalisation".
# * Every vector inside the network has **d = 2|Q'| + 4|Σ'| + 11** numbers, where |Q'| is the
#   number of states and |Σ'| the number of symbols after normalisation.
# * The network has one encoder layer (it reads the input) and three decoder layers (they compute
#   one step of the machine each time the decoder produces an output).

# %%
from turingformer.compiler.perez.construction import compile_machine

model = compile_machine(machine)
print("\n".join(model.summary().lines()))

# %% [markdown]
# Every dimension of those vectors has a **name**. The first ones, `q1:state=…`, hold the current
# state as a *one-hot* vector (a 1 in the slot of the state, 0 elsewhere); `s1:symbol=…` hold the
# symbol under the head; the last four, `x8 … x11`, hold the *positional encoding* 1, i+1, 1/(i+1),
# 1/(i+1)² that tells the network which step it is at.

# %%
space = model.transformer.space
print(len(space), "dimensions:")
print(", ".join(space.names))

# %% [markdown]
# ## 4. Run the transformer
#
# The transformer never looks at the rules: it only has its weights and the input. The decoder
# produces one vector per step; `run_model` reads each output back as (state, symbol under the head,
# last move) and rebuilds the machine's run from them. The first 2n + 3 outputs are the prelude
# (reading the input); after that, every output is a step of our machine.

# %%
from turingformer.compiler.perez.decoding import run_model

result = run_model(model, word)
decoded = result.trace
print(result)
print(f"{result.positions} decoder steps = {2 * len(word) + 3} prelude steps + {result.steps + 1} configurations of the machine")
print("first output y_1 =", {name: str(value) for name, value in zip(space.names, result.decoder_steps[0].y_out) if value})
print(result.summary)

# %%
views.spacetime(decoded, title="The transformer's run, read back from its outputs")

# %% [markdown]
# ## 5. Verify: machine and transformer, side by side
#
# `verify` runs both and compares them: the state, head position and whole tape at every step of the
# machine, **and** inside the network, at every decoder step, the quantities the paper's lemmas
# promise (the head position c, the last time ℓ the current cell was visited, and two bits
# b1, b2 that the output layer uses). Grey rows are the prelude, which only the normalised machine has.

# %%
from turingformer.compiler.perez.verify import verify

verification = verify(machine, word)
views.verification_table(verification)

# %% [markdown]
# It is not a coincidence for one input. Let us check every number from 0 to 31, written in binary:

# %%
results = {}
for k in range(32):
    w = format(k, "b")
    v = verify(machine, w, model=model)
    final = v.decoded.final
    results[w] = (v.ok, final.tape.span(final.head)[1].strip("_"))
print(all(ok for ok, _ in results.values()), "-", " ".join(f"{w}→{out}" for w, (ok, out) in list(results.items())[:8]), "…")

# %% [markdown]
# ## Checks
#
# The last cell asserts what this notebook showed, so running it is a test.

# %%
assert verification.ok
assert decoded.states == reference.states and decoded.heads == reference.heads
assert decoded.final.tape.span(decoded.final.head)[1].strip("_") == "1100"
assert len(space) == model.summary().d == 2 * 6 + 4 * 4 + 11
assert all(ok for ok, _ in results.values())
assert all(out == format(int(w, 2) + 1, "b") for w, (_, out) in results.items())
print("all checks passed")
