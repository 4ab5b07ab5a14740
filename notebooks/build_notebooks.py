"""Write the teaching notebooks 01–04 from the cells below (so they can be reviewed as text).

    .venv/bin/python notebooks/build_notebooks.py            # write the four .ipynb files
    .venv/bin/python notebooks/build_notebooks.py --execute  # write them and run them in place

Commit them executed, so they render without running. ``notebooks/05_precision.ipynb`` is not
built here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
%matplotlib inline
from IPython.display import display, HTML, Markdown"""


def md(text: str):
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    return new_code_cell(text.strip("\n"))


# ============================================================================ 01 quickstart
QUICKSTART = [
    md("""
# 01 · Quickstart: from a Turing machine to a transformer, and back

A **transformer** is the neural network behind today's language models. Pérez, Barceló and
Marinkovic proved in *Attention is Turing Complete* (JMLR 2021) that a transformer with a fixed
set of weights can **simulate any Turing machine**: given the machine's input, it writes out the
machine's run, one step per output.

`turingformer` builds those weights for a machine you give it, **exactly**: every weight and every
number the network computes is a rational number (a fraction), never a rounded float. Then it
runs the network and checks, step by step, that it really does what the machine does.

In this notebook we:

1. write a Turing machine as a few lines of YAML,
2. run it with an ordinary simulator,
3. compile it into a transformer,
4. run the transformer and read the machine's run back from its outputs,
5. verify that the two agree at every step.
"""),
    code(SETUP),
    md("""
## 1. A machine, written in YAML

Our machine adds one to a binary number (most significant bit first). It walks right to the end
of the number, then carries a 1 leftwards: every trailing `1` becomes `0`, and the first `0` (or
the blank in front of the number) becomes `1`. The blank symbol is `_`. A rule
`'1': ['0', L, carry]` in state `carry` means *reading 1: write 0, move left, go to state carry*.
"""),
    code('''
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
'''),
    md("""
The same machine as a **state diagram** (drawn from the machine's `networkx` graph, `machine.graph`):
each circle is a state, each arrow a rule, labelled `read→write,move`.
"""),
    code('''
from turingformer.views import figures as views

views.state_diagram(machine)
'''),
    md("""
## 2. Run it with the simulator

`run` is a plain Turing-machine simulator, the reference everything else is checked against. The
input `1011` is eleven in binary, so we expect `1100` (twelve). In the table the head's cell is in
brackets.
"""),
    code('''
from turingformer.tm.simulator import run

word = "1011"
reference = run(machine, word)
for configuration in reference:
    tape = configuration.tape
    cells = "".join(f"[{tape[c]}]" if c == configuration.head else tape[c]
                    for c in range(min(tape.offset, configuration.head), tape.offset + len(tape.cells)))
    print(f"step {configuration.step}: {configuration.state:<6} {cells}")
print(reference.summary())
'''),
    md("""
A **space-time diagram** shows the same run as a picture: one row per step (time runs down), one
column per tape cell; the outlined cell is where the head is, in the colour of the current state.
"""),
    code('''
views.spacetime(reference)
'''),
    md("""
## 3. Compile the machine into a transformer

`compile_machine` produces every weight of the network. The summary says how big it is:

* The construction needs the machine in a particular shape (it must start left of the input,
  first sweep over the input to read it, and always move). So the compiler first adds three
  **prelude** states, `⟨init⟩`, `⟨read⟩`, `⟨back⟩`, and a *marked blank*; this is the
  "normalisation".
* Every vector inside the network has **d = 2|Q'| + 4|Σ'| + 11** numbers, where |Q'| is the
  number of states and |Σ'| the number of symbols after normalisation.
* The network has one encoder layer (it reads the input) and three decoder layers (they compute
  one step of the machine each time the decoder produces an output).
"""),
    code('''
from turingformer.compiler.perez.construction import compile_machine

model = compile_machine(machine)
print("\\n".join(model.summary().lines()))
'''),
    md("""
Every dimension of those vectors has a **name**. The first ones, `q1:state=…`, hold the current
state as a *one-hot* vector (a 1 in the slot of the state, 0 elsewhere); `s1:symbol=…` hold the
symbol under the head; the last four, `x8 … x11`, hold the *positional encoding* 1, i+1, 1/(i+1),
1/(i+1)² that tells the network which step it is at.
"""),
    code('''
space = model.transformer.space
print(len(space), "dimensions:")
print(", ".join(space.names))
'''),
    md("""
## 4. Run the transformer

The transformer never looks at the rules: it only has its weights and the input. The decoder
produces one vector per step; `run_model` reads each output back as (state, symbol under the head,
last move) and rebuilds the machine's run from them. The first 2n + 3 outputs are the prelude
(reading the input); after that, every output is a step of our machine.
"""),
    code('''
from turingformer.compiler.perez.decoding import run_model

result = run_model(model, word)
decoded = result.trace
print(result)
print(f"{result.positions} decoder steps = {2 * len(word) + 3} prelude steps + {result.steps + 1} configurations of the machine")
print("first output y_1 =", {name: str(value) for name, value in zip(space.names, result.decoder_steps[0].y_out) if value})
print(result.summary)
'''),
    code('''
views.spacetime(decoded, title="The transformer's run, read back from its outputs")
'''),
    md("""
## 5. Verify: machine and transformer, side by side

`verify` runs both and compares them: the state, head position and whole tape at every step of the
machine, **and** inside the network, at every decoder step, the quantities the paper's lemmas
promise (the head position c, the last time ℓ the current cell was visited, and two bits
b1, b2 that the output layer uses). Grey rows are the prelude, which only the normalised machine has.
"""),
    code('''
from turingformer.analysis.verify import verify

verification = verify(machine, word)
views.verification_table(verification)
'''),
    md("""
It is not a coincidence for one input. Let us check every number from 0 to 31, written in binary:
"""),
    code('''
results = {}
for k in range(32):
    w = format(k, "b")
    v = verify(machine, w, model=model)
    final = v.decoded.final
    results[w] = (v.ok, final.tape.span(final.head)[1].strip("_"))
print(all(ok for ok, _ in results.values()), "-", " ".join(f"{w}→{out}" for w, (ok, out) in list(results.items())[:8]), "…")
'''),
    md("""
## Checks

The last cell asserts what this notebook showed, so running it is a test.
"""),
    code('''
assert verification.ok
assert decoded.states == reference.states and decoded.heads == reference.heads
assert decoded.final.tape.span(decoded.final.head)[1].strip("_") == "1100"
assert len(space) == model.summary().d == 2 * 6 + 4 * 4 + 11
assert all(ok for ok, _ in results.values())
assert all(out == format(int(w, 2) + 1, "b") for w, (_, out) in results.items())
print("all checks passed")
'''),
]


