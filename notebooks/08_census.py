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
# # 08 · The census: every small machine, verified
#
# The other notebooks verify machines someone picked. This one asks the question for a whole
# **class**: does the compiled transformer agree with the machine on *every* 2-state and 3-state
# machine of bbchallenge's tree normal form (TNF), and where does each first break when the same
# weights run in float32 or float64?
#
# The census itself is a command (`turingformer census`, see docs/census.md); it writes one
# Parquet row per machine. Here we (1) run the small 2-state census live, (2) load the published
# 3-state census with pandas and look at it, and (3) plot where the **inexact** float modes
# first diverge.

# %%
# %matplotlib inline
import tempfile
from pathlib import Path

import pandas as pd

from turingformer.analysis.census import run_census
from turingformer.tm.tnf import tnf_machines
from turingformer.views.census import divergence_histogram

ROOT = Path.cwd().parent if Path.cwd().name == "notebooks" else Path.cwd()
PUBLISHED = ROOT / "benchmarks" / "census" / "bb3.parquet"

# %% [markdown]
# ## 1. The class: Brady's tree normal form
#
# `tnf_machines(n, m)` grows machines the way bbchallenge does: start from `A0 → 1RB`, run on the
# blank tape, and whenever the run reads an undefined transition, branch on every way to define it
# (the halting `1RZ`, or any write, move and already-used-or-next state). The leaves are the
# class. With 2 states there are 41 of them:

# %%
two = list(tnf_machines(2, 2, max_steps=100))
print(len(two), "machines, e.g.", ", ".join(two[:4]), "...")

# %% [markdown]
# ## 2. A census, live
#
# `run_census` compiles each machine, decodes the blank input with the exact fast decoder, compares
# it with the simulator at every step, and runs the float modes of the same weights. `workers=0`
# runs in this process; on a laptop the default is one worker process per core, and
# `scheduler="tcp://HOST:PORT"` sends the chunks to a Dask cluster.

# %%
with tempfile.TemporaryDirectory() as tmp:
    summary = run_census(Path(tmp) / "bb2.parquet", states=2, max_steps=100, dtypes=("float32", "float64"),
                         workers=0)
    bb2 = pd.read_parquet(Path(tmp) / "bb2.parquet", dtype_backend="pyarrow")
print(summary.line())
bb2.head(8)

# %% [markdown]
# The busy beavers are found in the table: the most steps of a halting machine (S(2) = 6) and the
# most ones it leaves (Σ(2) = 4).

# %%
bb2[bb2.halted].sort_values(["steps", "nonblank"], ascending=False).head(3)[["machine", "steps", "nonblank", "agrees"]]

# %% [markdown]
# ## 3. The published 3-state census
#
# `python benchmarks/census.py` wrote every 3-state TNF machine (4,057 of them, 100 steps) to
# `benchmarks/census/bb3.parquet`. Parquet files load into pandas (or DuckDB, or polars) in one line.

# %%
def champions(census: pd.DataFrame, states: int, steps: int) -> pd.DataFrame:
    """Print what a census found (halting machines, disagreements, S and Σ); return its halting rows."""
    halting = census[census.halted]
    print(f"{len(census):,} machines, {len(halting):,} halt within {steps} steps, "
          f"{int((~census.agrees).sum())} disagree with the simulator")
    print(f"S({states}) =", halting.steps.max(), "by", halting.loc[halting.steps.idxmax(), "machine"])
    print(f"Σ({states}) =", halting.nonblank.max(), "by", halting.loc[halting.nonblank.idxmax(), "machine"])
    return halting


bb3 = pd.read_parquet(PUBLISHED, dtype_backend="pyarrow")
halting = champions(bb3, 3, 100)

# %% [markdown]
# How wide is the compiled residual stream? d = 2|Q'| + 4|Σ'| + 11 depends only on the states of
# the table: a machine with a halting transition has the extra state Z, so every halting machine
# compiles to d = 37 and every other one to d = 35.

# %%
pd.crosstab(bb3.d, bb3.halted, margins=True)

# %% [markdown]
# ## 4. Where the float modes break
#
# `first_divergence_float32` is the first *decoder* step at which the float32 run of the same
# weights reads a different configuration than the exact run (null: none within the steps
# compared). These are **measurements of rounding, not of the construction**: the exact runtime
# is the model. Within 100 machine steps float64 never diverges. float32 diverges on about one
# machine in nine, always a machine that does not halt (the halting ones stop within 25 decoder
# steps), and always between decoder steps 70 and 105. That is where layer 3 can no longer tell the
# latest write to a cell from an older one (docs/precision.md).

# %%
divergence_histogram(bb3, title="TNF machines with 3 states, 2 symbols, 100 machine steps")

# %%
diverging = bb3[bb3.first_divergence_float32.notna()]
diverging.groupby("halted").first_divergence_float32.describe()

# %% [markdown]
# ## 5. Machines with 4 states
#
# The census decodes machines in batches, exactly, beside float32 and float64 runs of the same
# weights (docs/census.md), about 2 ms of CPU per 4-state machine for 107 steps (S(4): from there
# on the class no longer changes). `turingformer census --states 4 --max-steps 107 --dtype
# float32,float64` ran all 620,261 TNF machines with 4 states; `benchmarks/census/bb4.parquet` keeps
# the result without its timing and empty columns (the row number is the enumeration index).

# %%
bb4 = pd.read_parquet(ROOT / "benchmarks" / "census" / "bb4.parquet", dtype_backend="pyarrow")
halting4 = champions(bb4, 4, 107)

# %%
divergence_histogram(bb4, title="TNF machines with 4 states, 2 symbols, 107 machine steps")

# %% [markdown]
# ## Checks

# %%
assert len(two) == 41 and summary.machines == 41 and summary.divergences == 0
assert (summary.S, summary.sigma) == (6, 4)
assert len(bb3) == 4057 and bool(bb3.agrees.all())
assert halting.steps.max() == 21 and halting.nonblank.max() == 6
assert bb3.first_divergence_float64.isna().all()
assert set(bb3.d) == {35, 37} and bool((bb3.d == 37).eq(bb3.halted).all())
assert not diverging.halted.any()
assert diverging.first_divergence_float32.between(1, 2 * 100 + 4).all()
assert len(bb4) == 620_261 and bool(bb4.agrees.all()) and bb4.first_divergence.isna().all()
assert (halting4.steps.max(), halting4.nonblank.max()) == (107, 13)
assert bb4.first_divergence_float64.isna().all() and not bb4[bb4.first_divergence_float32.notna()].halted.any()
