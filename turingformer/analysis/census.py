"""The census (issue 13): verify the construction on every machine of a class, and say where each
float mode first breaks on it. Runs in this process, on local worker processes or on a Dask
distributed cluster; writes one Parquet row per machine.

**One machine** (:func:`census_machine`): read the bbchallenge standard text, compile it
(:func:`~turingformer.compiler.perez.construction.compile_machine`), decode the blank input exactly
with the fast decoder (:func:`~turingformer.runtime.fast.decode_fast`) for at most ``max_steps``
machine steps, and compare with the reference simulator at every step
(:func:`~turingformer.analysis.verify.compare_traces`: state, head, symbol, tape, reason, verdict).
Per float dtype, :func:`~turingformer.analysis.precision.compare` gives the first *decoder* step
at which the inexact run of the same weights diverges (``None``: not within the steps compared).
A line that is not a machine becomes a row with ``error`` set (the error names file, line and
column, with a fix) and every measured column null; the census goes on.

**The columns** (:func:`schema`): ``index`` (position in the enumeration or among the file's machine
lines), ``line`` (the file line, null for an enumeration), ``machine`` (standard text),
``halted`` / ``steps`` / ``nonblank`` (the simulator's run from the blank tape, within
``max_steps``), ``agrees`` (the decoded trace equals it at every step), ``first_divergence`` (the
machine step of the first difference, null if none), ``d`` (residual width), ``seconds`` /
``cpu_seconds`` (wall and CPU time of the row), ``first_divergence_<dtype>`` for each float
dtype, ``error``.

**Chunks, shards, resuming.** Machines are cut, in their fixed order, into chunks of ``chunk``
machines; one chunk is one task (so a cluster's scheduling overhead is paid once per chunk) and
one Parquet shard ``OUT.shards/part-NNNNNN.parquet``, written by the client (temp file, then
rename: a shard on disk is complete). ``census.json`` beside the shards records the census'
parameters. ``resume=True`` skips the chunks whose shard exists (refused when the parameters
differ); without it an existing shard folder is refused, never overwritten. When every chunk is
done the shards are merged, in order, into ``OUT`` (temp file, rename; the parameters go into the
file's schema metadata) and the shard folder is removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import time
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Callable, Iterator, Sequence

from turingformer.analysis.precision import compare, decoder_positions
from turingformer.compiler.perez.verify import compare_traces
from turingformer.compiler.perez.construction import compile_machine
from turingformer.compiler.perez.decoding import DecodingError, run_model
from turingformer.errors import TuringformerError
from turingformer.files import atomic_path, write_atomic
from turingformer.runtime.fast import decode_fast
from turingformer.runtime.floating import resolve_dtype
from turingformer.tm.formats import bbchallenge
from turingformer.tm.simulator import HaltReason, run
from turingformer.tm.tnf import tnf_count, tnf_machines

__all__ = ["CensusError", "Census", "Summary", "census_machine", "census_chunk", "run_census", "schema",
           "shard_dir", "summarize"]

MANIFEST = "census.json"
METADATA_KEY = b"turingformer.census"


class CensusError(TuringformerError):
    """A census that cannot start or go on: bad options, an unreachable cluster, a shard folder
    that belongs to another census."""


# ------------------------------------------------------------------------------ what to count
@dataclass(frozen=True)
class Item:
    """One machine line: its position, file line (None for an enumeration) and text, or the
    problem that keeps the line from being read at all (then ``text`` is empty)."""

    index: int
    line: int | None
    text: str
    problem: str | None = None


@dataclass(frozen=True)
class Census:
    """What a census counts and how: the TNF class (``states``, ``symbols``) or a ``machines`` file,
    the step limit, the float dtypes and the chunk size. Plain values: it is pickled to workers."""

    states: int | None = None
    symbols: int = 2
    machines: str | None = None
    max_steps: int = 100
    dtypes: tuple[str, ...] = ()
    chunk: int = 64
    digest: str | None = field(default=None, compare=False)   # sha256 of the machines file

    def __post_init__(self):
        if (self.states is None) == (self.machines is None):
            raise CensusError("give either a class of machines (states and symbols) or a file of machines",
                              hint="use --states N [--symbols M], or --machines FILE")
        if self.max_steps < 1:
            raise CensusError(f"--max-steps {self.max_steps}: a census runs each machine at least one step",
                              hint="use --max-steps 100 (or more)")
        if self.chunk < 1:
            raise CensusError(f"--chunk {self.chunk}: a chunk holds at least one machine", hint="use --chunk 64")
        for dtype in self.dtypes:
            try:
                resolve_dtype(dtype)
            except ValueError:
                raise CensusError(f"unknown float type {dtype!r}", hint="use --dtype float32,float64") from None
        if self.machines is not None and self.digest is None:
            try:
                data = Path(self.machines).read_bytes()
            except OSError as error:
                raise CensusError(f"cannot read {self.machines}: {error.strerror or error}",
                                  hint="name a file with one bbchallenge machine (e.g. 1RB1LB_1LA1RZ) per line") from None
            object.__setattr__(self, "digest", hashlib.sha256(data).hexdigest())
        if self.states is not None:
            tnf_machines(self.states, self.symbols, max_steps=self.max_steps)   # checks n and m at once

    def describe(self) -> str:
        if self.machines is not None:
            return f"machines of {self.machines}"
        return f"TNF {self.states} states, {self.symbols} symbols"

    def identity(self) -> dict:
        """What a resumed census must share with the interrupted one."""
        out = asdict(self)
        out["dtypes"] = list(self.dtypes)
        return out

    def items(self) -> Iterator[Item]:
        if self.machines is None:
            for index, text in enumerate(tnf_machines(self.states, self.symbols, max_steps=self.max_steps)):
                yield Item(index, None, text)
            return
        for index, (line, text) in enumerate(bbchallenge.machine_lines(self.machines)):
            if isinstance(text, TuringformerError):
                yield Item(index, line, "", str(text))
            else:
                yield Item(index, line, text)

    def total(self) -> int | None:
        """The number of machines when known without running the census (for a progress bar)."""
        if self.machines is None:
            return tnf_count(self.states, self.symbols, self.max_steps)
        return sum(1 for _ in bbchallenge.machine_lines(self.machines))

    def chunks(self) -> Iterator[tuple[int, tuple[Item, ...]]]:
        items = self.items()
        for number in range(1 << 62):
            block = tuple(islice(items, self.chunk))
            if not block:
                return
            yield number, block


def schema(dtypes: Sequence[str] = ()):
    """The Parquet schema of a census (module docstring)."""
    import pyarrow as pa

    return pa.schema(
        [("index", pa.int64()), ("line", pa.int64()), ("machine", pa.string()), ("halted", pa.bool_()),
         ("steps", pa.int64()), ("nonblank", pa.int64()), ("agrees", pa.bool_()),
         ("first_divergence", pa.int64()), ("d", pa.int64()), ("seconds", pa.float64()),
         ("cpu_seconds", pa.float64())]
        + [(f"first_divergence_{dt}", pa.int64()) for dt in dtypes]
        + [("error", pa.string())])


# ------------------------------------------------------------------------------ one machine
def census_machine(item: Item, census: Census) -> dict:
    """The row of one machine (module docstring): exact agreement and float divergences."""
    wall, cpu = time.perf_counter(), time.process_time()
    row = {name: None for name in schema(census.dtypes).names}
    row.update(index=item.index, line=item.line, machine=item.text.strip() or None)
    if item.problem is not None:
        row["error"] = item.problem
        return row
    try:
        machine = bbchallenge.loads(item.text, census.machines, line=item.line or 1)
        model = compile_machine(machine)
    except TuringformerError as error:
        row["error"] = str(error)
        return row
    row["machine"] = item.text.split()[0]
    reference = run(machine, "", max_steps=census.max_steps)
    row.update(halted=reference.reason is not HaltReason.STEP_LIMIT, steps=reference.steps,
               nonblank=reference.final.tape.nonblank(), d=model.transformer.d)
    try:
        decoded = run_model(model, "", max_steps=census.max_steps, decoder=decode_fast, keep_steps=False).trace
    except DecodingError as error:       # the exact network produced a non-configuration
        row.update(agrees=False, error=f"exact decoding failed: {error}")
    else:
        divergence = compare_traces(reference, decoded)
        row.update(agrees=divergence is None, first_divergence=None if divergence is None else divergence.step)
    if census.dtypes:
        budget = decoder_positions(machine, "", census.max_steps)
        for dtype in census.dtypes:
            row[f"first_divergence_{dtype}"] = compare(model, "", dtype=dtype, max_steps=budget).first_divergence
    row.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    return row


def census_chunk(census: Census, items: Sequence[Item]) -> list[dict]:
    """The rows of one chunk (one task on a worker)."""
    return [census_machine(item, census) for item in items]


# ------------------------------------------------------------------------------ shards
def shard_dir(output: str | Path) -> Path:
    """Where the shards of the census writing ``output`` live while it runs."""
    output = Path(output)
    return output.with_name(output.name + ".shards")


def _shard(folder: Path, number: int) -> Path:
    return folder / f"part-{number:06d}.parquet"


def _write_table(table, path: Path) -> None:
    """Write a Parquet file atomically (:func:`turingformer.files.atomic_path`)."""
    import pyarrow.parquet as pq

    with atomic_path(path) as temporary:
        pq.write_table(table, temporary)


def _table(rows: Sequence[dict], census: Census):
    import pyarrow as pa

    sch = schema(census.dtypes)
    return pa.Table.from_pylist(list(rows), schema=sch)


def _done_shards(folder: Path, census: Census, resume: bool) -> set[int]:
    """The chunk numbers already done (only with ``resume``); refuses another census' folder."""
    manifest = folder / MANIFEST
    if folder.exists():
        if not resume:
            raise CensusError(f"{folder} holds the shards of an unfinished census",
                              hint="add --resume to continue it, or delete that folder to start over")
        try:
            previous = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise CensusError(f"{folder} has no readable {MANIFEST}: it is not a census shard folder",
                              hint="delete the folder (or choose another -o) to start over") from None
        different = sorted(k for k, v in census.identity().items() if previous.get(k) != v)
        if different:
            raise CensusError(f"{folder} belongs to another census: {', '.join(different)} differ "
                              f"({', '.join(f'{k}={previous.get(k)!r}' for k in different)})",
                              hint="resume with the same options, or delete the folder to start over")
        return {int(p.stem.split("-")[1]) for p in folder.glob("part-*.parquet")}
    return set()


