"""The one interface of every construction and every model (docs/architecture.md, "The protocol").

The pipeline is the same calls for every kind of computation::

    source  (a TuringMachine, a SUBLEQ / FLEQ program: anything with a ``source_kind``)
      → construction = registry.construction_for(source, name)     one registered Construction
      → model = construction.compile(source, **options)            a Model: weights + labels
      → run = model.run(input, max_steps=…, progress=…)            a Run: the trace, from the weights alone
      → verification = construction.verify(source, input, model=model)   a Verification against the reference

* A :class:`Construction` has a ``name``, the source kinds it accepts (``sources``), its
  ``options`` (which become ``compile``'s keyword arguments and the CLI's flags), the ``model_kind``
  it produces, a size guard (:meth:`Construction.check`, called before any weight is built),
  ``compile`` and ``verify``. It only produces weights; its verification compares the network with
  an independent reference (the simulator, the interpreter), never with itself.
* A :class:`Model` has ``run`` (streaming, honouring ``progress`` the same way for every kind),
  ``summary()``, a bounded ``repr``, and its model-file body reader and writer beside its class
  (``to_json`` / ``from_json``); ``turingformer/modelfile.py`` keeps only the envelope.
* A :class:`Run` prints itself the same way for every kind (``json_lines``, ``table_lines``,
  ``summary_text``) because its trace does (:class:`RunTrace`).
* A :class:`Verification` has ``.ok``, a typed ``.divergence`` (:class:`Divergence`) and ``.table()``.

**Runners.** ``model.run(input, runner=R)`` runs the same weights on another runner ``R`` (an
export to PyTorch or ONNX, :mod:`turingformer.export`) and reads its outputs back with the model's
own decoding; None is the exact runtime. What a runner is follows the shape of ``model.network``,
never the construction: for a :class:`~turingformer.runtime.transformer.Transformer` it is a
decoder function with the contract of :func:`turingformer.runtime.transformer.decode` (yielding
``Step`` objects, and with an optional ``tolerance`` attribute the reader allows); for a
:class:`~turingformer.runtime.looped.LoopedTransformer` an object with the ``to_array(card)`` /
``step(X) -> (X', decisions)`` of :class:`~turingformer.runtime.looped.IntegerLoop`.
:meth:`Model.halting` says, in named dimensions, when a run of the network is over, so that a
runner outside this package (an ONNX ``Loop``'s condition) can stop by itself.

**Progress.** ``progress(done) -> bool | None`` is called with the steps (machine steps or loops)
done so far; when it returns True the run stops at the next consistent point and its trace ends
interrupted (``HaltReason.INTERRUPTED`` / ``ProgramTrace.interrupted``). The CLI's Ctrl-C asks
exactly this, so every kind keeps its partial run (exit 130).

This module imports nothing of the sources or the runtime: a process that loads a model file
imports only that model's own modules.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Protocol, Sequence, runtime_checkable

from turingformer.errors import SourceKindError, shorten

#: ``progress(done)``: the steps done so far; return True to stop the run there (module docstring).
Progress = Callable[[int], "bool | None"]

#: The source kinds of the built-in sources (the ``source_kind`` of their classes).
TURING_MACHINE = "turing-machine"

#: How many characters a repr shows of any one value.
REPR_LIMIT = 200


def source_kind(source: Any) -> str:
    """The kind of a source: its class's ``source_kind`` (``"turing-machine"``, ``"subleq-h"``, …)."""
    kind = getattr(type(source), "source_kind", None)
    if not isinstance(kind, str):
        raise SourceKindError(f"{type(source).__name__} is not a source a construction compiles",
                              hint="load a machine or a program first: turingformer.load(PATH)")
    return kind


# ---------------------------------------------------------------------------- constructions
@dataclass(frozen=True)
class Option:
    """One option of a construction: a keyword of ``compile`` and a CLI flag ``--name-with-dashes``.

    ``parse`` turns the CLI's text into the value (``int``, a validating function, …; None keeps
    the text); ``choices`` limits the values.
    """

    name: str
    help: str
    default: Any = None
    choices: tuple[str, ...] | None = None
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


