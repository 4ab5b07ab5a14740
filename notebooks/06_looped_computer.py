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
# # 06 · The looped computer: a program on a punch card
#
# Notebooks 01–05 compiled a **Turing machine** into a transformer (Pérez, Barceló, Marinkovic): the
# weights depend on the machine, and the network writes the run out, one output per step. Giannou,
# Rajput, Sohn, Lee, Lee and Papailiopoulos (*Looped Transformers as Programmable Computers*, ICML
# 2023) turn this around:
#
# * the **weights are fixed**: they depend only on the sizes (M memory cells of N bits,
#   s instructions), never on the program;
# * the **program and its data are the input**, a matrix X with one column per memory cell and per
#   instruction: the *punch card*;
# * the same few-layer network is applied **in a loop**, X ← f(X). One loop executes one
#   instruction of a one-instruction computer, **SUBLEQ** (`mem[b] -= mem[a]; if mem[b] <= 0 goto c`).
#
# `turingformer` builds these weights exactly (integers and fractions, no rounding) after the
# construction in `../shared/looped-construction.md` (its §5 is SUBLEQ with 3 single-head layers
# and d = 16 named dimensions). In this notebook we:
#
# 1. put a program on a punch card and look at it,
# 2. follow one loop **block by block** with the exact numbers,
# 3. run a **self-modifying** program (SUBLEQ-U: code and data share the memory),
# 4. run **FLEQ**, whose instruction applies a function such as `shr` or `mul`,
# 5. run the same weights in **float32 and float64**: unlike the Pérez construction of notebook 05,
#    they stay bit-exact, and we measure why (how many bits any activation needs).

# %%
# %matplotlib inline
import json, time
from pathlib import Path
from fractions import Fraction

import numpy as np
import matplotlib.pyplot as plt

from turingformer.programs import run
from turingformer.programs.formats import load_program, loads_program
from turingformer.compiler.looped.construction import compile_program
from turingformer.compiler.looped.decoding import CardState, read_array, read_state
from turingformer.compiler.looped.model import run_looped
from turingformer.compiler.looped.verify import card_table, trace_loop, verify_looped
from turingformer.runtime.looped import FloatLoop, IntegerLoop
from turingformer.views.looped import attention_map, memory_over_loops, punch_card

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "turingformer").is_dir())
PROGRAMS = ROOT / "machines" / "programs"
started = time.perf_counter()

# %% [markdown]
# ## 1. A program
#
# The smallest loop there is. `subleq #1 n HALT` subtracts the cell `#1` (a literal cell holding 1)
# from `n` and jumps to `HALT` when the result is ≤ 0; otherwise it falls through to the jump back.
# `jmp top` is itself a SUBLEQ instruction: `subleq __Z __Z top` subtracts the zero cell from
# itself (0 ≤ 0, so it always jumps). The assembler places the cells `n`, `#1`, `__Z` in memory.

# %%
countdown = loads_program("""
.bits 8
.data
n: 5
.code
top:  subleq #1 n HALT
      jmp top
""", "subleq")
cell_names = {cell: label for label, cell in countdown.labels.items()}
print("memory:", {cell_names[i]: v for i, v in enumerate(countdown.memory)})
for k, ins in enumerate(countdown.code):
    print(f"instruction {k}: subleq a={ins.a} ({cell_names[ins.a]}), b={ins.b} ({cell_names[ins.b]}), c={ins.c}")
reference = run(countdown)
print("reference interpreter:", reference.steps, "loops, n =", reference.value("n"))

# %% [markdown]
# ## 2. Compile it: fixed weights, and a punch card
#
# The compile summary: 3 blocks (layers) per loop, one attention head each, d = 16 dimensions, 18 σ
# units in all. None of these numbers depends on the program.

# %%
model = compile_program(countdown)
print("\n".join(model.summary().lines()))

# %% [markdown]
# The punch card X₀ has one column per memory cell (0 … M−1), one per instruction (M … M+s−1) and a
# **halt column** H = M + s (a no-op instruction that keeps pc = s). Every row is a *named*
# dimension (spec §5.2):
#
# * `const:one`, `pos:index` — a constant 1 and the column's own index (the positional encoding);
# * `kind:mem`, `mem:value` — "this is a memory cell" and its word;
# * `prog:a`, `prog:b`, `prog:c`, `prog:next` — the instruction stored in this column;
# * `reg:pc` — the program counter, **replicated in every column** (there is no separate scratchpad);
# * `cur:*`, `tmp:*` — scratch space of one loop, 0 between loops.

# %%
roles = [cell_names[i] for i in range(countdown.cells)] + [f"instr {k}" for k in range(countdown.size)] + ["halt"]
print("column role: " + " | ".join(f"{j}={r}" for j, r in enumerate(roles)))
print(card_table(model.space.names, model.card))

