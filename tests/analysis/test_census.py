"""The census (turingformer.analysis.census): the 2-state TNF class sequentially, on local
processes and on a real Dask LocalCluster (processes, loopback) must give the same rows; resuming
after an interruption; bad machine lines; the Parquet schema."""

from __future__ import annotations

import socket
import threading
import time
from itertools import islice

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from turingformer.analysis import census as census_module
from turingformer.analysis.census import (
    Census, CensusError, Item, census_chunk, census_machine, run_census, schema, shard_dir, summarize,
)
from turingformer.compiler.perez.construction import compile_machine
from turingformer.errors import OutputError
from turingformer.tm.formats.bbchallenge import loads as bbchallenge_loads
from turingformer.tm.simulator import run
from turingformer.tm.tnf import tnf_machines
from strategies import bbchallenge

TIMING = ("seconds", "cpu_seconds")


def rows_of(path) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING} for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def sequential(tmp_path_factory):
    out = tmp_path_factory.mktemp("sequential") / "bb2.parquet"
    summary = run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",))
    return out, summary


def test_two_state_census(sequential):
    out, summary = sequential
    rows = rows_of(out)
    assert len(rows) == 41 and [r["index"] for r in rows] == list(range(41))
    assert all(r["agrees"] for r in rows) and all(r["first_divergence"] is None for r in rows)
    assert (summary.machines, summary.halting, summary.S, summary.sigma, summary.divergences) == (41, 15, 6, 4, 0)
    assert summary.sigma_machine == "1RB1LB_1LA1RZ"
    assert not shard_dir(out).exists()
    # every row agrees with an independent run of the simulator on a hand-built machine
    for r in rows:
        trace = run(bbchallenge(r["machine"]), "", max_steps=100)
        assert (r["halted"], r["steps"], r["nonblank"]) == (trace.halted, trace.steps, trace.final.tape.nonblank())


def test_dask_local_cluster_equals_sequential(sequential, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        out = tmp_path / "bb2.parquet"
        summary = run_census(out, states=2, chunk=8, dtypes=("float32",), scheduler=cluster.scheduler_address)
    assert rows_of(out) == rows_of(sequential[0])
    assert summary.computed == 41 and "Dask" in summary.where


def test_local_processes_equal_sequential(sequential, tmp_path):
    out = tmp_path / "bb2.parquet"
    summary = run_census(out, states=2, chunk=8, dtypes=("float32",), workers=2)
    assert rows_of(out) == rows_of(sequential[0])
    assert summary.where == "2 local worker processes"


class Stop(Exception):
    pass


def test_resume_after_an_interruption(sequential, tmp_path):
    out = tmp_path / "bb2.parquet"
    seen = []

    def interrupt(rows):
        seen.append(len(rows))
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",), on_rows=interrupt)
    folder = shard_dir(out)
    assert sorted(p.name for p in folder.glob("part-*")) == ["part-000000.parquet", "part-000001.parquet"]
    assert not out.exists()
    with pytest.raises(CensusError, match="unfinished census"):
        run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",))
    with pytest.raises(CensusError, match="max_steps"):
        run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",), max_steps=50, resume=True)
    started = []
    summary = run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",), resume=True,
                         on_start=lambda total, done: started.append((total, done)))
    assert started == [(41, 16)]
    assert summary.computed == 41 - 16 and summary.machines == 41
    assert rows_of(out) == rows_of(sequential[0])
    assert not folder.exists()


def test_bad_lines_are_reported_and_the_census_goes_on(tmp_path):
    machines = tmp_path / "machines.txt"
    machines.write_bytes(b"# two good machines, three bad lines\n1RB1LB_1LA1RZ\n\n1RB1LB_1LA1QZ\n"
                         b"1RB1LB_1LA\n1RB\xff\n1RB1RZ_1LB0RC_1LC1LA\n")
    out = tmp_path / "m.parquet"
    summary = run_census(out, machines=machines, workers=0)
    rows = pq.read_table(out).to_pylist()
    assert [r["line"] for r in rows] == [2, 4, 5, 6, 7]
    assert [r["agrees"] for r in rows] == [True, None, None, None, True]
    assert rows[1]["error"].startswith(f"{machines}:4:11: bad instruction '1QZ'")
    assert rows[2]["error"].startswith(f"{machines}:5:")
    assert "not UTF-8" in rows[3]["error"] and rows[3]["machine"] is None
    assert all("fix:" in r["error"] for r in rows[1:4])
    assert (summary.machines, summary.errors, summary.halting, summary.S, summary.sigma) == (5, 3, 2, 21, 5)


