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
# # 02 · Inside the construction: one step, block by block
#
# Notebook 01 showed *that* the transformer reproduces the machine. Here we open it up and follow
# **one decoder step** through every block, with the exact numbers it computes, and tie each block
# to the lemma of the paper that explains it (JMLR 2021 numbering, with the ICLR 2019 appendix
# numbering after the slash):
#
# | block | what it does | lemma |
# |---|---|---|
# | encoder + layer-1 cross-attention | read input symbol number i+1 (if there is one) | Lemma 7 / B.1 |
# | layer-1 feed-forward net | apply the transition function δ | Lemma 8 / B.2 |
# | layer-2 self-attention | compute the head position by averaging all moves so far | Lemma 9 / B.3 |
# | layer-3 self-attention | find the last time the next cell was written | Lemma 10 / B.4 |
# | output function F | decide which symbol the head will see next | (§6 of the spec) |
#
# We use an **activation cache** (`run_with_cache`): it records every intermediate vector of every
# step, by name, like TransformerLens does for real language models.

# %%
# %matplotlib inline
from IPython.display import display, HTML, Markdown
from fractions import Fraction
from turingformer.tm.formats import loads_machine
from turingformer.analysis.inspect import run_with_cache, weights_latex, weights_table
from turingformer.views import figures as views

# %% [markdown]
# ## The machine
#
# A tiny machine over {a, b}: it flips every letter (a↔b) walking right, turns round at the end,
# walks back left and stops just after the front. On `ab` it leaves `ba`. It is small, but on its
# way back it **reads cells it wrote itself**, which is the hard part for a transformer: the
# network has no tape, only the list of its own past outputs.

# %%
machine = loads_machine("""
name: flip
blank: '_'
input alphabet: [a, b]
states: [go, back, done]
start: go
halt: [done]
rules:
  go:                   # flip each letter, moving right
    a: [b, R, go]
    b: [a, R, go]
    _: [_, L, back]     # end of the word: turn round
  back:                 # walk back to the front
    a: [a, L, back]
    b: [b, L, back]
    _: [_, R, done]
""", format="turingformer")
word = "ab"
cache = run_with_cache(machine, word)
model = cache.model
print("\n".join(model.summary().lines()))
cache.trace_table()

# %% [markdown]
# ## What the transformer actually runs
#
# The construction needs the machine to start on the cell *left* of the input and to sweep over the
# whole input first (that is how the input gets onto the "tape", see Lemma 7 below). So the compiler
# runs a normalised machine M': a prelude `⟨init⟩ ⟨read⟩… ⟨back⟩…` of 2n + 3 = 7 steps, then our
# machine. M' cells are shifted by one: M's cell c is M' cell c + 1.
#
# Each decoder position i reads the output y_i of the previous step: the state q(i), the symbol
# under the head s(i) and the last move m(i−1). It computes y_{i+1}. The column *write v(i)* is what
# the step writes, which the network keeps internally.

# %%
cache.steps_table()

# %%
views.spacetime(cache, normalised=True)

# %% [markdown]
# ## The step we follow
#
# We follow **decoder position i = 10**: machine step 3, state `back`, reading `a` at M cell 1 (the
# `a` the machine wrote itself at step 1, over the `b` of the input). The rule δ(back, a) = (back, a, L)
# moves the head left onto M cell 0, which held `a` in the input but was **overwritten with `b`** at
# step 0. So the network must answer "the next symbol is `b`", although the input says `a` there.
#
# The vectors have d = 39 named dimensions, grouped in 17 blocks:
#
# | block | holds (at position i) | written by |
# |---|---|---|
# | `q1 s1 x1` | state q(i), symbol s(i), move m(i−1): the input y_i | the previous output |
# | `q2 s2 x2 x3` | next state q(i+1), written symbol v(i), moves m(i), m(i−1) | layer 1 (δ) |
# | `x4 x5` | head positions c(i+1)/(i+1), c(i)/(i+1) | layer 2 |
# | `s3 x6` | input symbol α(i+1) and its index β(i+1) = min(i+1, n) | layer 1 cross-attention |
# | `s4 x7` | the symbol last written on cell c(i+1), and when, ℓ(i+1) | layer 3 |
# | `x8 … x11` | positional encoding 1, i+1, 1/(i+1), 1/(i+1)² | added to the input |
#
# The decoder's input at position i is y_i plus the positional encoding pos(i+1):

# %%
i = 10
assert cache.machine_step(i) == 3
cache.table("decoder.1.resid_pre", i)

