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
# # 10 · The weights in PyTorch: patch an attention, watch the machine misread
#
# `turingformer.export.to_torch(model)` turns a compiled model into a plain PyTorch `nn.Module`:
# the exact weights rounded once to float64 (**inexact**, and labelled so), hook points named as in
# the rest of the project (`decoder.3.attn.pattern`, `output.y`), the residual dimensions named
# (`net.dims["s1:symbol=0"]`). Here we use it for one experiment the construction makes a
# prediction about (docs/export.md has more recipes: nnsight, TransformerLens, batches, GPU, ONNX).
#
# Layer 3 of the Pérez decoder finds **the last time the head's next cell was written** (Lemma 10),
# and the output net reads the symbol written there. So if we force layer 3 to attend to another
# earlier position, the network should read the symbol written *there* — and nothing before that
# position should change.

# %%
# %matplotlib inline
import torch
import matplotlib.pyplot as plt
import turingformer
from turingformer.export import to_torch, run, check
from turingformer.compiler.perez.decoding import run_model

torch.set_num_threads(1)             # tiny tensors: one thread is fastest
model = turingformer.compile(turingformer.load("../machines/binary_increment.yaml"))
net = to_torch(model)
hooks = [name for name, module in net.named_modules() if type(module).__name__ == "HookPoint"]
print(net.extra_repr(), f"; {len(net.dims)} named dimensions; {len(hooks)} hook points:", ", ".join(hooks[:6]), "…")

# %% [markdown]
# First, the export *is* the model while float64 stays exact: its run, decoded by the model's own
# decoding, is the trace `turingformer run --json` prints, and `check` compares every attention
# decision and every output with the exact runtime.

# %%
word = "1011"
assert list(run(net, word).json_lines()) == list(model.run(word).json_lines())
print(check(net, 100, word).verdict())

# %% [markdown]
# ## Teacher forcing, and layer 3's pattern
#
# `net(input_ids, ys)` runs every decoder position at once under the causal mask, given the
# decoder inputs y₀ … y_{T−1} (here: those of the exact run). A forward hook on
# `decoder.3.attn.pattern` reads the attention pattern.

# %%
steps = run_model(model, word, keep_steps=True).decoder_steps
ys = torch.tensor([[float(v) for v in s.y_in] for s in steps], dtype=torch.float64)
ids = net.tokens(model.labels.encoder_input(word))
seen = {}
handle = net.decoder["3"].attn.pattern.register_forward_hook(lambda m, i, o: seen.update(pattern=o))
out = net(ids, ys)
handle.remove()
assert torch.equal(out, torch.tensor([[float(v) for v in s.y_out] for s in steps], dtype=torch.float64))

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.imshow(seen["pattern"], cmap="Greys")
ax.set_xticks(range(0, len(ys), 4))
ax.set_yticks(range(0, len(ys), 4))
ax.set_xlabel("attended position j")
ax.set_ylabel("decoder position i")
ax.set_title("decoder.3.attn.pattern (teacher-forced)")
plt.show()
print("position 16 attends to", int(seen["pattern"][16].argmax()))

# %% [markdown]
# ## The intervention
#
# At position 16 the machine is about to read the cell last written at position 13 (a `1`).
# Position 12 wrote a `0`. Replace layer 3's winner mask at position 16 by position 12
# (`decoder.3.attn.winners`: in the default *sum* form, (Σ winners' values) / r, the mask is what
# the output is computed from; `net.form = "pattern"` makes the pattern itself take effect).

# %%
def read(y):
    """The symbol y says the head reads, from its named one-hot slots s1:symbol=…"""
    return [a for a in model.labels.symbols if y[net.dims[f"s1:symbol={a}"]] == 1]


def attend_to_12(module, inputs, winners):
    winners = winners.clone()
    winners[16] = 0
    winners[16, 12] = 1
    return winners


handle = net.decoder["3"].attn.winners.register_forward_hook(attend_to_12)
patched = net(ids, ys)
handle.remove()
changed = (patched != out).any(dim=-1).nonzero().flatten().tolist()
print("read at step 17:", read(out[16]), "->", read(patched[16]), "; rows changed:", changed)

# %% [markdown]
# As predicted: the symbol read becomes the `0` written at position 12, and only that row of the
# output changed (teacher forcing keeps the later inputs; in a free run the machine would go on
# from the misread).

# %%
assert read(out[16]) == ["1"] and read(patched[16]) == ["0"]
assert changed == [16]