def test_parquet_schema_and_metadata(sequential):
    out, _ = sequential
    table = pq.read_table(out)
    assert table.schema.equals(schema(["float32"]), check_metadata=False)
    assert table.schema.field("first_divergence_float32").type == pa.int64()
    assert b"turingformer.census" in table.schema.metadata
    frame = pq.read_table(out).to_pandas()
    assert frame["halted"].sum() == 15 and frame.loc[frame.halted, "steps"].max() == 6
    # float32 decodes the 41 short runs of at most 100 steps into a few divergences, float64 none was asked
    assert set(table.column_names) >= {"machine", "halted", "steps", "nonblank", "agrees", "first_divergence", "d",
                                       "seconds", "first_divergence_float32"}


def test_summary_from_a_table_read_back(sequential):
    out, summary = sequential
    again = summarize(pq.read_table(out), Census(states=2, dtypes=("float32",), chunk=8))
    assert (again.machines, again.halting, again.S, again.sigma, again.float_divergences) == \
        (summary.machines, summary.halting, summary.S, summary.sigma, summary.float_divergences)


@pytest.mark.parametrize("options, message", [
    (dict(), "either a class of machines"),
    (dict(states=2, machines="x.txt"), "either a class of machines"),
    (dict(states=2, dtypes=("float128",)), "unknown float type"),
    (dict(states=2, chunk=0), "--chunk 0"),
    (dict(states=2, chunk=99999999999999999999), "--chunk too large: a chunk holds 1 to 1,000,000"),
    (dict(states=2, dtypes=("float32", "float32")), "names float32 twice"),
    (dict(machines="/nonexistent/machines.txt"), "cannot read"),
])
def test_bad_options(tmp_path, options, message):
    with pytest.raises(CensusError, match=message):
        run_census(tmp_path / "o.parquet", workers=0, **options)
    assert not shard_dir(tmp_path / "o.parquet").exists()


# ------------------------------------------------------------------------------ batched = per machine
def _untimed(rows):
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


#: 3-state TNF machines: four on which float32 diverges within 100 steps, four that halt, three
#: that run on with both float modes intact (picked from the 3-state census), and a bad line.
SAMPLE = ["1RB0LA_0LA---_------", "1RB---_0LB1RC_1LB0RA", "1RB---_0RC1RB_1LC1RB", "1RB---_1RC0LC_1LB1RB",
          "1RB---_1RZ---_------", "1RB0LC_0LB1LA_1RZ---", "1RB1RZ_0RC0RA_1LB1LC", "1RB0LC_1RC1RZ_0LA1LA",
          "1RB1LA_0LA0LA_------", "1RB0RB_1LB1LC_0RA---", "1RB---_1LC1RB_0RB0RC", "1RB1LB_1LA1QZ"]


@pytest.fixture(scope="module")
def three_state_sample():
    census = Census(states=3, max_steps=100, dtypes=("float32", "float64"))
    return census, [Item(k, None, text) for k, text in enumerate(SAMPLE)]


def test_batched_chunk_equals_the_per_machine_path(three_state_sample):
    census, items = three_state_sample
    batched = census_chunk(census, items)
    assert _untimed(batched) == _untimed([census_machine(item, census) for item in items])
    assert [r["first_divergence_float32"] is not None for r in batched] == [True] * 4 + [False] * 8
    assert [r["halted"] for r in batched] == [False] * 4 + [True] * 4 + [False] * 3 + [None]
    assert batched[-1]["error"] and all(r["agrees"] for r in batched[:-1])


def test_a_failed_bound_falls_back_to_the_per_machine_path(three_state_sample, monkeypatch):
    """With a scale the weights do not fit, every machine leaves the batch and gets the
    per-machine row: the same rows, never a wrong one."""
    census, items = three_state_sample
    monkeypatch.setattr(census_module, "perez_scale", lambda i: (i + 1) ** 2)
    some = items[4:9]                       # four halting machines and one that runs 100 steps
    assert _untimed(census_chunk(census, some)) == _untimed([census_machine(item, census) for item in some])