# %% [markdown]
# ## Encoder and layer-1 cross-attention: reading the input (Lemma 7 / B.1)
#
# The encoder turns input symbol j into a key k_j = (j, −1) (in slots x8, x9) and a value
# (⟦w_j⟧, j) (the one-hot of the symbol in `s3`, its index in `x6`). The decoder's query at
# position i is its own vector, which has x8 = 1 and x9 = i+1, so the dot product is
# ⟨q, k_j⟩ = j − (i+1). The attention score is **−|⟨q, k_j⟩|**, and *hard* attention picks the
# best score, so position i reads input symbol j = i+1 while there is one, and the last symbol
# (j = n) after that. Here are the two maps of the encoder side:

# %%
display(weights_latex(model, "decoder.1.cross.key"))
display(weights_latex(model, "decoder.1.cross.value"))

# %% [markdown]
# For i = 10 the dot products over the two input positions j = 1, 2 are j − 11 = −10, −9: the
# closest to zero is j = 2 = n, the last input symbol. The cross-attention adds α = ⟦w_2⟧ = ⟦b⟧ and
# β = 2. (Past the input, this value is ignored by F: the read rule below explains why.)

# %%
print("dot products j = 1..n:", [str(x) for x in cache.dot_products("decoder.1.cross", i)])
print("scores −|·|:         ", [str(x) for x in cache["decoder.1.cross.scores", i]])
print("winner: encoder position", [j + 1 for j in cache["decoder.1.cross.winners", i]])
cache.table("decoder.1.cross.out", i)

# %% [markdown]
# During the prelude sweep (i < n) the same attention reads the input one symbol per step; this is
# how the input gets "onto the tape" of the normalised machine:

# %%
views.attention(cache, "decoder.1.cross")

# %% [markdown]
# ## Layer-1 feed-forward net: the transition function δ (Lemma 8 / B.2)
#
# The feed-forward net has one hidden layer of σ units (σ(x) = 0 below 0, x on [0, 1], 1 above).
# One unit per (state, symbol) pair computes σ(q1[q] + s1[s] − 1): it is 1 exactly for the current
# pair and 0 for all others. The second layer is a lookup table: the unit of (q, s) writes
# δ(q, s) = (next state, written symbol, move) into `q2`, `s2`, `x2`. Other hidden units copy the
# input so that the output can subtract it (clearing `q1 s1 x1`) and pass the last move into `x3`.

# %%
cache.table("decoder.1.ffn.hidden", i)

# %% [markdown]
# The rows of the lookup table for the state `back` (input: pair units; output: the slots they write):

# %%
weights_latex(model, "decoder.1.ffn.1", rows="pair:(back", cols=["q2", "s2", "x2"])

# %% [markdown]
# After layer 1 the input blocks are cleared and δ(back, a) = (back, a, −1) is in place:

# %%
cache.latex("decoder.1.resid_post", i)

# %% [markdown]
# ## Layer 2: where is the head? (Lemma 9 / B.3)
#
# The head position is the sum of all moves so far: c(i+1) = m(0) + … + m(i). A transformer can't
# sum, but attention can **average**. Layer 2's query map is zero, so every score is 0, all
# positions j = 0..i tie, and hard attention with ties averages them all with weight 1/(i+1). Its
# value map copies m(j) (x2) into x4 and m(j−1) (x3) into x5, so the average is
# x4 = c(i+1)/(i+1) and x5 = c(i)/(i+1).

# %%
display(weights_latex(model, "decoder.2.attn.value"))
print("pattern:", [str(w) for w in cache["decoder.2.attn.pattern", i]])
moves = [cache.slot("decoder.2.resid_pre", j, "x2") for j in range(i + 1)]
print("m(j) for j = 0..i:", [int(m) for m in moves], " sum =", sum(moves))
print("x4 =", cache.slot("decoder.2.resid_post", i, "x4"), " x5 =", cache.slot("decoder.2.resid_post", i, "x5"))

# %% [markdown]
# The sum of the moves is 1: the next head position is M' cell 1 (M's cell 0), and x4 = 1/11.
# Over the whole run, layer 2's pattern is a uniform triangle (drawn on a log scale, so the
# shrinking weights 1/(i+1) stay visible):

# %%
views.attention(cache, "decoder.2.attn")

# %% [markdown]
# ## Layer 3: the last write to the next cell (Lemma 10 / B.4)
#
# Now the network must find what is on cell c(i+1). It looks for the **last position j ≤ i whose
# head was on that cell**: that step wrote the current content. With ε_k = 1/(k+1) and
# D_j = c(i+1) − c(j), the query and key maps are built so that
#
#   χ_j = ⟨q_i, k_j⟩ = ε_i ε_j D_j + ε_i² ε_j² / 3
#
# and the score is −|χ_j|. If the head was on the cell at step j (D_j = 0), |χ_j| is the tiny
# ε_i²ε_j²/3, smaller for later j; otherwise |χ_j| is much larger. So the winner is the latest visit.
# (If the cell was never visited, the winner is j = i, which F recognises.)

