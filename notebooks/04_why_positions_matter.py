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
# # 04 · Why positions matter
#
# Everything in a transformer is computed by attention (averages of vectors chosen by scores) and by
# position-wise networks. Without a **positional encoding**, nothing tells the network *where* a
# symbol is in the input. The paper makes this precise (**proportion invariance**, JMLR Prop. 3 /
# ICLR Prop. 3.1): without positions, two inputs in which every symbol occurs in the same
# **proportion** (`01`, `0011` and `0101` are all half 0s, half 1s) produce exactly the same
# encoder result and hence the same outputs. Such a transformer cannot decide the language
# 0ⁿ1ⁿ: it accepts `0011` and `0101` alike.
#
# We show this on the compiled machine for 0ⁿ1ⁿ, with and without positions.

# %%
# %matplotlib inline
from IPython.display import display, HTML, Markdown
import dataclasses
from turingformer.tm.formats import load_machine
from turingformer.compiler.perez.construction import compile_machine
from turingformer.runtime.transformer import PositionalEncoding, Transformer, decode, encode
from turingformer.compiler.perez.verify import verify
from turingformer.analysis.inspect import run_with_cache
from turingformer.views import figures as views

machine = load_machine("../machines/zeros_ones.yaml")
model = compile_machine(machine)
words = ["01", "0011", "0101"]
for w in words:
    v = verify(machine, w, model=model)
    print(f"{w:>5}: {v.reference.verdict.value:<7} ({v.reference.steps} machine steps)  transformer agrees: {v.ok}")

# %% [markdown]
# ## With positions: the encoder knows where each symbol is
#
# The encoder's input at position j is the symbol's embedding plus pos(j) = (1, j, 1/j, 1/j²). Its
# keys are (j, −1), so the decoder's cross-attention at step i picks input position min(i+1, n):
# it reads the input **in order**. For `0011` and `0101` the symbols read at steps 0–3 differ:

# %%
space = model.transformer.space
def symbols_read(transformer, w, steps=4):
    """The input symbol α that layer 1's cross-attention returns at decoder steps 0..steps-1."""
    out = []
    for step in decode(transformer, list(w), max_steps=steps, capture={"decoder.1.cross.out"}):
        alpha = {name.split("=")[1]: value for name, value in zip(space.names, step.activations["decoder.1.cross.out"])
                 if name.startswith("s3:") and value}
        out.append(alpha)
    return out

for w in words:
    print(f"{w:>5}:", [" + ".join(f"{v}·{a}" for a, v in alpha.items()) for alpha in symbols_read(model.transformer, w)])


# %% [markdown]
# ## Remove the positions from the encoder
#
# We build the same network, except that the encoder no longer adds pos(j) to its inputs. The
# runtime is generic, so this is a small subclass of `Transformer` whose `embed` leaves the
# positions out; every weight stays as it was, and the decoder keeps its own positions.

# %%
@dataclasses.dataclass(frozen=True)
class NoEncoderPositions(Transformer):
    """The same weights, but the encoder input at position j is f(w_j) alone, without pos(j)."""

    def embed(self, tokens):
        return [self.space.vector(self.embedding[t]) for t in tokens]

no_positions = NoEncoderPositions(**{f.name: getattr(model.transformer, f.name)
                                     for f in dataclasses.fields(Transformer)})
for w in words:
    print(f"{w:>5}:", [" + ".join(f"{v}·{a}" for a, v in alpha.items()) for alpha in symbols_read(no_positions, w)])


# %% [markdown]
# Now every key is the zero vector, every score is 0, every input position ties, and hard
# attention **averages** the whole input: every step reads "½·0 + ½·1", the proportions, for all
# three words. Since the input reaches the decoder only through this cross-attention, the
# decoder's outputs are identical too, step for step, vector for vector:

# %%
def outputs(transformer, w, steps=40):
    return [step.y_out for step in decode(transformer, list(w), max_steps=steps)]