# %% [markdown]
# ## 3. One loop, block by block
#
# Every attention head in this construction is an **address head**: column j asks for the column
# whose `pos:index` equals a target T(x_j). The query is (T, 1) and the key (1, −i), so the dot
# product is T − i and the score −|T − i|: exactly 0 at the wanted column and ≤ −1 everywhere else.
# The hardmax picks that one column, and the value map copies some of its dimensions.
#
# We run loop 1 on the exact Fraction runtime with every hook (`loop.{l}.resid_pre`,
# `loop.{l}.attn.scores`, `.winners`, `loop.{l}.resid_mid`, `loop.{l}.ffn.hidden`, `loop.{l}.out`)
# and print what each block reads and what it changes.

# %%
X0 = model.card
X1, acts = model.transformer.step(X0, capture=None)
names = model.space.names


def changes(before, after):
    """The entries a block changed: one line per dimension, 'all columns' when every column agrees."""
    lines = []
    for k, name in enumerate(names):
        moved = [(j, b[k], a[k]) for j, (b, a) in enumerate(zip(before, after)) if b[k] != a[k]]
        if not moved:
            continue
        if len(moved) == len(before) and len({(b, a) for _, b, a in moved}) == 1:
            lines.append(f"    {name:10} all columns: {moved[0][1]} → {moved[0][2]}")
        else:
            lines.append(f"    {name:10} " + ", ".join(f"column {j}: {b} → {a}" for j, b, a in moved))
    return "\n".join(lines) or "    (nothing)"


what = ["fetch the instruction at pc (T = reg:pc + M)", "read mem[a] and write mem[b] (T = cur:a)",
        "read the new mem[b] and branch (T = cur:b)"]
for l in range(len(model.transformer.blocks)):
    scores = acts[f"loop.{l}.attn.scores"]
    winners = acts[f"loop.{l}.attn.winners"]
    print(f"block {l}: {what[l]}")
    print(f"  scores of query column 0 over the key columns: {[int(s) for s in scores[0]]}")
    print(f"  winner of every query column: {[w[0] for w in winners]}")
    print("  the attention changed:\n" + changes(acts[f"loop.{l}.resid_pre"], acts[f"loop.{l}.resid_mid"]))
    hidden = acts[f"loop.{l}.ffn.hidden"]
    print(f"  FFN σ units in column 0: {[str(h) for h in hidden[0]]}")
    print("  the FFN changed:\n" + changes(acts[f"loop.{l}.resid_mid"], acts[f"loop.{l}.out"]))

# %% [markdown]
# Read it as the instruction `subleq #1 n HALT` executing:
#
# * **block 0** attends to column 3 (instruction 0, because pc = 0) and copies its fields into
#   `cur:a = 1`, `cur:b = 0`, `cur:c = 2`, `cur:next = 1` in *every* column. Its FFN sets the write
#   gate `tmp:gate` = 1 in exactly one column: the memory column whose index is b.
# * **block 1** attends to column 1 (the cell `#1`) and copies `tmp:va` = mem[a] = 1 everywhere. Its
#   FFN subtracts va from `mem:value` in the gated column only (5 → 4; wrapping at 8 bits is done
#   by two more σ units) and clears `cur:a`, `tmp:va`, `tmp:gate`.
# * **block 2** attends to column 0 (cell b, now holding 4), reads `tmp:vb` = 4 and computes the new
#   pc = next + [vb ≤ 0]·(c − next) = 1 with four σ units, then clears the rest.
#
# After the loop, X₁ is *again* a clean punch card: the encoding of the new state (pc = 1, n = 4).
# That is the invariant that makes looping work (spec §5.2: X_t = E(mem_t, pc_t), entry for entry).
# The same loop as pictures — the card after each block, and the column each column attended to:

# %%
traced = trace_loop(model, 1)
punch_card(traced)

# %%
attention_map(traced)

# %% [markdown]
# Now all nine loops. Per loop: the pc, the column each of the three heads attended to (every column
# picks the same one), and the memory afterwards. The branch is taken in the last loop (n = 1 → 0,
# jump to HALT = 2); in the loops before, `jmp top` (instruction 1) always jumps back.

# %%
fast = IntegerLoop(model.transformer)
X = fast.to_array(model.card)
rows = []
for t in range(1, reference.steps + 1):
    pc = read_array(model.labels, model.space, X).pc
    X, winners = fast.step(X)
    heads = [int(w[0][0]) for w in winners]
    assert all((w[0] == w[0][0]).all() for w in winners)   # every column attends to the same column
    rows.append((t, pc, heads, read_array(model.labels, model.space, X).mem))
print("loop  pc  fetch  read a  read b   memory after (n, #1, __Z)")
for t, pc, heads, mem in rows:
    print(f"{t:4} {pc:3} {heads[0]:6} {heads[1]:7} {heads[2]:7}   {mem}")

# %% [markdown]
# And the whole run, checked against the independent reference interpreter after every loop, entry
# for entry (`verify_looped` compares X_t with the encoding of the interpreter's state t):

