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
# # 03 · Bring your own machine
#
# Machines written for other simulators load directly:
#
# * **turingmachine.io** (YAML with `table:` and `start state:`),
# * **Morphett's** simulator at morphett.info (one rule per line: `state read write move next`),
# * **bbchallenge** (the busy-beaver challenge's one-line format such as `1RB1LB_1LA1RZ`).
#
# Each of these tools has its own conventions (the head starts on the input, the tape is
# unbounded both ways, Morphett has "stay" moves `*`). The compiler normalises all that away. Here
# we import one machine of each kind, compile it, verify it, and look at its attention patterns.
#
# The files come from the project's shared corpus when it is next to the repository; otherwise the
# notebook uses the same machines inlined below.

# %%
# %matplotlib inline
from IPython.display import display, HTML, Markdown
from pathlib import Path
from turingformer.tm import formats
from turingformer.views import figures as views
from turingformer.compiler.perez.construction import compile_machine
from turingformer.analysis.inspect import run_with_cache
from turingformer.compiler.perez.verify import verify

CORPUS = next((p for p in (Path("../../shared/corpus"), Path("/work/shared/corpus")) if p.is_dir()), None)
print("corpus:", CORPUS)

def source(relative: str, fallback: str) -> tuple[str, str]:
    """The text of a corpus file, or the inline copy."""
    if CORPUS is not None and (CORPUS / relative).is_file():
        return (CORPUS / relative).read_text(), f"corpus/{relative}"
    return fallback, "inline copy"


# %% [markdown]
# ## turingmachine.io: divisible by 3
#
# A finite automaton in disguise: the state is the remainder of the binary number read so far.

# %%
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

# %%
results = {}
for number in (9, 10, 12, 21):
    w = format(number, "b")
    machine_for_run, w = formats.prepare_input(tmio, w)
    v = verify(machine_for_run, w)
    results[number] = v
    print(f"{number:>3} = {w:>6}: {v.reference.verdict.value:<8} ({v.reference.steps} steps, "
          f"{len(v.positions)} decoder steps) transformer agrees: {v.ok}")

# %% [markdown]
# ## Morphett: binary addition
#
# Morphett's format writes one rule per line, `current-state read write move next-state`, with `*`
# as a wildcard ("any symbol" / "don't change" / "don't move") and `_` as the blank. The importer
# expands the wildcards; stay moves (`*`) are compiled as a right-then-left pair of steps.

# %%
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

# %%
views.spacetime(added.decoded, title=f"Morphett binary addition on {w!r}, as the transformer ran it")

# %% [markdown]
# ## bbchallenge: the 3-state busy beaver
#
# In the bbchallenge format a machine is one line: for each state, for each symbol read (0, 1),
# *write, move, next state*; `Z` is the halting state. The blank is `0` and the machine starts on an
# empty tape.

# %%
BB3 = "1RB1RZ_1LB0RC_1LC1LA"
text, origin = source("bbchallenge/bb3_shift_champion.txt", BB3)
bb3 = formats.loads_machine(text, format="bbchallenge")
print(origin, "->", text.strip().splitlines()[-1])
cache = run_with_cache(bb3, "")
print(f"{cache.trace.steps} machine steps, {len(cache)} decoder steps, verdict {cache.trace.verdict.value}, "
      f"ones written: {cache.trace.final.tape.nonblank()}")
views.spacetime(cache)

# %% [markdown]
# The **attention patterns** over the whole run. Left: layer 1's cross-attention reads the input;
# here the input is empty, so there is nothing to attend to. Middle: layer 2 averages over all past
# positions (its weights 1/(i+1) shrink, hence the log colour scale). Right: layer 3 points at the
# last step that wrote the cell the head moves to. Where the head sweeps back and forth, the red
# dots trace the zig-zag of the busy beaver; where the head enters a new cell, the dot sits on the
# diagonal j = i (no earlier write: the blank).

# %%
views.attention_patterns(cache)

# %% [markdown]
# With a non-empty input the left panel comes alive: the diagonal is the prelude reading
# the input, then the column at j = n (it keeps reading the last symbol, and F ignores it).

# %%
machine_for_run, w = formats.prepare_input(tmio, "10101")
views.attention_patterns(run_with_cache(machine_for_run, w))

# %% [markdown]
# ## Checks

# %%
assert verify(bb3, "").ok
assert cache.trace.steps == 21 and cache.trace.final.tape.nonblank() == 5
assert all(v.ok for v in results.values())
assert [v.reference.verdict.value for v in results.values()] == ["accept", "reject", "accept", "accept"]
assert added.ok and final.tape.span(final.head)[1].strip("_") == "100"
print("all checks passed")