# ============================================================================ 02 inside
INSIDE = [
    md("""
# 02 · Inside the construction: one step, block by block

Notebook 01 showed *that* the transformer reproduces the machine. Here we open it up and follow
**one decoder step** through every block, with the exact numbers it computes, and tie each block
to the lemma of the paper that explains it (JMLR 2021 numbering, with the ICLR 2019 appendix
numbering after the slash):

| block | what it does | lemma |
|---|---|---|
| encoder + layer-1 cross-attention | read input symbol number i+1 (if there is one) | Lemma 7 / B.1 |
| layer-1 feed-forward net | apply the transition function δ | Lemma 8 / B.2 |
| layer-2 self-attention | compute the head position by averaging all moves so far | Lemma 9 / B.3 |
| layer-3 self-attention | find the last time the next cell was written | Lemma 10 / B.4 |
| output function F | decide which symbol the head will see next | (§6 of the spec) |

We use an **activation cache** (`run_with_cache`): it records every intermediate vector of every
step, by name, like TransformerLens does for real language models.
"""),
    code(SETUP + '''
from fractions import Fraction
from turingformer.tm.formats import loads_machine
from turingformer.analysis.inspect import run_with_cache, weights_latex, weights_table
from turingformer.views import figures as views
'''),
    md("""
## The machine

A tiny machine over {a, b}: it flips every letter (a↔b) walking right, turns round at the end,
walks back left and stops just after the front. On `ab` it leaves `ba`. It is small, but on its
way back it **reads cells it wrote itself**, which is the hard part for a transformer: the
network has no tape, only the list of its own past outputs.
"""),
    code('''
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
print("\\n".join(model.summary().lines()))
cache.trace_table()
'''),
    md("""
## What the transformer actually runs

The construction needs the machine to start on the cell *left* of the input and to sweep over the
whole input first (that is how the input gets onto the "tape", see Lemma 7 below). So the compiler
runs a normalised machine M': a prelude `⟨init⟩ ⟨read⟩… ⟨back⟩…` of 2n + 3 = 7 steps, then our
machine. M' cells are shifted by one: M's cell c is M' cell c + 1.

Each decoder position i reads the output y_i of the previous step: the state q(i), the symbol
under the head s(i) and the last move m(i−1). It computes y_{i+1}. The column *write v(i)* is what
the step writes, which the network keeps internally.
"""),
    code('''
cache.steps_table()
'''),
    code('''
views.spacetime(cache, normalised=True)
'''),
    md("""
## The step we follow

We follow **decoder position i = 10**: machine step 3, state `back`, reading `a` at M cell 1 (the
`a` the machine wrote itself at step 1, over the `b` of the input). The rule δ(back, a) = (back, a, L)
moves the head left onto M cell 0, which held `a` in the input but was **overwritten with `b`** at
step 0. So the network must answer "the next symbol is `b`", although the input says `a` there.

The vectors have d = 39 named dimensions, grouped in 17 blocks:

| block | holds (at position i) | written by |
|---|---|---|
| `q1 s1 x1` | state q(i), symbol s(i), move m(i−1): the input y_i | the previous output |
| `q2 s2 x2 x3` | next state q(i+1), written symbol v(i), moves m(i), m(i−1) | layer 1 (δ) |
| `x4 x5` | head positions c(i+1)/(i+1), c(i)/(i+1) | layer 2 |
| `s3 x6` | input symbol α(i+1) and its index β(i+1) = min(i+1, n) | layer 1 cross-attention |
| `s4 x7` | the symbol last written on cell c(i+1), and when, ℓ(i+1) | layer 3 |
| `x8 … x11` | positional encoding 1, i+1, 1/(i+1), 1/(i+1)² | added to the input |

The decoder's input at position i is y_i plus the positional encoding pos(i+1):
"""),
    code('''
i = 10
assert cache.machine_step(i) == 3
cache.table("decoder.1.resid_pre", i)
'''),
    md("""
## Encoder and layer-1 cross-attention: reading the input (Lemma 7 / B.1)

The encoder turns input symbol j into a key k_j = (j, −1) (in slots x8, x9) and a value
(⟦w_j⟧, j) (the one-hot of the symbol in `s3`, its index in `x6`). The decoder's query at
position i is its own vector, which has x8 = 1 and x9 = i+1, so the dot product is
⟨q, k_j⟩ = j − (i+1). The attention score is **−|⟨q, k_j⟩|**, and *hard* attention picks the
best score, so position i reads input symbol j = i+1 while there is one, and the last symbol
(j = n) after that. Here are the two maps of the encoder side:
"""),
    code('''
display(weights_latex(model, "decoder.1.cross.key"))
display(weights_latex(model, "decoder.1.cross.value"))
'''),
    md("""
For i = 10 the dot products over the two input positions j = 1, 2 are j − 11 = −10, −9: the
closest to zero is j = 2 = n, the last input symbol. The cross-attention adds α = ⟦w_2⟧ = ⟦b⟧ and
β = 2. (Past the input, this value is ignored by F: the read rule below explains why.)
"""),
    code('''
print("dot products j = 1..n:", [str(x) for x in cache.dot_products("decoder.1.cross", i)])
print("scores −|·|:         ", [str(x) for x in cache["decoder.1.cross.scores", i]])
print("winner: encoder position", [j + 1 for j in cache["decoder.1.cross.winners", i]])
cache.table("decoder.1.cross.out", i)
'''),
    md("""
During the prelude sweep (i < n) the same attention reads the input one symbol per step; this is
how the input gets "onto the tape" of the normalised machine:
"""),
    code('''
views.attention(cache, "decoder.1.cross")
'''),
    md("""
## Layer-1 feed-forward net: the transition function δ (Lemma 8 / B.2)

The feed-forward net has one hidden layer of σ units (σ(x) = 0 below 0, x on [0, 1], 1 above).
One unit per (state, symbol) pair computes σ(q1[q] + s1[s] − 1): it is 1 exactly for the current
pair and 0 for all others. The second layer is a lookup table: the unit of (q, s) writes
δ(q, s) = (next state, written symbol, move) into `q2`, `s2`, `x2`. Other hidden units copy the
input so that the output can subtract it (clearing `q1 s1 x1`) and pass the last move into `x3`.
"""),
    code('''
cache.table("decoder.1.ffn.hidden", i)
'''),
    md("The rows of the lookup table for the state `back` (input: pair units; output: the slots they write):"),
    code('''
weights_latex(model, "decoder.1.ffn.1", rows="pair:(back", cols=["q2", "s2", "x2"])
'''),
    md("After layer 1 the input blocks are cleared and δ(back, a) = (back, a, −1) is in place:"),
    code('''
cache.latex("decoder.1.resid_post", i)
'''),
    md("""
## Layer 2: where is the head? (Lemma 9 / B.3)

The head position is the sum of all moves so far: c(i+1) = m(0) + … + m(i). A transformer can't
sum, but attention can **average**. Layer 2's query map is zero, so every score is 0, all
positions j = 0..i tie, and hard attention with ties averages them all with weight 1/(i+1). Its
value map copies m(j) (x2) into x4 and m(j−1) (x3) into x5, so the average is
x4 = c(i+1)/(i+1) and x5 = c(i)/(i+1).
"""),
    code('''
display(weights_latex(model, "decoder.2.attn.value"))
print("pattern:", [str(w) for w in cache["decoder.2.attn.pattern", i]])
moves = [cache.slot("decoder.2.resid_pre", j, "x2") for j in range(i + 1)]
print("m(j) for j = 0..i:", [int(m) for m in moves], " sum =", sum(moves))
print("x4 =", cache.slot("decoder.2.resid_post", i, "x4"), " x5 =", cache.slot("decoder.2.resid_post", i, "x5"))
'''),
    md("""
The sum of the moves is 1: the next head position is M' cell 1 (M's cell 0), and x4 = 1/11.
Over the whole run, layer 2's pattern is a uniform triangle (drawn on a log scale, so the
shrinking weights 1/(i+1) stay visible):
"""),
    code('''
views.attention(cache, "decoder.2.attn")
'''),
    md("""
## Layer 3: the last write to the next cell (Lemma 10 / B.4)

Now the network must find what is on cell c(i+1). It looks for the **last position j ≤ i whose
head was on that cell**: that step wrote the current content. With ε_k = 1/(k+1) and
D_j = c(i+1) − c(j), the query and key maps are built so that

  χ_j = ⟨q_i, k_j⟩ = ε_i ε_j D_j + ε_i² ε_j² / 3

and the score is −|χ_j|. If the head was on the cell at step j (D_j = 0), |χ_j| is the tiny
ε_i²ε_j²/3, smaller for later j; otherwise |χ_j| is much larger. So the winner is the latest visit.
(If the cell was never visited, the winner is j = i, which F recognises.)
"""),
    code('''
display(weights_latex(model, "decoder.3.attn.query"))
display(weights_latex(model, "decoder.3.attn.key"))
display(weights_latex(model, "decoder.3.attn.value"))
'''),
    md("""
The actual dot products at i = 10, next to the closed form recomputed from the head positions of
the normalised machine (the value map sends the symbol written at step j, `s2`, to `s4`, and j to `x7`):
"""),
    code('''
heads = cache.normalised_trace().heads              # c(j) for j = 0..len
chi = cache.dot_products("decoder.3.attn", i)
eps = lambda k: Fraction(1, k + 1)
rows = []
for j, value in enumerate(chi):
    D = heads[i + 1] - heads[j]
    closed = eps(i) * eps(j) * D + eps(i) ** 2 * eps(j) ** 2 / 3
    assert value == closed
    rows.append(f"| {j} | {heads[j]} | {D} | {value} | {-abs(value)} | {'**winner**' if j in cache['decoder.3.attn.winners', i] else ''} |")
Markdown("| j | c(j) | D_j | χ_j | score −\\\\|χ_j\\\\| | |\\n|---|---|---|---|---|---|\\n" + "\\n".join(rows))
'''),
    md("""
Three positions were on the cell (D_j = 0): j = 1 (the prelude read `a` there), j = 5 (the prelude
walked back over it) and j = 7 (the machine's step 0, which wrote `b`). Their χ are 1/1452,
1/13068 and 1/23232; the latest, j = 7, is closest to zero and wins. Layer 3 copies what j = 7
wrote:
"""),
    code('''
cache.table("decoder.3.attn.out", i)
'''),
    code('''
views.attention(cache, "decoder.3.attn")
'''),
    md("""
## The output function F

F decides which symbol the head will see at step i+1, with two bits:
b1 = σ(x9 − x6) = [i+1 > n] (*the input has been read*) and b2 = σ(x7 − x9 + 2) = [ℓ(i+1) = i]
(*the cell is new*). Then

1. if b1 = 0: the symbol is the input symbol α (still reading the input),
2. if b1 = 1 and b2 = 1: the blank (a cell nobody visited),
3. if b1 = 1 and b2 = 0: the symbol layer 3 found.

Here b1 = 1 and b2 = 0, so rule 3 fires (unit `u3:b`), and y_11 says: state `back`, reading `b`,
last move −1. The cross-attention's α is also ⟦b⟧ here, but only by chance: past the input it
always holds the *last* input symbol w_2 = `b`, and b1 = 1 switches rule 1 (unit `u1`) off. The
`b` comes from layer 3, the symbol the machine wrote on that cell (the input had `a` there).
"""),
    code('''
display(cache.table("output.hidden.0", i))
display(cache.table("output.hidden.1", i))
cache.latex("output.y", i)
'''),
    md("""
## The whole step at a glance

The residual stream at position i = 10: rows are the stages (input, after each layer, output),
columns are the 39 named dimensions; the numbers are the exact values.
"""),
    code('''
views.residual(cache, i)
'''),
    md("""
## Checks

Everything above was read from the activations; the asserts tie it to the machine's run.
"""),
    code('''
from turingformer.analysis.verify import verify

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
assert r"\\frac{1}{11}" in cache.latex("decoder.2.resid_post", i)
assert cache.trace.final.tape.span(cache.trace.final.head)[1].strip("_") == "ba"
print("all checks passed")
'''),
]