# %%
verification = verify_looped(countdown, model=model)
looped_trace = run_looped(model)
print("verified:", verification.ok, "over", verification.loops_checked, "loops;",
      "decoded from the network:", looped_trace.final)

# %% [markdown]
# ## 4. Self-modifying code: SUBLEQ-U
#
# The classic SUBLEQ has **one** memory for code and data: an instruction is three consecutive
# cells (a, b, c), so a program can rewrite its own instructions. The construction of spec §6 (d = 23)
# gives every cell column a *window*: `win:w0`, `win:w1`, `win:w2` cache cells i, i+1, i+2, so one
# attention fetches a whole instruction; `win:ce` is the jump target c (−1 = halt when it points
# outside the program). A write to cell b updates the three windows that contain it. Column 0 is
# the halt column, column 1 + i is cell i.
#
# `patch` below would spin forever at `spin` — but its first instruction rewrites spin's jump
# target (the cell named `c`) from 3 to 3 − 4 = −1, which halts.

# %%
patch = load_program(PROGRAMS / "patch.usubleq")
print((PROGRAMS / "patch.usubleq").read_text())
patch_model = compile_program(patch)
print("\n".join(patch_model.summary().lines()))
print("memory:", patch.memory, " labels:", dict(patch.labels))

# %% [markdown]
# The instruction `spin` occupies cells 3, 4, 5 (columns 4, 5, 6). Here are the window rows of those
# columns before and after loop 1, which writes mem[5] = 3 − 4 = −1:

# %%
patch_loop = trace_loop(patch_model, 1)
window_rows = ["win:w0", "win:w1", "win:w2", "win:v0", "win:v1", "win:ce", "reg:pc"]
spin_columns = [1 + cell for cell in (3, 4, 5)]
rows_of = {name: patch_model.space.index(name) for name in window_rows}
print("          " + "  ".join(f"column {j} (cell {j - 1})" for j in spin_columns))
for name in window_rows:
    before = [int(patch_loop.card_in[j][rows_of[name]]) for j in spin_columns]
    after = [int(patch_loop.cards[-1][j][rows_of[name]]) for j in spin_columns]
    print(f"{name:8}  " + "  ".join(f"{b:>7} → {a:<10}" for b, a in zip(before, after)))
patch_trace = run_looped(patch_model)
print("pc after each loop:", [s.pc for s in patch_trace], "— halted:", patch_trace.halted)

# %% [markdown]
# The one write to cell 5 shows up three times: as `win:w2` and the jump target `win:ce` of column 4
# (the instruction `spin` itself now ends in −1), as `win:w1` of column 5 and as `win:w0` of column 6,
# whose validity bit `win:v0` ("is this word a cell address?") drops to 0. In loop 2 the fetch reads
# column 4, finds target −1 and the machine halts.
#
# A longer self-modifying program: `sum_ptr` adds up a list with a loop of constant size by
# incrementing the `a` field of its own first instruction (the cell named `p`). The memory over the
# loops, one row per cell: the top row is cell 0 (labelled `loop` and `p`), the code cell that
# changes, from LIST = 26 up to 31; further down `SUM` grows and `CNT` counts down.

# %%
sum_ptr = load_program(PROGRAMS / "sum_ptr.usubleq")
sum_model = compile_program(sum_ptr)
sum_trace = run_looped(sum_model)
sum_reference = run(sum_ptr)
p_cell = sum_ptr.labels["p"]
print("p (the a field of the instruction at cell 0) takes the values", sorted({s.memory[p_cell] for s in sum_trace}),
      "; LIST starts at cell", sum_ptr.labels["LIST"])
print("SUM =", sum_trace.value("SUM"), "after", sum_trace.steps, "loops; the interpreter:",
      sum_reference.value("SUM"), "after", sum_reference.steps)
memory_over_loops(sum_trace)

# %% [markdown]
# ## 5. FLEQ: one instruction, a library of functions
#
# FLEQ (spec §7) generalises SUBLEQ: `op a b c f p` computes mem[c] = op(mem[a], mem[b]) and jumps to
# p when mem[f] ≤ 0. The functions (sub, add, mov, neg, min, max, lt, eq, shl, shr, mul) are σ-nets
# in the FFN of the third block, each gated by a one-hot of the opcode. **Only the functions the
# program uses are compiled**: each costs σ units, one `tmp:op=<name>` dimension, and `mul` an extra
# FFN-only block.
#
# A program that uses `shr` (⌊x/2⌋): the bit length of x, by halving until 0.

# %%
bitlen = loads_program("""
.bits 8
.data
x: 100
k: 0
.code
loop: add #1 k k          ; k += 1
      shr x x x x HALT    ; x = x >> 1; halt when x <= 0
      jmp loop
""", "fleq")
bitlen_model = compile_program(bitlen)
print("\n".join(bitlen_model.summary().lines()))
bitlen_check = verify_looped(bitlen, model=bitlen_model)
bitlen_trace = run_looped(bitlen_model)
print("x over the loops:", [s.memory[bitlen.labels["x"]] for s in bitlen_trace])
print("k =", bitlen_trace.value("k"), "(100 has 7 bits); verified:", bitlen_check.ok)

