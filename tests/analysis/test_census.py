"""The census (turingformer.analysis.census): the 2-state TNF class sequentially, on local
processes and on a real Dask LocalCluster (processes, loopback) must give the same rows; resuming
after an interruption; bad machine lines; the Parquet schema."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from turingformer.analysis.census import CensusError, run_census, schema, shard_dir, summarize, Census
from turingformer.tm.simulator import run
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
    (dict(machines="/nonexistent/machines.txt"), "cannot read"),
])
def test_bad_options(tmp_path, options, message):
    with pytest.raises(CensusError, match=message):
        run_census(tmp_path / "o.parquet", workers=0, **options)
    assert not shard_dir(tmp_path / "o.parquet").exists()