class Construction(ABC):
    """A way to turn a source into the weights of a transformer (one per registry entry).

    Subclasses set the class attributes and implement :meth:`compile` and :meth:`verify`; a
    construction module may import the sources' layers (``tm``, ``programs``) and the runtime,
    never ``modelfile``, ``analysis``, ``views`` or ``cli``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    #: The source kinds this construction compiles (``source_kind`` values).
    sources: ClassVar[tuple[str, ...]]
    #: The model-file kind of the models it produces (a registered :class:`Model` class).
    model_kind: ClassVar[str]
    options: ClassVar[tuple[Option, ...]] = ()
    #: Whether a run takes an input word (a Turing machine) or runs the source's own data (a program).
    takes_input: ClassVar[bool] = True
    #: Options of its models' ``run`` beyond the protocol's (e.g. which exact decoder); CLI flags too.
    run_options: ClassVar[tuple[Option, ...]] = ()

    def __repr__(self) -> str:
        return f"<construction {self.name!r}: {', '.join(self.sources)} -> {self.model_kind}>"

    def check(self, source: Any, **options: Any) -> None:
        """Refuse, before building anything, a source this construction cannot compile in
        reasonable size (raise a :class:`~turingformer.errors.TuringformerError` that states the
        limit and why). The default accepts everything."""

    @abstractmethod
    def compile(self, source: Any, **options: Any) -> "Model":
        """The model of ``source``; ``options`` are this construction's :attr:`options`."""

    @abstractmethod
    def verify(self, source: Any, input: str | None = None, *, model: "Model | None" = None,
               max_steps: int | None = None, progress: Progress | None = None,
               rows: int | None = None, **options: Any) -> "Verification":
        """Run ``model`` (compiled from ``source`` when None) beside the independent reference
        and compare them at every step (keeping at most ``rows`` table rows)."""

    def listing(self, source: Any, input: str | None = None, **options: Any) -> str | None:
        """What the construction makes of ``source`` before any weight, as text (e.g. the program
        a machine compiles into), or None when it has nothing to show (``turingformer show --construction``)."""
        return None


# ---------------------------------------------------------------------------- runs
@runtime_checkable
class RunTrace(Protocol):
    """What every trace (a machine's :class:`~turingformer.tm.trace.Trace`, a program's
    :class:`~turingformer.programs.trace.ProgramTrace`) offers, so that every run prints the same way."""

    @property
    def steps(self) -> int: ...

    @property
    def halted(self) -> bool: ...

    @property
    def interrupted(self) -> bool: ...

    def summary(self) -> dict: ...

    def json_lines(self, *, steps: bool = True, extra: dict | None = None, delta: bool = False) -> Iterator[str]: ...

    def table_lines(self) -> Iterator[str]: ...

    def summary_text(self) -> str: ...


@dataclass(frozen=True, repr=False)
class Run:
    """A model's run: the ``trace`` decoded from the weights alone (the same shape as the
    reference's, so that ``run --json`` and ``simulate --json`` are the same lines), the input it
    ran on, how many network steps it took (``network_steps``: decoder positions or loops, in
    ``network_unit``), and notes a reader should see (e.g. the head left a bounded tape)."""

    trace: RunTrace
    input: str | None
    network_steps: int
    network_unit: str
    notes: tuple[str, ...] = ()

    @property
    def steps(self) -> int:
        return self.trace.steps

    @property
    def halted(self) -> bool:
        return self.trace.halted

    @property
    def interrupted(self) -> bool:
        return self.trace.interrupted

    @property
    def summary(self) -> dict:
        return self.trace.summary()

    def json_lines(self, *, steps: bool = True, extra: dict | None = None, delta: bool = False) -> Iterator[str]:
        return self.trace.json_lines(steps=steps, extra=extra, delta=delta)

    def table_lines(self) -> Iterator[str]:
        return self.trace.table_lines()

    def summary_text(self) -> str:
        return self.trace.summary_text()

    def __repr__(self) -> str:
        shown = "" if self.input is None else f"input={shorten(self.input)}, "
        return (f"Run({shown}steps={self.steps:,}, halted={self.halted}, "
                f"{self.network_unit}s={self.network_steps:,}{', interrupted' if self.interrupted else ''})")


# ---------------------------------------------------------------------------- models
@dataclass(frozen=True)
class Halting:
    """When a run of the network is over, in named residual dimensions: after the step whose
    output (a decoder's y_{i+1}; a looped model's card after a loop, read in its first column)
    holds ``value`` in every dimension of ``dims``. What an exported network's own loop tests
    (module docstring, *Runners*); the model's decoding stays the authority on the trace."""

    dims: tuple[str, ...]
    value: int


class Summary(ABC):
    """What ``turingformer compile`` and ``inspect`` print about a model, one fact per line."""

    @abstractmethod
    def lines(self) -> list[str]: ...