def test_gathered_weights_equal_the_compiled_weights():
    compiler = census_module._Compiler()
    machines = [bbchallenge_loads(t) for t in islice(tnf_machines(3, 2, max_steps=100), 0, None, 15)]
    for machine in machines[:200]:
        compiler(machine)
    gathered = 0
    for machine in machines[200:]:
        known = len(compiler.rows)
        assert compiler(machine) == compile_machine(machine)
        gathered += len(compiler.rows) == known          # no rule it had not seen: gathered, not compiled
    assert gathered >= 0.9 * len(machines[200:])


# ------------------------------------------------------------------------------ hardening (issue 22)
def test_resume_uses_only_verified_shards(sequential, tmp_path):
    """Stray, truncated, empty, garbage and other-census shards in the folder are recomputed: the
    resumed census is row for row the uninterrupted one."""
    out, other = tmp_path / "bb2.parquet", tmp_path / "other.parquet"

    def stop_after(n):
        seen = []

        def rows(found):
            seen.append(found)
            if len(seen) == n:
                raise KeyboardInterrupt
        return rows

    with pytest.raises(KeyboardInterrupt):
        run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",), on_rows=stop_after(2))
    with pytest.raises(KeyboardInterrupt):
        run_census(other, states=2, workers=0, chunk=8, dtypes=("float32",), max_steps=5, on_rows=stop_after(5))
    folder = shard_dir(out)
    part = folder / "part-000001.parquet"
    (folder / "part-000099.parquet").write_bytes((folder / "part-000000.parquet").read_bytes())    # stray
    data = part.read_bytes()
    part.write_bytes(data[: len(data) // 2])                                                          # truncated
    (folder / "part-000002.parquet").write_bytes(b"")                                                 # empty
    (folder / "part-000003.parquet").write_bytes(b"PAR1 this is not parquet")                        # garbage
    (folder / "part-000004.parquet").write_bytes((shard_dir(other) / "part-000004.parquet").read_bytes())
    (folder / "part-000005.parquet").write_bytes((folder / "part-000000.parquet").read_bytes())     # wrong chunk
    summary = run_census(out, states=2, workers=0, chunk=8, dtypes=("float32",), resume=True)
    assert rows_of(out) == rows_of(sequential[0])
    assert summary.machines == 41 and summary.computed == 41 - 8 and not folder.exists()


def test_a_second_census_on_the_same_output_is_refused(tmp_path):
    out = tmp_path / "bb2.parquet"
    with census_module._locked(out):
        with pytest.raises(CensusError, match="another census is writing"):
            run_census(out, states=2, workers=0)
        assert not shard_dir(out).exists()
    run_census(out, states=2, workers=0)
    assert pq.read_table(out).num_rows == 41 and not census_module.lock_path(out).exists()


def test_outputs_that_would_destroy_an_input_are_refused_before_any_work(tmp_path):
    machines = tmp_path / "list.txt"
    machines.write_text("1RB1LB_1LA1RZ\n", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(machines)
    for output in (machines, tmp_path / "link.txt"):
        with pytest.raises(OutputError, match="is the machine list"):
            run_census(output, machines=machines, workers=0)
    assert machines.read_text(encoding="utf-8") == "1RB1LB_1LA1RZ\n"
    with pytest.raises(OutputError, match="is a folder"):
        run_census(tmp_path, states=2, workers=0)
    with pytest.raises(OutputError, match="does not exist"):
        run_census(tmp_path / "no" / "x.parquet", states=2, workers=0)
    assert not list(tmp_path.glob("*.shards"))


@pytest.mark.parametrize("greeting, message", [
    (None, "sent no Dask handshake within"),                      # a web server waits for a request
    (b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n", "are not a Dask handshake"),
    (b"\x10" + b"\0" * 7 + b"\xff" * 16, "are not a Dask handshake"),   # a frame length, then no frames
])
def test_a_scheduler_that_is_not_dask_fails_fast(tmp_path, greeting, message):
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]

        def serve():
            connection, _ = server.accept()
            with connection:
                if greeting:
                    connection.sendall(greeting)
                time.sleep(census_module.PROBE_SECONDS + 1)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        started = time.monotonic()
        with pytest.raises(CensusError, match=message):
            run_census(tmp_path / "o.parquet", states=2, scheduler=f"tcp://127.0.0.1:{port}")
        assert time.monotonic() - started < census_module.PROBE_SECONDS + 3
    assert not shard_dir(tmp_path / "o.parquet").exists()
