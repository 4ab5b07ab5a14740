"""``turingformer serve`` without a browser: its JSON endpoints over real HTTP (the server of
conftest.py), its refusals, and its worker processes' time limit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from turingformer.serve.worker import Workers
from turingformer.tm.formats import load_machine
from turingformer.tm.simulator import run

from serving import SERVER_MAX_STEPS
from paths import ROOT

BB4 = (ROOT / "machines" / "busy_beaver_4.yaml").read_text(encoding="utf-8")
INCREMENT = (ROOT / "machines" / "binary_increment.yaml").read_text(encoding="utf-8")


def call(server, path: str, body=None, *, headers=None, raw: bytes | None = None) -> tuple[int, dict | str]:
    data = raw if raw is not None else (json.dumps(body).encode("utf-8") if body is not None else None)
    request = urllib.request.Request(server.url + path, data=data,
                                     headers=headers or ({"Content-Type": "application/json"} if data else {}))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text, kind = response.status, response.read().decode("utf-8"), response.headers["Content-Type"]
            csp = response.headers["Content-Security-Policy"]
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    assert csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    return status, json.loads(text) if kind.startswith("application/json") else text


def test_the_page_and_its_assets_are_served_offline(server):
    status, page = call(server, "")
    assert status == 200 and 'src="static/player.js"' in page and "http" not in page.replace("http-equiv", "")
    status, script = call(server, "static/player.js")
    assert "function mountPlayer" in script                      # the one player of `animate`
    assert call(server, "static/passwd")[0] == 404


def test_check_returns_the_loaders_error_at_its_line_and_the_examples(server):
    broken = INCREMENT.replace("'1': ['0', L, carry]", "'1': ['0', L, cary]")
    status, answer = call(server, "api/check", {"source": broken, "file": "machine.yaml"})
    line = next(k for k, text in enumerate(broken.splitlines(), 1) if "L, cary]" in text)
    assert status == 200 and not answer["ok"] and answer["error"]["line"] == line
    assert answer["error"]["message"].startswith(f"machine.yaml:{line}:")
    status, answer = call(server, "api/check", {"source": INCREMENT, "file": "machine.yaml"})
    assert answer["ok"] and answer["name"] == "binary increment"
    assert answer["examples"] and all(e["met"] for e in answer["examples"])
    wrong = INCREMENT.replace("tape: '1100', steps: 8", "tape: '111', steps: 3")
    answer = call(server, "api/check", {"source": wrong, "file": "machine.yaml"})[1]
    assert answer["examples"][0]["failed"] and "NOT MET: tape '1100', expected '111'" in answer["examples"][0]["text"]


def test_run_is_the_simulators_run_checked_and_limited(server):
    status, data = call(server, "api/run", {"source": INCREMENT, "file": "machine.yaml", "input": "1011"})
    reference = run(load_machine(ROOT / "machines" / "binary_increment.yaml"), "1011")
    assert status == 200 and data["ok"] and data["steps"] == reference.steps and not data["limited"]
    assert [data["states"][k] for k in data["state"]] == list(reference.states)
    assert data["examples"] == ["example 1 (input '1011'): met (verdict halted, tape '1100', 8 steps)"]
    _, data = call(server, "api/run", {"source": BB4, "file": "bb4.yaml", "input": "", "max_steps": 10**9})
    assert data["steps"] == SERVER_MAX_STEPS and data["limited"] and data["clamped"] == SERVER_MAX_STEPS
    _, data = call(server, "api/run", {"source": INCREMENT, "file": "m.yaml", "input": "12"})
    assert "not in the input alphabet" in data["error"]["message"]
    _, data = call(server, "api/run", {"source": INCREMENT, "file": "m.yaml", "input": "1" * 100_000})
    assert data["limit"] and "at most" in data["error"]["message"]


def test_a_program_runs_on_the_looped_transformer(server):
    from turingformer.programs import run as interpret
    from turingformer.programs.formats import load_program

    path = ROOT / "machines" / "programs" / "add.subleq"
    _, data = call(server, "api/run", {"source": path.read_text(), "file": "add.subleq", "input": ""})
    reference = interpret(load_program(path))
    assert data["kind"] == "looped" and data["ok"] and data["memory"] == [list(s.memory) for s in reference]


def test_requests_that_are_not_the_pages_are_refused(server):
    assert call(server, "api/check", raw=b"source=x", headers={"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert call(server, "api/check", raw=b"[1]", headers={"Content-Type": "application/json"})[0] == 400
    try:                                          # a body over the bound: refused, or the connection closed
        refused = call(server, "api/check", raw=b"x" * 2_000_000, headers={"Content-Type": "application/json"})[0]
    except (ConnectionResetError, BrokenPipeError, urllib.error.URLError):
        refused = "closed"
    assert refused in (400, 413, "closed")
    assert call(server, "", headers={"Host": "attacker.example"})[0] == 403       # DNS rebinding
    status, answer = call(server, "api/check", {"source": "x" * 100_001, "file": "m.yaml"})
    assert answer["limit"] and "at most 100,000" in answer["error"]["message"]


def test_a_job_over_the_time_limit_is_killed_and_says_so():
    workers = Workers(1, time_limit=0.5)
    try:
        workers.warm_up()                            # the forkserver's start-up is not a job's time
        counter = (ROOT / "benchmarks" / "machines" / "binary_counter.yaml").read_text(encoding="utf-8")
        result = workers.run("run", text=counter, file="c.yaml", word="", max_steps=20_000, max_positions=50_000)
        answer = json.loads(result.body)
        assert answer["limit"] and "time limit of 0.5 s" in answer["error"]["message"]
        assert result.seconds < 5 and not workers._live               # the child is gone
        quick = json.loads(workers.run("check", text=INCREMENT, file="m.yaml", max_steps=100).body)
        assert quick["ok"]                                             # and the next job runs
    finally:
        workers.close()


def test_a_long_run_does_not_block_other_requests(server):
    """While a worker decodes a long input, the server answers the page's other requests."""
    import threading
    import time

    finished = {}

    def long_run():
        call(server, "api/run", {"source": INCREMENT, "file": "m.yaml", "input": "1" * 800})
        finished["run"] = time.monotonic()

    worker = threading.Thread(target=long_run)
    worker.start()
    time.sleep(0.3)
    assert call(server, "api/config")[0] == 200
    assert call(server, "api/check", {"source": INCREMENT, "file": "m.yaml"})[1]["ok"]
    answered = time.monotonic()
    worker.join(120)
    assert "run" in finished and answered < finished["run"]