class Model(ABC):
    """Weights and the labels that read their outputs back — nothing else of the source.

    Subclasses are frozen dataclasses; they set :attr:`kind` (the model-file kind) and implement
    the abstract methods (their fields must not reuse the protocol's property names —
    ``construction``, ``name``, ``network`` — or the dataclass takes the property as a default). The JSON body (everything but the envelope's ``format``, ``version``,
    ``kind``, ``digest`` and ``source``) is written by :meth:`to_json` and read back, validated in
    full, by :meth:`from_json` with the shared readers of :mod:`turingformer.runtime.serialize`.
    """

    kind: ClassVar[str]
    #: What this model was compiled from — the source object, or a model file's record of it
    #: (:class:`turingformer.modelfile.Source`) — set by :func:`turingformer.compile` and by
    #: loading a model file; ``verify`` re-runs the reference on it. Never read by :meth:`run`.
    source: Any = None

    @property
    @abstractmethod
    def construction(self) -> str:
        """The registry name of the construction that built this model."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The name of the computation (the machine's or the program's name; may be empty)."""

    @property
    @abstractmethod
    def network(self) -> Any:
        """The runtime weights (a :class:`~turingformer.runtime.transformer.Transformer` or a
        :class:`~turingformer.runtime.looped.LoopedTransformer`): what ``inspect`` and the exports read."""

    @abstractmethod
    def run(self, input: str | None = None, *, max_steps: int | None = None,
            progress: Progress | None = None, runner: Any = None) -> Run:
        """Run on ``input`` (None: the model's own input, e.g. a program's memory) from the
        weights alone; stops at ``max_steps`` steps (machine steps or loops) or when ``progress``
        asks; ``runner`` runs :attr:`network` instead of the exact runtime (module docstring)."""

    def halting(self) -> Halting | None:
        """When a run of :attr:`network` is over, in named dimensions (module docstring); None when
        only the model's decoding can tell."""
        return None

    @abstractmethod
    def summary(self) -> Summary: ...

    @abstractmethod
    def to_json(self) -> dict:
        """The body of this model's model file."""

    @classmethod
    @abstractmethod
    def from_json(cls, data: dict, reader) -> "Model":
        """The model of a model-file document (``reader``: a
        :class:`~turingformer.runtime.serialize.JsonReader` naming the file in errors); validates
        every entry it reads and refuses keys it does not know (the envelope's keys aside)."""

    def check_input(self, input: str | None) -> None:
        """Refuse an input this model cannot run (a :class:`~turingformer.errors.InputError`)."""

    def held_input(self) -> str | None:
        """The input word the model itself holds (a tape on its punch card), which a run without an
        input runs; None when the input comes at run time (then the default is a recorded example
        of the source) or when there is no input word (a program)."""
        return None

    def with_source(self, source: Any) -> "Model":
        """This model, remembering ``source`` as :attr:`source` (its provenance; the weights are
        untouched)."""
        object.__setattr__(self, "source", source)
        return self

    def __repr__(self) -> str:
        name = f"{shorten(self.name)}, " if self.name else ""
        return f"{type(self).__name__}({name}construction={self.construction!r}, {self._repr_sizes()})"

    def _repr_sizes(self) -> str:
        """Sizes for the bounded repr (subclasses add what they have)."""
        network = self.network
        return f"d={len(network.space)}, nonzero_weights={network.nonzero_weights():,}"

    def _repr_html_(self) -> str:
        import html
        rows = "".join(f"<tr><td style='text-align:left'>{html.escape(line)}</td></tr>" for line in self.summary().lines())
        return (f"<div><b>{html.escape(type(self).__name__)} of {html.escape(self.name or 'a computation')}</b> "
                f"(construction {html.escape(self.construction)})"
                f"<table style='border-collapse:collapse;font-family:monospace'>{rows}</table></div>")


#: The fields every envelope has; a body must not use them.
ENVELOPE_KEYS = ("format", "version", "kind", "digest", "source")


# ---------------------------------------------------------------------------- verification
@dataclass(frozen=True)
class Divergence:
    """The first place where the network and the reference disagree.

    ``step`` counts ``unit`` ("machine step", "decoder step" or "loop"); ``where`` names the layer
    or block (a hook name such as ``decoder.3.attn.winners``, or ``loop.2``; "machine" for the
    user's own trace; empty when unknown); ``column`` the token column of a looped card; ``slot``
    the named dimension or quantity; ``detail`` more context.
    """

    step: int
    unit: str
    where: str
    slot: str
    expected: object
    got: object
    column: int | None = None
    detail: str = ""

    def __str__(self) -> str:
        text = f"first divergence at {self.unit} {self.step}"
        text += f", {self.where}" if self.where else ""
        text += f", column {self.column}" if self.column is not None else ""
        if self.slot:
            text += f", slot {self.slot}: expected {_short(self.expected)}, got {_short(self.got)}"
        return text + (f"; {self.detail}" if self.detail else "")


class Verification(ABC):
    """The outcome of a construction's ``verify``: ``ok`` when the network and the reference
    agree everywhere, else the first :attr:`divergence`; ``checked`` network steps compared;
    :meth:`table` the step-by-step table; :meth:`agreement` the one-line verdict of a success."""

    divergence: Divergence | None
    checked: int

    @property
    def ok(self) -> bool:
        return self.divergence is None

    @abstractmethod
    def table(self, *, limit: int | None = None) -> str: ...

    @abstractmethod
    def agreement(self) -> str: ...

    def verdict(self) -> str:
        """The closing line: the agreement, or the divergence."""
        return self.agreement() if self.ok else f"DIVERGENCE: {self.divergence}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({'ok' if self.ok else _short(str(self.divergence))}, checked={self.checked:,})"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns as wide as their widest entry, ``|``-separated, under a rule (reports and tables)."""
    widths = [max([len(h), *(len(r[k]) for r in rows)]) for k, h in enumerate(header)]
    line = " | ".join(f"{h:<{w}}" for h, w in zip(header, widths))
    out = [line, "-+-".join("-" * w for w in widths)]
    out += [" | ".join(f"{c:<{w}}" for c, w in zip(r, widths)) for r in rows]
    return "\n".join(s.rstrip() for s in out)


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= REPR_LIMIT else text[:REPR_LIMIT - 3] + "..."