# %% [markdown]
# The functions used are `add`, `shr` and `sub` (`jmp` and `halt` are `sub __Z __Z …`). After the
# fetch block, the opcode one-hot of the instruction at pc says which function's σ-terms are on.
# At loop 2 pc = 1, the `shr`:

# %%
fleq_loop = trace_loop(bitlen_model, 2)
onehot = [n for n in bitlen_model.space.names if n.startswith("tmp:op=")]
for name in onehot:
    print(f"{name:12} after block 0, column 0: {fleq_loop.cards[0][0][bitlen_model.space.index(name)]}")

# %% [markdown]
# What the function list costs, over the FLEQ example programs: the width d = 23 + F (+1 for `mul`'s
# product), the blocks, and the σ units. `mul` on N-bit words needs about 2·2ᴺ units (its partial
# products), which is why `fact6` (12-bit words) is so much larger than `dot` (8-bit words).

# %%
fleq_rows, fleq_models = [], {"bitlen": bitlen_model}
for name in ("bitlen", "doubling.fleq", "gcd.fleq", "sort3.fleq", "dot.fleq", "fact6.fleq"):
    program = bitlen if name == "bitlen" else load_program(PROGRAMS / name)
    fleq_models.setdefault(name, compile_program(program))
    s = fleq_models[name].summary()
    fleq_rows.append((name, program.bits, s.functions, s.d, len(s.heads), sum(s.hidden), s.nonzero_weights))
print(f"{'program':14} {'N':>3}  {'functions':26} {'d':>3} {'blocks':>6} {'σ units':>8} {'weights':>8}")
for name, bits, functions, d, blocks, units, weights in fleq_rows:
    print(f"{name:14} {bits:3}  {', '.join(functions):26} {d:3} {blocks:6} {units:8} {weights:8}")

# %% [markdown]
# ## 6. Precision: the looped computer survives floating point
#
# Notebook 05 ran the Pérez weights in floating point, and they broke: layer 3 must find the *last*
# write to a cell, and it separates the last visit from the one before by a term of about 4/(3t⁵)
# that drowns in rounding errors. Recomputed here (first decoder step where float32 goes wrong, for
# the two averaging styles of notebook 05; float64 from `benchmarks/precision_tables.json`):

# %%
from turingformer.compiler.perez.construction import compile_machine
from turingformer.tm.formats import load_machine
from turingformer.analysis.precision import compare

TABLES = json.loads((ROOT / "benchmarks" / "precision_tables.json").read_text())
perez = {}
for label, path, word in (("zig-zag walker", "benchmarks/machines/zigzag_walker.yaml", ""),
                          ("binary counter", "benchmarks/machines/binary_counter.yaml", "0")):
    tm_model = compile_machine(load_machine(ROOT / path))
    for style in ("sum", "weighted"):
        r = compare(tm_model, word, dtype="float32", averaging=style, max_steps=1000)
        saved = next(d for d in TABLES["divergence"]
                     if d["label"] == label and d["dtype"] == "float32" and d["averaging"] == style)
        assert saved["first_layer3"] == r.first_layer3            # the table says the same
        perez[(label, "float32", style)] = r.first_layer3
        print(f"Pérez, {label:15} float32 ({style:8}): layer 3 first wrong at decoder step {r.first_layer3} "
              f"({r.broke_first})")
    for style in ("sum", "weighted"):
        saved = next(d for d in TABLES["divergence"]
                     if d["label"] == label and d["dtype"] == "float64" and d["averaging"] == style)
        perez[(label, "float64", style)] = saved["first_layer3"]
        print(f"Pérez, {label:15} float64 ({style:8}): {saved['first_layer3'] or 'no break'} "
              f"(of {saved['steps_compared']} steps compared; precision_tables.json)")

# %% [markdown]
# Now the looped weights. `FloatLoop(transformer, "float32")` runs the *same* weights with
# numpy in float32 (plain matmul, argmax; no exactness claim, a measurement). We take a program
# that never halts — Fibonacci numbers forever, wrapping around at 8 bits — and run it for 20,000
# loops three ways: the exact integer path (decoded and compared with the reference interpreter after
# every loop), float32 and float64 (compared with the exact run entry for entry, and head for head).

# %%
fib_forever = loads_program("""
.bits 8
.data
a: 0
b: 1
t: 0
.code
loop: mov a t       ; t = a
      add b t       ; t = a + b   (wraps around at 8 bits)
      mov b a       ; a = b
      mov t b       ; b = t
      jmp loop
""", "subleq")
fib_model = compile_program(fib_forever)
print("\n".join(fib_model.summary().lines()))

