"""The heavy work of ``turingformer serve`` off the server's event loop: every request in a process
of its own, killed at the time limit.

Each job (:data:`JOBS`: load and check a source, or compile, decode and verify a run) runs in a
fresh child forked from a *forkserver* that imported the library once
(:func:`multiprocessing.set_forkserver_preload`), so a job starts in milliseconds and shares no
state with any other. The child lowers its own address-space limit (``RLIMIT_AS``) before it
starts, sends its answer as JSON bytes through a pipe and exits; the parent waits for that answer
in a thread (:meth:`Workers.submit`, so the event loop never blocks) for at most the time limit,
then kills the child (SIGKILL) and answers with a limit message. At most ``processes`` jobs run
at once; up to :data:`QUEUE_PER_PROCESS` times as many wait, and further requests are refused as
busy. Invariant: when :meth:`Workers.run` returns, its child has exited.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

#: Requests that may wait for a free process, per process, before the server answers "busy".
QUEUE_PER_PROCESS = 4


def _jobs():
    from turingformer.serve import library
    return {"check": library.check_source, "run": library.run_source}


#: The job names a request may ask for.
JOBS = ("check", "run")


@dataclass(frozen=True)
class JobResult:
    """A job's answer: ``body`` is JSON bytes; ``status`` the HTTP status it should go out with."""

    body: bytes
    status: int = 200
    seconds: float = 0.0


def _message(text: str, *, limit: bool = True) -> bytes:
    return json.dumps({"error": {"message": text, "hint": None, "line": None, "column": None},
                       "limit": limit}).encode("utf-8")


def _child(connection, job: str, kwargs: dict, memory_bytes: int) -> None:
    """The body of a worker process: limit memory, run the job, send its JSON answer."""
    try:
        if memory_bytes:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        answer = json.dumps(_jobs()[job](**kwargs), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except MemoryError:
        answer = _message(f"the run needed more than the server's memory limit of {memory_bytes >> 20:,} MiB; "
                          "ask for fewer steps or a shorter input")
    except Exception as error:  # a bug: the server stays up and says so
        answer = json.dumps({"error": {"message": f"internal error: {type(error).__name__}: {str(error)[:200]}",
                                       "hint": "please report it with the machine and input", "line": None,
                                       "column": None}}).encode("utf-8")
    connection.send_bytes(answer)
    connection.close()


class Workers:
    """Runs jobs in forked processes with a time and a memory limit (see the module docstring)."""

    def __init__(self, processes: int = 2, *, time_limit: float = 20.0, memory_limit_mib: int = 2048):
        self.processes = processes
        self.time_limit = time_limit
        self.memory_bytes = memory_limit_mib << 20
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["turingformer.serve.library"])
        self._threads = ThreadPoolExecutor(max_workers=processes, thread_name_prefix="turingformer-serve")
        self._waiting = 0
        self._lock = threading.Lock()
        self._live: set = set()

    def run(self, job: str, **kwargs) -> JobResult:
        """Run ``job`` in a new child process; its answer, or a limit message after ``time_limit`` seconds."""
        if job not in JOBS:
            raise ValueError(f"unknown job {job!r}")
        began = time.monotonic()
        receive, send = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child, args=(send, job, kwargs, self.memory_bytes), daemon=True)
        process.start()
        send.close()
        with self._lock:
            self._live.add(process)
        try:
            if receive.poll(self.time_limit):
                try:
                    return JobResult(receive.recv_bytes(), 200, time.monotonic() - began)
                except EOFError:        # the child died without an answer (killed by the OS)
                    return JobResult(_message("the run was stopped by the operating system (out of memory?); "
                                              "ask for fewer steps or a shorter input"), 200,
                                     time.monotonic() - began)
            process.kill()
            return JobResult(_message(f"the run took longer than the server's time limit of {self.time_limit:g} s "
                                      "and was stopped; ask for fewer steps or a shorter input"), 200,
                             time.monotonic() - began)
        finally:
            receive.close()
            process.join(5)
            if process.is_alive():      # pragma: no cover - a child that ignores SIGKILL
                process.kill()
                process.join()
            with self._lock:
                self._live.discard(process)

    async def submit(self, job: str, **kwargs) -> JobResult:
        """:meth:`run` on a thread of the pool, awaited: the event loop keeps serving meanwhile.
        Answers 503 (busy) when more than ``QUEUE_PER_PROCESS × processes`` requests already wait."""
        with self._lock:
            if self._waiting >= self.processes * (QUEUE_PER_PROCESS + 1):
                return JobResult(_message("the server is busy with other runs; try again in a moment"), 503)
            self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._threads, lambda: self.run(job, **kwargs))
        finally:
            with self._lock:
                self._waiting -= 1

    def warm_up(self) -> None:
        """Start the forkserver now (it imports the library once) rather than on the first request."""
        self.run("check", text="", file="warm-up.yaml", max_steps=1)

    def close(self) -> None:
        """Kill every running job and stop the threads."""
        with self._lock:
            live = list(self._live)
        for process in live:
            process.kill()
        self._threads.shutdown(wait=False, cancel_futures=True)
