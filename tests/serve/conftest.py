"""The server of the serve tests: ``turingformer serve`` started as a user starts it (a real
process, the real command, a free loopback port chosen by the OS with ``--port 0``), stopped with
SIGINT (Ctrl-C) at the end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest

from paths import ROOT
from serving import SERVER_MAX_STEPS


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen


@pytest.fixture(scope="session")
def server():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    process = subprocess.Popen(
        [sys.executable, "-m", "turingformer", "serve", "--port", "0", "--max-steps", str(SERVER_MAX_STEPS),
         "--time-limit", "20", "--workers", "2"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if "http://" not in line:
        process.kill()
        raise RuntimeError(f"serve did not start: {line!r} {process.stderr.read()!r}")
    url = line.split("open ", 1)[1].split(" ", 1)[0]
    try:
        yield Server(url, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