# ============================================================================ 03 byo
BYO = [
    md("""
# 03 · Bring your own machine

Machines written for other simulators load directly:

* **turingmachine.io** (YAML with `table:` and `start state:`),
* **Morphett's** simulator at morphett.info (one rule per line: `state read write move next`),
* **bbchallenge** (the busy-beaver challenge's one-line format such as `1RB1LB_1LA1RZ`).

Each of these tools has its own conventions (the head starts on the input, the tape is
unbounded both ways, Morphett has "stay" moves `*`). The compiler normalises all that away. Here
we import one machine of each kind, compile it, verify it, and look at its attention patterns.

The files come from the project's shared corpus when it is next to the repository; otherwise the
notebook uses the same machines inlined below.
"""),
    code(SETUP + '''
from pathlib import Path
from turingformer.tm import formats
from turingformer.views import figures as views
from turingformer.compiler.perez.construction import compile_machine
from turingformer.analysis.inspect import run_with_cache
from turingformer.analysis.verify import verify

CORPUS = next((p for p in (Path("../../shared/corpus"), Path("/work/shared/corpus")) if p.is_dir()), None)
print("corpus:", CORPUS)

def source(relative: str, fallback: str) -> tuple[str, str]:
    """The text of a corpus file, or the inline copy."""
    if CORPUS is not None and (CORPUS / relative).is_file():
        return (CORPUS / relative).read_text(), f"corpus/{relative}"
    return fallback, "inline copy"
'''),
    md("""
## turingmachine.io: divisible by 3

A finite automaton in disguise: the state is the remainder of the binary number read so far.
"""),
    code('''
TMIO = """
# Divisible by 3: accepts binary numbers that are multiples of 3.
input: '1001'
blank: ' '
start state: q0
table:
  q0:
    0: R
    1: {R: q1}
    ' ': {R: accept}
  q1:
    0: {R: q2}
    1: {R: q0}
  q2:
    0: {R: q1}
    1: R
  accept:
"""
text, origin = source("turingmachine_io/divisible_by_3.yaml", TMIO)
tmio = formats.loads_machine(text, format="turingmachine.io")
print(origin, "->", tmio.name or "(no name)", "| states:", tmio.states, "| blank:", repr(tmio.blank))
views.state_diagram(tmio)
'''),
    code('''
results = {}
for number in (9, 10, 12, 21):
    w = format(number, "b")
    machine_for_run, w = formats.prepare_input(tmio, w)
    v = verify(machine_for_run, w)
    results[number] = v
    print(f"{number:>3} = {w:>6}: {v.reference.verdict.value:<8} ({v.reference.steps} steps, "
          f"{len(v.positions)} decoder steps) transformer agrees: {v.ok}")
'''),
    md("""
## Morphett: binary addition

Morphett's format writes one rule per line, `current-state read write move next-state`, with `*`
as a wildcard ("any symbol" / "don't change" / "don't move") and `_` as the blank. The importer
expands the wildcards; stay moves (`*`) are compiled as a right-then-left pair of steps.
"""),
    code('''
MORPHETT = """
; Binary addition - adds two binary numbers
; Input: two binary numbers, separated by a single space, eg '100 1110'

0 _ _ r 1
0 * * r 0
1 _ _ l 2
1 * * r 1
2 0 _ l 3x
2 1 _ l 3y
2 _ _ l 7
3x _ _ l 4x
3x * * l 3x
3y _ _ l 4y
3y * * l 3y
4x 0 x r 0
4x 1 y r 0
4x _ x r 0
4x * * l 4x    ; skip the x/y's
4y 0 1 * 5
4y 1 0 l 4y
4y _ 1 * 5
4y * * l 4y    ; skip the x/y's
5 x x l 6
5 y y l 6
5 _ _ l 6
5 * * r 5
6 0 x r 0
6 1 y r 0

7 x 0 l 7
7 y 1 l 7
7 _ _ r halt
7 * * l 7
"""
text, origin = source("morphett/binaryadd.txt", MORPHETT)
morphett = formats.loads_machine(text, format="morphett")
print(origin, "->", len(morphett.states), "states,", len(morphett.rules), "rules, stay moves:", morphett.has_stay_moves())
machine_for_run, w = formats.prepare_input(morphett, "11 1")
added = verify(machine_for_run, w)
final = added.decoded.final
print(f"input {w!r}: {added.reference.steps} machine steps, {len(added.positions)} decoder steps, "
      f"final tape {final.tape.span(final.head)[1]!r}, transformer agrees: {added.ok}")
'''),
    code('''
views.spacetime(added.decoded, title=f"Morphett binary addition on {w!r}, as the transformer ran it")
'''),
    md("""
## bbchallenge: the 3-state busy beaver

In the bbchallenge format a machine is one line: for each state, for each symbol read (0, 1),
*write, move, next state*; `Z` is the halting state. The blank is `0` and the machine starts on an
empty tape.
"""),
    code('''
BB3 = "1RB1RZ_1LB0RC_1LC1LA"
text, origin = source("bbchallenge/bb3_shift_champion.txt", BB3)
bb3 = formats.loads_machine(text, format="bbchallenge")
print(origin, "->", text.strip().splitlines()[-1])
cache = run_with_cache(bb3, "")
print(f"{cache.trace.steps} machine steps, {len(cache)} decoder steps, verdict {cache.trace.verdict.value}, "
      f"ones written: {cache.trace.final.tape.nonblank()}")
views.spacetime(cache)
'''),
    md("""
The **attention patterns** over the whole run. Left: layer 1's cross-attention reads the input;
here the input is empty, so there is nothing to attend to. Middle: layer 2 averages over all past
positions (its weights 1/(i+1) shrink, hence the log colour scale). Right: layer 3 points at the
last step that wrote the cell the head moves to. Where the head sweeps back and forth, the red
dots trace the zig-zag of the busy beaver; where the head enters a new cell, the dot sits on the
diagonal j = i (no earlier write: the blank).
"""),
    code('''
views.attention_patterns(cache)
'''),
    md("""
With a non-empty input the left panel comes alive: the diagonal is the prelude reading
the input, then the column at j = n (it keeps reading the last symbol, and F ignores it).
"""),
    code('''
machine_for_run, w = formats.prepare_input(tmio, "10101")
views.attention_patterns(run_with_cache(machine_for_run, w))
'''),
    md("## Checks"),
    code('''
assert verify(bb3, "").ok
assert cache.trace.steps == 21 and cache.trace.final.tape.nonblank() == 5
assert all(v.ok for v in results.values())
assert [v.reference.verdict.value for v in results.values()] == ["accept", "reject", "accept", "accept"]
assert added.ok and final.tape.span(final.head)[1].strip("_") == "100"
print("all checks passed")
'''),
]