def _create_shards(folder: Path, census: Census) -> None:
    if not folder.exists():
        folder.mkdir(parents=True)
        write_atomic(folder / MANIFEST, json.dumps(census.identity(), indent=2) + "\n")


def _merge(folder: Path, output: Path, census: Census):
    """Concatenate the shards in chunk order into ``output``; remove the shard folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("part-*.parquet"))
    tables = [pq.read_table(p) for p in parts]
    table = pa.concat_tables(tables) if tables else _table([], census)
    table = table.replace_schema_metadata({METADATA_KEY: json.dumps(census.identity())})
    _write_table(table, output)
    for p in parts:
        p.unlink()
    (folder / MANIFEST).unlink()
    shutil.rmtree(folder)   # only our files were in it; anything else left there is removed too
    return table


# ------------------------------------------------------------------------------ where it runs
def _ignore_sigint() -> None:
    """Worker processes leave Ctrl-C to the client, which stops them cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _executor(workers: int | None, scheduler: str | None) -> Iterator[tuple[Executor | None, int]]:
    """(executor, parallel slots): a Dask cluster's, a local process pool's, or (None, 1) in process."""
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            raise CensusError("--scheduler needs Dask distributed", hint="pip install 'dask[distributed]'") from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError, ValueError) as error:
            raise CensusError(f"cannot reach the Dask scheduler at {scheduler}: {error}",
                              hint="start one with 'dask scheduler' and workers with 'dask worker ADDRESS', "
                                   "or drop --scheduler to run on local processes") from None
        with client:
            try:
                client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise CensusError(f"the Dask scheduler at {scheduler} has no workers",
                                  hint=f"start some with 'dask worker {scheduler} --nworkers 2 --nthreads 1'") from None
            slots = sum(w["nthreads"] for w in client.scheduler_info()["workers"].values())
            yield client.get_executor(), max(slots, 1)
        return
    if workers == 0:
        yield None, 1
        return
    workers = workers or _cores()
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_ignore_sigint)
    try:
        yield pool, workers
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# ------------------------------------------------------------------------------ the census
@dataclass(frozen=True)
class Summary:
    """What a census found (over all its rows) and what this run cost."""

    census: Census
    machines: int
    errors: int
    halting: int
    S: int | None                 # most steps of a halting machine
    S_machine: str | None
    sigma: int | None             # most non-blank cells left by a halting machine
    sigma_machine: str | None
    divergences: int              # rows that do not agree
    float_divergences: dict       # dtype -> machines whose float run diverged within the steps compared
    computed: int                 # machines computed by this run (the rest came from resumed shards)
    seconds: float                # wall time of this run
    cpu_seconds: float            # CPU time of the rows computed by this run (on every worker)
    where: str

    @property
    def per_second(self) -> float:
        return self.computed / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        floats = "".join(f", {dt} diverges on {n:,}" for dt, n in self.float_divergences.items())
        errors = f", {self.errors:,} bad lines" if self.errors else ""
        champion = "" if self.S is None else (f", S = {self.S} ({self.S_machine}), "
                                              f"Σ = {self.sigma} ({self.sigma_machine})")
        return (f"census of {self.census.describe()}, {self.census.max_steps:,} steps: {self.machines:,} machines"
                f"{errors}, {self.halting:,} halt{champion}, {self.divergences:,} divergences{floats}; "
                f"{self.computed:,} computed in {self.seconds:.1f} s on {self.where} "
                f"({self.per_second:.1f} machines/s, {self.cpu_seconds:.1f} s CPU)")


