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
# # 07 · Step through a run: the tape and the attention, together
#
# This notebook puts the **player** in a cell: the same view as the page `turingformer animate`
# writes. At machine step *t* it shows the tape (the head's cell in red) and the state, the state
# diagram with the current state and the rule that just fired lit up, the three decoder
# attentions at the position that reads configuration *t*, and the residual stream there as a
# column of exact values.
#
# Use the buttons, the slider, or click the player and press ← / → and space.
#
# The machine is **binary increment** on `1011` (eleven): it walks right to the end of the number,
# then carries a 1 leftwards.

# %%
from pathlib import Path

from turingformer.analysis.inspect import run_with_cache
from turingformer.tm.formats import load_machine
from turingformer.tm.simulator import run
from turingformer.views.widget import player

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
machine = load_machine(ROOT / "machines" / "binary_increment.yaml")
machine

# %% [markdown]
# The cell above showed the machine itself: its state diagram and its rule table. Now the player,
# opened at step 5. Saved with the notebook, the cell also keeps a static snapshot of the player
# at that step (HTML and SVG, no script): where widgets cannot run, as on GitHub or nbviewer, the
# snapshot is shown instead of an empty cell.

# %%
widget = player(machine, "1011", step=5)
widget

# %% [markdown]
# `widget.step` is the step the player shows; setting it moves the player (try `widget.step = 5`).
# The reference simulator gives the same run:

# %%
reference = run(machine, "1011")
reference

# %% [markdown]
# ## How to read the attention rows
#
# Decoder position *i* reads the configuration y_i and writes the next one, y_{i+1}. The machine's
# own run starts after a prelude of 2n + 3 positions (here n = 4, so at i = 11), in which the
# network copies the input onto its tape.
#
# * **Layer 1** (cross-attention) reads input symbol min(i + 1, n): during the run the head is past
#   the input, and the output net ignores what it reads.
# * **Layer 2** gives every position j = 0..i the same weight 1/(i + 1): the average of the moves is
#   the head position divided by i + 1.
# * **Layer 3** attends to exactly one position: the **last** time the head was on the cell it is
#   moving to. That is how the network "reads its tape": it has no tape, only its own past outputs.
#
# ## Exercise 1: predict layer 3
#
# Stop the player at step 4 (the head has just stepped back onto the last digit, state `carry`).
# Before stepping forward, **predict which position layer 3 attends to at the next step**: which
# cell will the head move to, and when did the machine last write there? Then step forward and
# check the layer-3 row. The cell below answers it for you, once you have guessed.

# %%
cache = run_with_cache(machine, "1011")
t = 4
i, nxt = cache.position(t), cache.position(t + 1)
heads = reference.heads
print(f"step {t}: head on cell {heads[t]}, state {reference.states[t]}; next step the head is on cell {heads[t + 1]}")
print(f"layer 3 at position i = {nxt} attends to j = {cache['decoder.3.attn.winners', nxt]}")

# %% [markdown]
# ## Exercise 2: the uniform average
#
# At step 6, what are x4 = c(i+1)/(i+1) and x5 = c(i)/(i+1) after layer 2? Here c is the head
# position of the normalised machine M′ (the machine's cell + 1). Choose the stage "after layer 2"
# in the residual column of the player, step to 6, and compare with your answer.

# %%
i6 = cache.position(6)
print("x4 =", cache.slot("decoder.2.resid_post", i6, "x4"), " x5 =", cache.slot("decoder.2.resid_post", i6, "x5"),
      f" (i = {i6}, head on cell {heads[6]} of the machine, cell {heads[6] + 1} of M')")

# %% [markdown]
# ## Exercise 3: a machine of your own
#
# Replace `binary_increment.yaml` by `palindrome.yaml` with input `"abba"` (or write a machine in
# YAML, as in notebook 01) and run the player again. Where does layer 3 look when the head comes
# back to a cell it erased?
#
# The same player as a standalone page, for a slide or a course web site:
#
#     turingformer animate machines/binary_increment.yaml --input 1011 -o increment.html
#
# The last cell checks what the player shows against the simulator, so running the notebook is a test.

# %%
info = widget.info
assert info["steps"] == reference.steps and info["ok"]
for step in (0, 3, 4, 5, reference.steps):
    assert info["states"][info["state"][step]] == reference.states[step]
    assert info["head"][step] == reference.heads[step]
    assert info["layer3"][step] == cache["decoder.3.attn.winners", cache.position(step)][0]
assert all(info["agree"])
assert cache.slot("decoder.2.resid_post", i6, "x4") * (i6 + 1) == heads[7] + 1
widget.step = 5
assert widget.step == 5
snapshot = widget._repr_mimebundle_()[0]["text/html"]
assert "<script" not in snapshot and "step 5 of 8" in snapshot and 'class="state current" data-state="carry"' in snapshot
