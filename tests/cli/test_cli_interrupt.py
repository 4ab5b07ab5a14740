"""Ctrl-C on a long run: a real SIGINT to a real ``turingformer`` process. The first one asks the
run to stop; the command prints the partial run, marked interrupted, and exits 130."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

#: Writes 1s to the right forever: the run only ends by its step limit or by Ctrl-C.
RIGHT_FOREVER = "blank: '_'\ninput alphabet: []\nstates: [a]\nstart: a\nrules:\n  a:\n    '_': ['1', R, a]\n"


def cpu_seconds(pid: int) -> float:
    """The CPU time a process has used (user + system, from /proc)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interrupt(argv: list[str], after: float) -> subprocess.CompletedProcess:
    """Run ``turingformer argv`` and press Ctrl-C once it has used ``after`` seconds of CPU: past its
    start-up and into the run, however loaded the machine is."""
    process = subprocess.Popen([sys.executable, "-m", "turingformer", *argv], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    while process.poll() is None and cpu_seconds(process.pid) < after:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, process.returncode, out, err)


@pytest.fixture
def forever(tmp_path):
    path = tmp_path / "forever.yaml"
    path.write_text(RIGHT_FOREVER)
    return path


def test_run_model_keeps_the_partial_run(tmp_path, forever):
    model = tmp_path / "forever.json"
    subprocess.run([sys.executable, "-m", "turingformer", "compile", str(forever), "-o", str(model)], check=True,
                   capture_output=True)
    done = interrupt(["run", str(model), "--json", "--quiet", "--max-steps", "100000000"], after=5.0)
    assert done.returncode == 130, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["reason"] == "interrupted" and summary["verdict"] == "running" and not summary["halted"]
    assert 0 < summary["steps"] < 100_000_000 and summary["nonblank"] == summary["steps"]   # one 1 per step
    assert "interrupted after" in done.stderr and "Traceback" not in done.stderr


def test_simulate_keeps_the_partial_run(forever):
    done = interrupt(["simulate", str(forever), "--json", "--quiet", "--max-steps", "10000000000"], after=3.0)
    assert done.returncode == 130, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    assert summary["reason"] == "interrupted" and 0 < summary["steps"] < 10_000_000_000
    assert "Traceback" not in done.stderr


def test_animate_writes_the_partial_page(tmp_path, forever):
    """Ctrl-C during animate's decoding: the page of the run so far is written (its verification
    only as far as the run went, in time linear in the run) and the exit status is 130."""
    page = tmp_path / "forever.html"
    done = interrupt(["animate", str(forever), "--max-steps", "24000", "-o", str(page)], after=2.5)
    assert done.returncode == 130, done.stderr
    text = page.read_text(encoding="utf-8")
    steps = int(re.search(r'"steps":(\d+)', text).group(1))
    assert 0 < steps < 24_000 and '"reason":"interrupted"' in text
    assert "partial run" in done.stderr and "Traceback" not in done.stderr