def summarize(table, census: Census, *, computed: int = 0, seconds: float = 0.0, cpu_seconds: float = 0.0,
              where: str = "") -> Summary:
    """The :class:`Summary` of a census table (the merged Parquet file read back, for instance)."""
    rows = table.to_pylist()
    halting = [r for r in rows if r["halted"]]
    best_s = max(halting, key=lambda r: (r["steps"], -r["index"]), default=None)
    best_sigma = max(halting, key=lambda r: (r["nonblank"], -r["index"]), default=None)
    return Summary(
        census=census, machines=len(rows), errors=sum(r["error"] is not None and r["agrees"] is None for r in rows),
        halting=len(halting), S=best_s and best_s["steps"], S_machine=best_s and best_s["machine"],
        sigma=best_sigma and best_sigma["nonblank"], sigma_machine=best_sigma and best_sigma["machine"],
        divergences=sum(r["agrees"] is False for r in rows),
        float_divergences={dt: sum(r[f"first_divergence_{dt}"] is not None for r in rows) for dt in census.dtypes},
        computed=computed, seconds=seconds, cpu_seconds=cpu_seconds, where=where)


def run_census(
    output: str | Path, *, states: int | None = None, symbols: int = 2, machines: str | Path | None = None,
    max_steps: int = 100, dtypes: Sequence[str] = (), chunk: int = 64, workers: int | None = None,
    scheduler: str | None = None, resume: bool = False,
    on_rows: Callable[[list[dict]], None] | None = None, on_start: Callable[[int | None, int], None] | None = None,
) -> Summary:
    """Run a census and write it to ``output`` (Parquet); return its :class:`Summary`.

    ``states``/``symbols`` census the TNF class (:func:`turingformer.tm.tnf.tnf_machines`),
    ``machines`` a file of standard-text machines, one per line. ``workers``: local processes
    (``None`` = the number of cores, ``0`` = this process, no pool); ``scheduler``: the address of a
    Dask distributed scheduler (``tcp://HOST:PORT``) to run the chunks on instead. ``on_start(total,
    done)`` is called once (total machines if known, machines already in resumed shards),
    ``on_rows(rows)`` after every chunk written (for a progress bar and error reports).
    """
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise CensusError("the census writes Parquet files with pyarrow, which is not installed",
                          hint="pip install 'turingformer[census]' (pyarrow, dask[distributed], pandas)") from None
    census = Census(states=states, symbols=symbols, machines=None if machines is None else str(machines),
                    max_steps=max_steps, dtypes=tuple(dtypes), chunk=chunk)
    output = Path(output)
    folder = shard_dir(output)
    done = _done_shards(folder, census, resume)
    if on_start is not None:
        on_start(census.total(), min(len(done) * chunk, census.total() or len(done) * chunk))
    started = time.perf_counter()
    computed, cpu = 0, 0.0

    def store(number: int, rows: list[dict]) -> None:
        nonlocal computed, cpu
        _write_table(_table(rows, census), _shard(folder, number))
        computed += len(rows)
        cpu += sum(r["cpu_seconds"] or 0.0 for r in rows)
        if on_rows is not None:
            on_rows(rows)

    todo = ((number, items) for number, items in census.chunks() if number not in done)
    with _executor(workers, scheduler) as (executor, slots):
        _create_shards(folder, census)
        where = (f"the Dask cluster at {scheduler}, {slots} worker threads" if scheduler else
                 "this process" if executor is None else f"{slots} local worker process{'es' if slots > 1 else ''}")
        if executor is None:
            for number, items in todo:
                store(number, census_chunk(census, items))
        else:
            pending: dict = {}
            try:
                while True:
                    for number, items in islice(todo, max(0, 2 * slots - len(pending))):
                        pending[executor.submit(census_chunk, census, items)] = number
                    if not pending:
                        break
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=pending.get):
                        store(pending.pop(future), future.result())
            finally:
                for future in pending:
                    future.cancel()
    seconds = time.perf_counter() - started
    table = _merge(folder, output, census)
    return summarize(table, census, computed=computed, seconds=seconds, cpu_seconds=cpu, where=where)