same = {w: outputs(no_positions, w) for w in words}
with_positions = {w: outputs(model.transformer, w) for w in words}
print("without positions, identical outputs for 01, 0011, 0101:", same["01"] == same["0011"] == same["0101"])
print("with positions,    identical outputs for 0011 and 0101:  ", with_positions["0011"] == with_positions["0101"])
first = next(t for t, (a, b) in enumerate(zip(with_positions["0011"], with_positions["0101"])) if a != b)
print(f"with positions the runs on 0011 and 0101 first differ at output y_{first + 1}")

# %% [markdown]
# The encoder outputs themselves: with positions each vector carries its index j (slot x9, written
# `symbol@j` below); without, `0011` and `0101` give the *same multiset* of vectors, and `01` the
# same vectors in the same proportions, which is all that averaging attention can see.

# %%
from collections import Counter

def encoder_multiset(transformer, w):
    states = encode(transformer, list(w)).states
    return Counter(tuple((n, str(v)) for n, v in zip(space.names, x) if v) for x in states)

def show(vector):
    named = dict(vector)
    symbol = next(n.split("=")[1] for n in named if n.startswith("s3:"))
    return symbol + (f"@{named['x9:i+1']}" if "x9:i+1" in named else "")

for label, t in (("with positions", model.transformer), ("without positions", no_positions)):
    print(label)
    for w in words:
        m = encoder_multiset(t, w)
        print(f"  {w:>5}:", "  ".join(f"{count}×{show(v)}" for v, count in sorted(m.items(), key=lambda kv: show(kv[0]))))


# %% [markdown]
# ## Removing every position
#
# The most literal version of the proposition: replace the positional encoding everywhere (encoder
# and decoder) by zero, with `dataclasses.replace`. The network is now useless as a simulator,
# but the point stands: it cannot tell the three words apart either.

# %%
@dataclasses.dataclass(frozen=True)
class NoPositions(PositionalEncoding):
    def __call__(self, space, k):
        return tuple(space.zeros())

blind = dataclasses.replace(model.transformer, positional=NoPositions(*dataclasses.astuple(model.transformer.positional)))
blind_outputs = {w: outputs(blind, w, steps=20) for w in words}
print("no positions anywhere, identical outputs:", blind_outputs["01"] == blind_outputs["0011"] == blind_outputs["0101"])

# %% [markdown]
# ## What the real model does instead
#
# With positions, the prelude reads the input one symbol per step (the diagonal at the top of the
# heat map below), so the symbols arrive in order and the decisions differ: `0011` is accepted
# after 13 steps of the machine, `0101` rejected after 5.

# %%
views.attention(run_with_cache(model, "0101"), "decoder.1.cross",
                title="Layer-1 cross-attention on 0101, with positions: one input symbol per step")

# %% [markdown]
# **Why this matters for the paper.** The positional encoding pos(i) = (1, i, 1/i, 1/i²) uses
# numbers that grow without bound. With a fixed precision, there are only finitely many distinct
# position vectors, and the same argument (applied to symbol–position pairs) shows that such a
# transformer is not Turing complete. Unbounded precision is part of the theorem, not a detail
# (`05_precision.ipynb` looks at what goes wrong with floats).
#
# ## Checks

# %%
assert same["01"] == same["0011"] == same["0101"]
assert blind_outputs["01"] == blind_outputs["0011"] == blind_outputs["0101"]
assert with_positions["0011"] != with_positions["0101"]
assert encoder_multiset(no_positions, "0011") == encoder_multiset(no_positions, "0101")
assert encoder_multiset(model.transformer, "0011") != encoder_multiset(model.transformer, "0101")
assert [verify(machine, w, model=model).reference.verdict.value for w in words] == ["accept", "accept", "reject"]
assert all(verify(machine, w, model=model).ok for w in words)
print("all checks passed")