LOOPS = 20_000
fib_reference = run(fib_forever, max_steps=LOOPS)
exact = IntegerLoop(fib_model.transformer)
floats = {dtype: FloatLoop(fib_model.transformer, dtype, single_winner=True) for dtype in ("float32", "float64")}
X = exact.to_array(fib_model.card)
F = {dtype: runner.to_array(fib_model.card) for dtype, runner in floats.items()}
wrong = {"exact vs interpreter": 0, "float32 vs exact": 0, "float64 vs exact": 0}
largest_entry = 0
for state in fib_reference.states[1:]:
    X, winners = exact.step(X)
    if state.step == LOOPS - 16:
        late_card = IntegerLoop.to_columns(X)      # kept for the bit count below
    largest_entry = max(largest_entry, int(abs(X).max()))
    got = read_array(fib_model.labels, fib_model.space, X)
    wrong["exact vs interpreter"] += (got.pc, got.mem) != (state.pc, state.memory)
    for dtype, runner in floats.items():
        F[dtype], float_winners = runner.step(F[dtype])
        same = (F[dtype] == X.astype(np.float64)).all() and all(
            (a == b).all() for wa, wb in zip(winners, float_winners) for a, b in zip(wa, wb))
        wrong[f"{dtype} vs exact"] += not same
print(f"{LOOPS} loops; loops with any difference:", wrong)
print(f"largest |entry| of the punch card over the run: {largest_entry} ({largest_entry.bit_length()} bits)")
print("memory after", LOOPS, "loops:", fib_reference.final.memory, "| float32:",
      tuple(int(v) for v in F["float32"][fib_model.space.index("mem:value"), :fib_forever.cells]))

# %% [markdown]
# Not a single entry differs. Why? Every residual entry is an **integer** (bounded by the word
# range and the number of columns), every weight is a **dyadic** rational p/2ᵏ, and every σ-argument
# is therefore dyadic too. A float represents such a number *exactly* as long as its significand
# fits (24 bits in float32, 53 in float64) — and then the arithmetic does not round at all.
#
# So the question is how many bits the construction needs. We measure it: for every affine map
# (query, key, value, each FFN layer), every attention dot product, on every column, the widest
# **partial sum** a float computation could form (Σ|terms| on the finest grid 2⁻ᵏ of its terms), in
# bits. This bounds every intermediate value, whatever order numpy adds in. On the Fraction runtime
# (with hooks), over the first 32 loops of the run (two passes through the loop body):

# %%
def grid_bits(terms) -> int:
    """Significand bits that hold every partial sum of the dyadic ``terms`` exactly."""
    terms = [Fraction(v) for v in terms if v]
    if not terms:
        return 0
    grid = max(v.denominator for v in terms)
    assert grid & (grid - 1) == 0, "not a dyadic rational"
    return int(sum(abs(v) for v in terms) * grid).bit_length()


def map_bits(linear, xs) -> int:
    """The widest partial sum of x W + b over the inputs xs, per output coordinate."""
    widest = 0
    for x in xs:
        terms = {o: [b] for o, b in linear.bias}
        for i, o, w in linear.weights:
            terms.setdefault(o, []).append(x[i] * w)
        widest = max([widest, *(grid_bits(t) for t in terms.values())])
    return widest


def loop_bits(looped, X):
    """One loop on the Fraction runtime: (X', the widest value any map, score or σ forms, in bits).

    Maps are measured on their actual inputs; for the n² attention dot products we bound the
    partial sums by the largest |q| and |k| of each coordinate over the columns (an upper bound)."""
    net = looped.transformer
    _, hooks = net.step(X, capture=None)
    widest = 0
    for l, block in enumerate(net.blocks):
        xs = hooks[f"loop.{l}.resid_pre"]
        for head in block.heads:
            if head.is_trivial():
                continue
            widest = max(widest, *(map_bits(m, xs) for m in (head.query, head.key, head.value)))
            q_max = [max(abs(q[c]) for q in map(head.project_query, xs)) for c in range(len(head.support))]
            k_max = [max(abs(k[c]) for k in map(head.project_key, xs)) for c in range(len(head.support))]
            widest = max(widest, grid_bits([a * b for a, b in zip(q_max, k_max)]))
        if block.ffn is not None:
            widest = max(widest, map_bits(block.ffn.layers[0], hooks[f"loop.{l}.resid_mid"]),
                         map_bits(block.ffn.layers[1], hooks[f"loop.{l}.ffn.hidden"]))
    return hooks[f"loop.{len(net.blocks) - 1}.out"], widest


def widest_over(looped, X, loops):
    """The widest partial sum over ``loops`` loops from card X (columns of Fractions), in bits."""
    widest = 0
    for _ in range(loops):
        X, b = loop_bits(looped, X)
        widest = max(widest, b)
    return widest


# two windows of one pass through the loop body (16 loops): the start and the end of the 20,000-loop run
fib_bits = {t: widest_over(fib_model, card, 16) for t, card in ((0, fib_model.card), (LOOPS - 16, late_card))}
print("widest partial sum in the 16 loops from loop t (bits):", fib_bits)
print(f"proven bound from the compile summary: {fib_model.summary().largest_integer.bit_length()} bits")