# ============================================================================ 04 positions
POSITIONS = [
    md("""
# 04 · Why positions matter

Everything in a transformer is computed by attention (averages of vectors chosen by scores) and by
position-wise networks. Without a **positional encoding**, nothing tells the network *where* a
symbol is in the input. The paper makes this precise (**proportion invariance**, JMLR Prop. 3 /
ICLR Prop. 3.1): without positions, two inputs in which every symbol occurs in the same
**proportion** (`01`, `0011` and `0101` are all half 0s, half 1s) produce exactly the same
encoder result and hence the same outputs. Such a transformer cannot decide the language
0ⁿ1ⁿ: it accepts `0011` and `0101` alike.

We show this on the compiled machine for 0ⁿ1ⁿ, with and without positions.
"""),
    code(SETUP + '''
import dataclasses
from turingformer.tm.formats import load_machine
from turingformer.compiler.perez.construction import compile_machine
from turingformer.runtime.transformer import PositionalEncoding, Transformer, decode, encode
from turingformer.analysis.verify import verify
from turingformer.analysis.inspect import run_with_cache
from turingformer.views import figures as views

machine = load_machine("../machines/zeros_ones.yaml")
model = compile_machine(machine)
words = ["01", "0011", "0101"]
for w in words:
    v = verify(machine, w, model=model)
    print(f"{w:>5}: {v.reference.verdict.value:<7} ({v.reference.steps} machine steps)  transformer agrees: {v.ok}")
'''),
    md("""
## With positions: the encoder knows where each symbol is

The encoder's input at position j is the symbol's embedding plus pos(j) = (1, j, 1/j, 1/j²). Its
keys are (j, −1), so the decoder's cross-attention at step i picks input position min(i+1, n):
it reads the input **in order**. For `0011` and `0101` the symbols read at steps 0–3 differ:
"""),
    code('''
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
'''),
    md("""
## Remove the positions from the encoder

We build the same network, except that the encoder no longer adds pos(j) to its inputs. The
runtime is generic, so this is a small subclass of `Transformer` whose `embed` leaves the
positions out; every weight stays as it was, and the decoder keeps its own positions.
"""),
    code('''
@dataclasses.dataclass(frozen=True)
class NoEncoderPositions(Transformer):
    """The same weights, but the encoder input at position j is f(w_j) alone, without pos(j)."""

    def embed(self, tokens):
        return [self.space.vector(self.embedding[t]) for t in tokens]

no_positions = NoEncoderPositions(**{f.name: getattr(model.transformer, f.name)
                                     for f in dataclasses.fields(Transformer)})
for w in words:
    print(f"{w:>5}:", [" + ".join(f"{v}·{a}" for a, v in alpha.items()) for alpha in symbols_read(no_positions, w)])
'''),
    md("""
Now every key is the zero vector, every score is 0, every input position ties, and hard
attention **averages** the whole input: every step reads "½·0 + ½·1", the proportions, for all
three words. Since the input reaches the decoder only through this cross-attention, the
decoder's outputs are identical too, step for step, vector for vector:
"""),
    code('''
def outputs(transformer, w, steps=40):
    return [step.y_out for step in decode(transformer, list(w), max_steps=steps)]

same = {w: outputs(no_positions, w) for w in words}
with_positions = {w: outputs(model.transformer, w) for w in words}
print("without positions, identical outputs for 01, 0011, 0101:", same["01"] == same["0011"] == same["0101"])
print("with positions,    identical outputs for 0011 and 0101:  ", with_positions["0011"] == with_positions["0101"])
first = next(t for t, (a, b) in enumerate(zip(with_positions["0011"], with_positions["0101"])) if a != b)
print(f"with positions the runs on 0011 and 0101 first differ at output y_{first + 1}")
'''),
    md("""
The encoder outputs themselves: with positions each vector carries its index j (slot x9, written
`symbol@j` below); without, `0011` and `0101` give the *same multiset* of vectors, and `01` the
same vectors in the same proportions, which is all that averaging attention can see.
"""),
    code('''
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
'''),
    md("""
## Removing every position

The most literal version of the proposition: replace the positional encoding everywhere (encoder
and decoder) by zero, with `dataclasses.replace`. The network is now useless as a simulator,
but the point stands: it cannot tell the three words apart either.
"""),
    code('''
@dataclasses.dataclass(frozen=True)
class NoPositions(PositionalEncoding):
    def __call__(self, space, k):
        return tuple(space.zeros())

blind = dataclasses.replace(model.transformer, positional=NoPositions(*dataclasses.astuple(model.transformer.positional)))
blind_outputs = {w: outputs(blind, w, steps=20) for w in words}
print("no positions anywhere, identical outputs:", blind_outputs["01"] == blind_outputs["0011"] == blind_outputs["0101"])
'''),
    md("""
## What the real model does instead

With positions, the prelude reads the input one symbol per step (the diagonal at the top of the
heat map below), so the symbols arrive in order and the decisions differ: `0011` is accepted
after 13 steps of the machine, `0101` rejected after 5.
"""),
    code('''
views.attention(run_with_cache(model, "0101"), "decoder.1.cross",
                title="Layer-1 cross-attention on 0101, with positions: one input symbol per step")
'''),
    md("""
**Why this matters for the paper.** The positional encoding pos(i) = (1, i, 1/i, 1/i²) uses
numbers that grow without bound. With a fixed precision, there are only finitely many distinct
position vectors, and the same argument (applied to symbol–position pairs) shows that such a
transformer is not Turing complete. Unbounded precision is part of the theorem, not a detail
(`05_precision.ipynb` looks at what goes wrong with floats).

## Checks
"""),
    code('''
assert same["01"] == same["0011"] == same["0101"]
assert blind_outputs["01"] == blind_outputs["0011"] == blind_outputs["0101"]
assert with_positions["0011"] != with_positions["0101"]
assert encoder_multiset(no_positions, "0011") == encoder_multiset(no_positions, "0101")
assert encoder_multiset(model.transformer, "0011") != encoder_multiset(model.transformer, "0101")
assert [verify(machine, w, model=model).reference.verdict.value for w in words] == ["accept", "accept", "reject"]
assert all(verify(machine, w, model=model).ok for w in words)
print("all checks passed")
'''),
]


NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_inside_the_construction.ipynb": INSIDE,
    "03_bring_your_own_machine.ipynb": BYO,
    "04_why_positions_matter.ipynb": POSITIONS,
}


def build(cells) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with the Python 3 kernel (also used by build_05_precision.py)."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def execute(path: Path) -> float:
    """Run the notebook at ``path`` in place, from this folder; returns the seconds it took."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(HERE)}}).execute()
    elapsed = time.perf_counter() - start
    nbformat.write(nb, path)
    return elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--execute", action="store_true", help="run each notebook in place after writing it")
    parser.add_argument("names", nargs="*", help="only these notebooks (file names)")
    args = parser.parse_args(argv)
    for name, cells in NOTEBOOKS.items():
        if args.names and name not in args.names:
            continue
        path = HERE / name
        nbformat.write(build(cells), path)
        if args.execute:
            print(f"{name}: executed in {execute(path):.1f} s", file=sys.stderr)
        else:
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
