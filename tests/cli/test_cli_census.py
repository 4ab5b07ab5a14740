"""``turingformer census`` (issue 13): the summary line, exit statuses, bad lines, bad options."""

from __future__ import annotations

import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from turingformer.cli import main


def test_two_state_census_prints_the_summary(tmp_path, capsys):
    out = tmp_path / "bb2.parquet"
    assert main(["census", "--states", "2", "--max-steps", "100", "-o", str(out), "--workers", "0", "-q"]) == 0
    captured = capsys.readouterr()
    line = captured.out.strip()
    assert line.startswith("census of TNF 2 states, 2 symbols, 100 steps: 41 machines, 15 halt, S = 6 (")
    assert "Σ = 4 (1RB1LB_1LA1RZ), 0 divergences" in line and "machines/s" in line
    assert pq.read_table(out).num_rows == 41
    assert f"wrote {out}" in captured.err


def test_machines_file_with_bad_lines_exits_2_after_the_whole_census(tmp_path):
    machines = tmp_path / "list.txt"
    machines.write_text("1RB1LB_1LA1RZ\n1RB1LB_XLA1RZ\n1RB1RZ_1LB0RC_1LC1LA\n", encoding="utf-8")
    out = tmp_path / "list.parquet"
    done = subprocess.run([sys.executable, "-m", "turingformer", "census", "--machines", str(machines), "-o", str(out),
                           "--workers", "1", "--dtype", "float64"], capture_output=True, text=True)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("turingformer: error:")]
    assert errors == [f"turingformer: error: {machines}:2:8: bad instruction 'XLA' for state B reading 0: "
                      "expected <digit 0-1><L|R><state letter> or ---"]
    assert "Traceback" not in done.stderr
    assert "3 machines, 1 bad lines, 2 halt, S = 21" in done.stdout
    assert "float64 diverges on 0" in done.stdout
    assert pq.read_table(out).column("agrees").to_pylist() == [True, None, True]


@pytest.mark.parametrize("argv, message", [
    (["--states", "1"], "1 states: the enumeration needs 2 to 26 states"),
    (["--states", "2", "--dtype", "float8"], "unknown float type 'float8'"),
    (["--states", "2", "--scheduler", "tcp://127.0.0.1:notaport"], "cannot reach the Dask scheduler"),
    (["--states", "2", "--dtype", "float32,float32"], "--dtype names float32 twice"),
    (["--states", "2", "--chunk", "99999999999999999999"], "--chunk too large: a chunk holds 1 to 1,000,000"),
])
def test_bad_options_are_one_error(tmp_path, capsys, argv, message):
    assert main(["census", *argv, "-o", str(tmp_path / "x.parquet"), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err
    assert not (tmp_path / "x.parquet.shards").exists()


def test_states_and_machines_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["census", "--states", "2", "--machines", "m.txt", "-o", str(tmp_path / "x.parquet")])
    assert exit.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_outputs_that_would_destroy_an_input_are_one_error(tmp_path, capsys):
    machines = tmp_path / "list.txt"
    machines.write_text("1RB1LB_1LA1RZ\n", encoding="utf-8")
    assert main(["census", "--machines", str(machines), "-o", str(machines), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "would destroy" in err and len(err.strip().splitlines()) == 2      # the error and its fix
    assert machines.read_text(encoding="utf-8") == "1RB1LB_1LA1RZ\n"
    assert main(["census", "--states", "2", "-o", str(tmp_path), "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "fix:" in err and len(err.strip().splitlines()) <= 2
    assert not list(tmp_path.glob("*.shards")) and not list(tmp_path.glob("*.tmp*"))