# %% [markdown]
# About a dozen bits, far inside float32's 24, and no more late in the run than early: the number
# cannot grow with the loop count, because the card after every loop is again E(mem, pc) with N-bit
# words. The compile summary's proven bound (on every integer the exact integer path forms, from the
# weights and the range of the entries alone, each σ unit scaled by its own cap) is looser — it
# takes the worst case of every unit — but holds for *every* run of this program: 17 bits, so
# float32 (24 bits) and float64 (53 bits) are both certified however long it runs.
#
# Where the bits *do* run out: `fact6` multiplies 12-bit words. `mul`'s σ-terms have pre-activations
# of about (2ᴺ)² = 2²⁴ on a grid of 1: more than float32 holds. The first loop already goes wrong in
# float32; float64 stays exact.

# %%
fact6 = load_program(PROGRAMS / "fact6.fleq")
fact6_model = fleq_models["fact6.fleq"]      # compiled for the table above
_, fact6_bits = loop_bits(fact6_model, fact6_model.card)


def first_float_mismatch(looped, dtype, loops):
    """The first loop whose float punch card differs from the exact one (None: none within loops)."""
    exact_run, float_run = IntegerLoop(looped.transformer), FloatLoop(looped.transformer, dtype, single_winner=True)
    Xe, Xd = exact_run.to_array(looped.card), float_run.to_array(looped.card)
    for t in range(1, loops + 1):
        Xe, _ = exact_run.step(Xe)
        Xd, _ = float_run.step(Xd)
        if not (Xd == Xe.astype(np.float64)).all():
            rows_, cols = np.nonzero(Xd != Xe.astype(np.float64))
            k, j = int(rows_[0]), int(cols[0])
            return t, f"{looped.space.names[k]} of column {j}: exact {Xe[k, j]}, {dtype} {Xd[k, j]}"
    return None


fact6_steps = run(fact6).steps
fact6_float = {dtype: first_float_mismatch(fact6_model, dtype, fact6_steps) for dtype in ("float32", "float64")}
print(f"fact6 (N = 12, mul): widest partial sum of loop 1 = {fact6_bits} bits")
for dtype, result in fact6_float.items():
    print(f"  {dtype}: " + (f"first wrong at loop {result[0]}: {result[1]}" if result
                            else f"bit-exact for all {fact6_steps} loops"))

# %% [markdown]
# (mem[1] is f; the first loop computes f = 1 · 6, and float32 gets 8.) The rule is simple and
# *static*: float is exact when the widest activation fits the significand. It depends on N and the
# card's size, not on how long the program runs.
#
# ### How the bits grow: O(log n + N)
#
# The same measurement on programs of s instructions (n = s + 3 columns) that subtract the two
# extreme words −2ᴺ⁻¹ and 2ᴺ⁻¹ − 1 (2 loops each), for 8- and 16-bit words, next to the proven
# bound of the compile summary:

# %%
def extreme_program(bits: int, size: int):
    half = 2 ** (bits - 1)
    return loads_program(f".bits {bits}\n.data\nx: {-half}\ny: {half - 1}\n.code\n" + "subleq x y\n" * size, "subleq")


sizes = (4, 16, 64)
growth = {}
for bits in (8, 16):
    for size in sizes:
        looped = compile_program(extreme_program(bits, size))
        growth[bits, size] = (looped.n, widest_over(looped, looped.card, 2), looped.summary().largest_integer.bit_length())
fig, ax = plt.subplots(figsize=(7, 4.8))
for bits, color in ((8, "tab:blue"), (16, "tab:purple")):
    points = [growth[bits, size] for size in sizes]
    ax.plot([np.log2(n) for n, _, _ in points], [w for _, w, _ in points], "o-", color=color,
            label=f"N = {bits}: widest partial sum, measured")
    ax.plot([np.log2(n) for n, _, _ in points], [b for _, _, b in points], "s--", color=color, alpha=0.5,
            label=f"N = {bits}: proven bound (compile summary)")
for limit, name in ((24, "float32 significand (24)"), (53, "float64 significand (53)")):
    ax.axhline(limit, color="gray", ls=":", lw=1)
    ax.text(0.01, limit + 0.7, name, fontsize=8, color="gray", transform=ax.get_yaxis_transform())
ax.set_xlabel("log₂ n (n = punch-card columns)")
ax.set_ylabel("bits")
ax.set_ylim(0, 60)
ax.set_title("SUBLEQ-H/3L: bits per value grow like log n + N")
ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
fig.tight_layout()
plt.show()
for (bits, size), (n, measured, bound) in growth.items():
    print(f"N = {bits:2}, s = {size:3} (n = {n:3}): measured {measured:2} bits, proven bound {bound} bits")