# %%
display(weights_latex(model, "decoder.3.attn.query"))
display(weights_latex(model, "decoder.3.attn.key"))
display(weights_latex(model, "decoder.3.attn.value"))

# %% [markdown]
# The actual dot products at i = 10, next to the closed form recomputed from the head positions of
# the normalised machine (the value map sends the symbol written at step j, `s2`, to `s4`, and j to `x7`):

# %%
heads = cache.normalised_trace().heads              # c(j) for j = 0..len
chi = cache.dot_products("decoder.3.attn", i)
eps = lambda k: Fraction(1, k + 1)
rows = []
for j, value in enumerate(chi):
    D = heads[i + 1] - heads[j]
    closed = eps(i) * eps(j) * D + eps(i) ** 2 * eps(j) ** 2 / 3
    assert value == closed
    rows.append(f"| {j} | {heads[j]} | {D} | {value} | {-abs(value)} | {'**winner**' if j in cache['decoder.3.attn.winners', i] else ''} |")
Markdown("| j | c(j) | D_j | χ_j | score −\\|χ_j\\| | |\n|---|---|---|---|---|---|\n" + "\n".join(rows))

# %% [markdown]
# Three positions were on the cell (D_j = 0): j = 1 (the prelude read `a` there), j = 5 (the prelude
# walked back over it) and j = 7 (the machine's step 0, which wrote `b`). Their χ are 1/1452,
# 1/13068 and 1/23232; the latest, j = 7, is closest to zero and wins. Layer 3 copies what j = 7
# wrote:

# %%
cache.table("decoder.3.attn.out", i)

# %%
views.attention(cache, "decoder.3.attn")

# %% [markdown]
# ## The output function F
#
# F decides which symbol the head will see at step i+1, with two bits:
# b1 = σ(x9 − x6) = [i+1 > n] (*the input has been read*) and b2 = σ(x7 − x9 + 2) = [ℓ(i+1) = i]
# (*the cell is new*). Then
#
# 1. if b1 = 0: the symbol is the input symbol α (still reading the input),
# 2. if b1 = 1 and b2 = 1: the blank (a cell nobody visited),
# 3. if b1 = 1 and b2 = 0: the symbol layer 3 found.
#
# Here b1 = 1 and b2 = 0, so rule 3 fires (unit `u3:b`), and y_11 says: state `back`, reading `b`,
# last move −1. The cross-attention's α is also ⟦b⟧ here, but only by chance: past the input it
# always holds the *last* input symbol w_2 = `b`, and b1 = 1 switches rule 1 (unit `u1`) off. The
# `b` comes from layer 3, the symbol the machine wrote on that cell (the input had `a` there).

# %%
display(cache.table("output.hidden.0", i))
display(cache.table("output.hidden.1", i))
cache.latex("output.y", i)

# %% [markdown]
# ## The whole step at a glance
#
# The residual stream at position i = 10: rows are the stages (input, after each layer, output),
# columns are the 39 named dimensions; the numbers are the exact values.

# %%
views.residual(cache, i)

# %% [markdown]
# ## Checks
#
# Everything above was read from the activations; the asserts tie it to the machine's run.

# %%
from turingformer.compiler.perez.verify import verify

verification = verify(machine, word, model=model)
p = verification.positions[i]
assert verification.ok
assert cache["decoder.3.attn.winners", i] == (7,) == (p.last_visit,)
assert cache.slot("decoder.2.resid_post", i, "x4") == Fraction(heads[i + 1], i + 1) == Fraction(1, 11)
assert cache.slot("decoder.2.resid_post", i, "x5") == Fraction(heads[i], i + 1) == Fraction(2, 11)
assert sorted(abs(c) for c in chi)[0] == Fraction(1, 23232)
assert cache.read("output.y", i, "s1") == "b" and cache.read("output.y", i, "q1") == "back"
assert cache.read("decoder.3.resid_post", i, "s3") == "b"   # α, the input symbol, ignored by F
out = model.transformer.output.layers[0].target
assert (out.get(cache["output.hidden.0", i], "b1"), out.get(cache["output.hidden.0", i], "b2")) == (1, 0)
assert r"\frac{1}{11}" in cache.latex("decoder.2.resid_post", i)
assert cache.trace.final.tape.span(cache.trace.final.head)[1].strip("_") == "ba"
print("all checks passed")
