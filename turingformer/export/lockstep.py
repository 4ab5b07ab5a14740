"""An export beside the exact model, step by step: where does the float run first diverge?

:func:`check` runs the model's **own** decoding over a *pair runner*: a runner of the model's
network (compiler/protocol.py, *Runners*) that steps the export and the exact runtime together —
:func:`turingformer.runtime.fast.decode_fast` for an encoder–decoder,
:class:`turingformer.runtime.looped.IntegerLoop` for a looped network — and compares them after
every network step, in the order the network computes:

1. every attention decision: the winner set of each attention of each layer (``decoder.3.attn.winners``,
   ``decoder.1.cross.winners``; ``loop.1.attn.0.winners`` per query column);
2. the network's output: y_{i+1} (``output.y``) or the punch card after the loop, entry by entry,
   against the exact value rounded to float64 (the only float the exact value can be).

The first mismatch is a :class:`~turingformer.compiler.protocol.Divergence` naming the step (a
decoder step or a loop), the hook, the dimension or column, and both values. Since the tokens or
the card come from the model's own run, the comparison needs no knowledge of the construction.
The check stops after ``steps`` network steps, at the first divergence, when the exact run halts
or when ``progress`` asks (then :attr:`Check.interrupted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from turingformer.compiler.protocol import Divergence, Model
from turingformer.export.spec import run_on
from turingformer.runtime.looped import IntegerLoop, LoopedTransformer
from turingformer.runtime.transformer import Transformer, head_names


@dataclass(frozen=True)
class Check:
    """The outcome of :func:`check`: ``checked`` network steps (``unit``) agreed; ``divergence``
    is the first disagreement (None: none within them)."""

    checked: int
    unit: str
    divergence: Divergence | None
    limit: int
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def verdict(self) -> str:
        if self.divergence is not None:
            return f"DIVERGENCE: the export's {self.divergence}"
        end = (" (interrupted)" if self.interrupted else
               f" (the run ended before {self.limit:,})" if self.checked < self.limit else "")
        return (f"the export agrees with the exact model at each of {self.checked:,} {self.unit}s{end}: every "
                "attention decision and every output")


class _Stop(Exception):
    """Ends the model's run once the check has what it needs."""


class _Pair:
    """What both pair runners share: the count, the limit, the divergence."""

    def __init__(self, runner, limit: int, space):
        self.runner, self.limit, self.names = runner, limit, space.names
        self.checked = 0
        self.divergence: Divergence | None = None

    def diverged(self, divergence: Divergence) -> None:
        self.divergence = divergence
        raise _Stop

    def counted(self) -> None:
        self.checked += 1
        if self.checked >= self.limit:
            raise _Stop

    def compare_vector(self, step: int, unit: str, where: str, exact: Sequence, got: np.ndarray,
                       column: int | None = None) -> None:
        expected = np.array([float(v) for v in exact])
        wrong = np.flatnonzero(~(expected == got))
        if len(wrong):
            k = int(wrong[0])
            self.diverged(Divergence(step, unit, where, self.names[k], exact[k], float(got[k]), column))


class _PairDecoder(_Pair):
    """A decoder function: the exact decoder and the export's, in lockstep (module docstring)."""

    unit = "decoder step"

    def __init__(self, runner, limit: int, transformer: Transformer):
        super().__init__(runner, limit, transformer.space)
        self.tolerance = getattr(runner, "tolerance", 0.0)
        self.hooks = []
        for l, layer in enumerate(transformer.decoder, start=1):
            self.hooks += [f"{name}.winners" for name in head_names(f"decoder.{l}", 1)]
            if layer.cross is not None:
                self.hooks.append(f"decoder.{l}.cross.winners")

    def __call__(self, transformer, tokens, *, max_steps: int, stop, capture=()):
        from turingformer.runtime.fast import decode_fast
        wanted = {*self.hooks, *(capture or ())}
        exact = decode_fast(transformer, tokens, max_steps=max_steps, stop=stop, capture=wanted)
        for want, got in zip(exact, self.runner(transformer, tokens, max_steps=max_steps, stop=stop, capture=wanted)):
            for hook in self.hooks:
                chosen, expected = np.flatnonzero(got.activations[hook]), np.asarray(want.activations[hook])
                if not np.array_equal(chosen, expected):
                    self.diverged(Divergence(want.i, self.unit, hook, "attended positions", tuple(expected.tolist()),
                                             tuple(chosen.tolist()), detail="a different attention decision"))
            self.compare_vector(want.i, self.unit, "output.y", want.y_out, np.asarray(got.y_out))
            yield got
            self.counted()


class _PairLoop(_Pair):
    """A loop runner: the exact integer path and the export's, in lockstep (module docstring)."""

    unit = "loop"

    def __init__(self, runner, limit: int, network: LoopedTransformer):
        super().__init__(runner, limit, network.space)
        self.exact = IntegerLoop(network)
        self.heads = [head_names(f"loop.{l}", len(block.heads)) for l, block in enumerate(network.blocks)]
        self.X = None

    def to_array(self, card):
        self.X = self.exact.to_array(card)
        return self.runner.to_array(card)

    def step(self, X):
        t = self.checked + 1
        self.X, exact_winners = self.exact.step(self.X)
        out, decisions = self.runner.step(X)
        for names, want, got in zip(self.heads, exact_winners, decisions):
            for name, columns, mask in zip(names, want, got):
                for j, w in enumerate(columns):
                    chosen = tuple(int(k) for k in np.flatnonzero(mask[j]))
                    if chosen != (int(w),):
                        self.diverged(Divergence(t, self.unit, f"{name}.winners", "attended columns", (int(w),), chosen,
                                                 column=j, detail="a different attention decision"))
        for j in range(self.X.shape[1]):
            self.compare_vector(t, self.unit, "card", self.X[:, j], out[:, j], column=j)
        self.counted()
        return out, decisions


def check(model: Model, runner, steps: int, input: str | None = None, *, progress=None) -> Check:
    """Run ``runner`` (an export's) beside the exact runtime on ``model``'s own run of ``input`` for
    at most ``steps`` network steps (module docstring)."""
    network = model.network
    pair = (_PairDecoder(runner, steps, network) if isinstance(network, Transformer)
            else _PairLoop(runner, steps, network))
    interrupted = False
    if steps:
        try:
            run = run_on(model, pair, input, progress=progress)
        except _Stop:
            pass
        else:
            interrupted = run.interrupted
    return Check(pair.checked, pair.unit, pair.divergence, steps, interrupted)