# %% [markdown]
# Measured, each 4× more columns adds about two bits and each extra bit of word width one bit:
# about N + log₂ n + O(1) bits; the proven bound grows like 2N with the word width and, slowly, with
# n. Either way the budget is **O(log n + N)**, and the number of loops does not enter. This is the regime of Merrill et al.'s theory of transformers:
#
# * *Saturated* attention — the average-hard attention used here, uniform over the maximising
#   positions — is the model of Merrill, Sabharwal, Smith, "Saturated Transformers are Constant-Depth
#   Threshold Circuits" (TACL 10, 2022).
# * Merrill and Sabharwal, "The Parallelism Tradeoff: Limitations of Log-Precision Transformers"
#   (TACL 11, 2023), bound transformers whose values have **O(log n) bits** for n input tokens by
#   constant-depth threshold circuits (uniform TC⁰).
#
# One loop of this network is such a log-precision, saturated transformer over the n columns of the
# card (with N = O(log n)). Its power to run any program comes from the **loop** — from applying it
# unboundedly often — not from precision. The Pérez construction needs the opposite: exact
# rationals such as 1/(i+1) that no float holds, whose denominators grow with the run (notebook 05:
# about 4·log₂ t bits), and exact cancellations between them.
#
# The two side by side: how many steps each runs bit-exact (a hollow bar: no error within the run).

# %%
bars = [(f"Pérez, walker, float32", perez[("zig-zag walker", "float32", "sum")], True),
        (f"Pérez, counter, float32", perez[("binary counter", "float32", "sum")], True),
        (f"Pérez, walker, float64", perez[("zig-zag walker", "float64", "sum")], True),
        (f"looped, fib, float32", LOOPS, wrong["float32 vs exact"] > 0),
        (f"looped, fib, float64", LOOPS, wrong["float64 vs exact"] > 0)]
fig, ax = plt.subplots(figsize=(8, 3.2))
for k, (label, steps, broke) in enumerate(bars):
    color = "tab:red" if label.startswith("Pérez") else "tab:green"
    ax.barh(k, steps, color=color if broke else "none", edgecolor=color, hatch=None if broke else "//")
    ax.text(steps * 1.1, k, f"{steps:,}" + (" (first error)" if broke else " (no error, run stopped)"),
            va="center", fontsize=8)
ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
ax.set_xscale("log")
ax.set_xlim(10, 2e5)
ax.invert_yaxis()
ax.set_xlabel("steps (Pérez: decoder steps, averaging 'sum') / loops (looped) run bit-exact")
ax.set_title("Same weights in floating point: the Pérez decoder breaks, the looped computer does not")
plt.show()

# %% [markdown]
# ## 7. One machine, two transformers: a Turing machine on the looped computer
#
# A Turing machine can run here too. `compile_looped` turns it into a **self-modifying SUBLEQ-U
# program**: the tape is a block of K memory cells between two sentinels, the head a cell holding
# −H, and each state a block of code that copies H into the operand of its own read instruction
# (self-modification is what indirect addressing needs), dispatches on the symbol, writes through a
# patched operand, moves the pointer and jumps to the next state's block. The machine's
# configurations are read back from the memory after every loop, with the program's layout alone.
# (Details, the cost per step and the full comparison with the Pérez decoder: notebook 09 and
# `docs/two-transformers.md`.)

# %%
from turingformer.tm import simulator
from turingformer.tm.formats import load_machine
from turingformer.compiler.bridge.tm_to_subleq import compile_looped
from turingformer.compiler.bridge.model import run_machine_model

bb3 = load_machine(ROOT / "machines" / "busy_beaver_3.yaml")
bb3_reference = simulator.run(bb3, "")
bb3_program, bb3_model = compile_looped(bb3, "", tape_cells=16)
bb3_trace, bb3_loops = run_machine_model(bb3_model)
print(f"{bb3.name}: a SUBLEQ-U program of M = {bb3_program.program.cells} cells of N = {bb3_program.program.bits} bits; "
      f"the same 3 blocks (d = {len(bb3_model.looped.space)}) ran {bb3_loops} loops for {bb3_trace.steps} machine steps")
print("the simulator's trace, configuration for configuration:", bb3_trace == bb3_reference)
_, bb3_small = compile_looped(bb3, "", tape_cells=3, head_offset=1)
bb3_cut, _ = run_machine_model(bb3_small)
print(f"on a block of 3 cells: stops after {bb3_cut.steps} steps with the reason {bb3_cut.reason.value!r}")

# %% [markdown]
# ## Conclusions (for a student)
#
# * A looped transformer is a **programmable computer**: fixed weights (3 blocks, d = 16 for SUBLEQ),
#   the program on the punch card, one instruction per loop. Every attention is an address lookup
#   with a unique winner at score 0, every FFN a handful of σ units on integers.
# * The card after every loop is again a clean encoding of (pc, memory): you can stop the loop at any
#   time and read the state off X.
# * Self-modifying code costs only a cache: each column keeps the window of three cells it would be
#   fetched as, and a write updates three windows.
# * FLEQ compiles only the functions a program uses; `mul` is the expensive one (about 2·2ᴺ units).
# * Integers and dyadic weights make floating point **exact** while the widest activation fits the
#   significand: a static O(log n + N)-bit budget, independent of the run length. That is the
#   log-precision regime of Merrill et al.; the Pérez construction, built on exact cancellation of
#   non-dyadic fractions, leaves it and breaks in float32 within about a hundred steps.

# %% [markdown]
# ## Checks
#
# The last cell asserts what this notebook showed, so running it is a test.

# %%
M, s = countdown.cells, countdown.size
# the punch card and the sizes
assert (model.n, len(model.space)) == (M + s + 1, 16) and model.summary().hidden == (3, 7, 8)
# loop 1 block by block: fetch column M + pc, read cell a = #1, read cell b = n; n 5 → 4, pc 0 → 1
assert [acts[f"loop.{l}.attn.winners"][0][0] for l in range(3)] == [M + 0, countdown.labels["#1"], countdown.labels["n"]]
assert all(max(acts["loop.0.attn.scores"][j]) == 0 for j in range(model.n))          # winners score exactly 0
assert read_state(model.labels, model.space, X1) == CardState(pc=1, mem=(4, 1, 0))
assert X1 == IntegerLoop.to_columns(fast.step(fast.to_array(X0))[0])    # the integer path agrees
# every loop: the heads attend to instruction pc, cell a and cell b of the instruction the interpreter runs
for (t, pc, heads, mem), state in zip(rows, reference.states[1:]):
    ins = countdown.code[pc] if pc < s else None
    assert heads == ([M + pc, ins.a, ins.b] if ins else [M + s, M + s, M + s]) and mem == state.memory
assert verification.ok and looped_trace.states == reference.states and looped_trace.value("n") == 0
# SUBLEQ-U: the write to cell 5 rewrote the instruction 'spin' (its target 3 → -1), then the machine halted
w2, ce = rows_of["win:w2"], rows_of["win:ce"]
assert (patch_loop.card_in[4][w2], patch_loop.card_in[4][ce]) == (3, 3)
assert (patch_loop.cards[-1][4][w2], patch_loop.cards[-1][4][ce]) == (-1, -1)
assert patch_trace.states == run(patch).states and patch_trace.halted and patch_trace.value("c") == -1
assert sum_trace.states == sum_reference.states and sum_trace.value("SUM") == 14
LIST = sum_ptr.labels["LIST"]
assert sorted({s.memory[p_cell] for s in sum_trace}) == list(range(LIST, LIST + 6))   # p walked over the list
# FLEQ: only the used functions are compiled; shr works; mul adds a block
assert bitlen_model.summary().functions == ("sub", "add", "shr") and len(bitlen_model.space) == 23 + 3
assert len(bitlen_model.transformer.blocks) == 4 and bitlen_check.ok and bitlen_trace.value("k") == 7
assert [fleq_loop.cards[0][0][bitlen_model.space.index(n)] for n in onehot] == [0, 0, 1]
assert all((d == 23 + len(f) + ("mul" in f)) and (blocks == 4 + ("mul" in f)) for _, _, f, d, blocks, _, _ in fleq_rows)
# precision: the Pérez weights break in float32 within a few hundred steps, the walker's within ~100
assert perez[("zig-zag walker", "float32", "sum")] <= 110 and perez[("binary counter", "float32", "sum")] < 1000
# the looped weights: 20,000 loops bit-exact in float32 and float64, and exact = interpreter
assert wrong == {"exact vs interpreter": 0, "float32 vs exact": 0, "float64 vs exact": 0}
assert max(fib_bits.values()) <= fib_model.summary().largest_integer.bit_length() <= 24
assert largest_entry.bit_length() <= 8
# where float32 runs out: 12-bit mul needs more than 24 bits; float64 is exact
assert fact6_bits > 24 and fact6_float["float32"] is not None and fact6_float["float32"][0] == 1
assert fact6_float["float64"] is None and fact6_bits <= 53
# O(log n + N): the bound grows by a bounded amount per doubling of n, and with N
for bits in (8, 16):
    n_, measured_, bound_ = (np.array([growth[bits, size][k] for size in sizes]) for k in range(3))
    assert (measured_ <= bits + np.log2(n_) + 4).all() and (bound_ >= measured_).all()
    slope = np.diff(measured_) / np.diff(np.log2(n_))
    assert (slope >= 0).all() and (slope <= 2).all(), (bits, slope)
assert all(growth[16, size][1] - growth[8, size][1] == 8 for size in sizes)     # one bit per bit of word
# a Turing machine compiled to SUBLEQ-U runs on the SUBLEQ-U weights and gives the simulator's trace
assert bb3_trace == bb3_reference and len(bb3_model.looped.space) == 23
assert bb3_cut.reason.value == "tape bound" and bb3_cut.states == bb3_reference.states[:bb3_cut.steps + 1]
print("all checks passed")

# %%
print(f"notebook computed in {time.perf_counter() - started:.0f} s")
