"""The commands README.md and the docs show work as written (issue 21: "README literal").

What counts as a command (the convention the docs follow, README "Development"):

* a line ``$ turingformer ...`` in a fenced block is a transcript: the command is run and every
  output line shown under it must appear in what it prints (in order), with the exit status the
  transcript implies (2 after ``error:``, 1 after ``DIVERGENCE`` / ``NOT MET``, else 0);
* every line of a ```` ```sh ````, ```` ```bash ```` or ```` ```console ```` block is a command
  and must exit 0; synopses with placeholders (FILE, W) are written in ```` ```text ```` blocks;
* the ```` ```python ```` blocks of README.md run in order in one namespace.

Every such command of README.md runs, and every transcript of docs/. The ```` ```sh ```` lines of
docs/ are checked to parse (each ``turingformer`` invocation in them) rather than run, to keep the
test fast (they draw figures and decode programs the README's commands already exercise); they were
run by hand when written.

Commands that only set up the project, run for minutes or forever (``make``, ``census``,
``serve``, the benchmarks, Jupyter) are listed in :data:`NOT_RUN` with the reason, and are
checked to parse instead. Speed: a plain ``turingformer`` command runs in this process
(``turingformer.cli.main`` on the shell's words), a command with shell syntax (pipes, ``<(...)``,
``&&``) in bash with this venv's ``turingformer`` first on the PATH; everything runs in a
temporary folder holding links to the checkout's inputs, so outputs never land in the checkout.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from turingformer.cli import build_parser, main

from paths import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: Not run, with why; each must still parse (a turingformer command) or name a real target (make).
NOT_RUN = {
    "make ": "sets up .venv or runs the whole suite (the CI runs it)",
    "turingformer census": "minutes of work (benchmarks/census.py regenerates docs/census.md)",
    "turingformer serve": "runs until Ctrl-C (tests/serve/ starts it)",
    "turingformer demo": "make demo runs it",
}
#: What a temporary working folder links to: the inputs the docs' commands read.
INPUTS = ("machines", "tests", "benchmarks", "docs", "notebooks")
SHELL = re.compile(r"[|<>&;]|\$\(")


def fenced_blocks(path: Path):
    """(language, first line number, lines) of every fenced block of a Markdown file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    k = 0
    while k < len(lines):
        opening = re.match(r"^```(\S*)", lines[k])
        if opening:
            end = next(j for j in range(k + 1, len(lines)) if lines[j].startswith("```"))
            yield opening.group(1), k + 2, lines[k + 1:end]
            k = end
        k += 1


def strip_comment(command: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` after two spaces, outside quotes)."""
    return re.split(r"\s{2,}#\s", command, maxsplit=1)[0].strip()


def commands():
    """pytest params: (command, expected output lines, where)."""
    found = []
    for path in DOCS:
        for language, first, lines in fenced_blocks(path):
            where = f"{path.relative_to(ROOT)}:{first}"
            if language in ("sh", "bash", "console"):
                for offset, line in enumerate(lines):
                    if line.strip() and not line.lstrip().startswith("#"):
                        found.append((strip_comment(line), None, f"{path.relative_to(ROOT)}:{first + offset}"))
            elif language == "" and any(line.startswith("$ ") for line in lines):
                for offset, line in enumerate(lines):
                    if line.startswith("$ "):
                        shown = []
                        for after in lines[offset + 1:]:
                            if after.startswith("$ "):
                                break
                            shown.append(after.rstrip())
                        found.append((strip_comment(line[2:]), shown, f"{path.relative_to(ROOT)}:{first + offset}"))
    return found


COMMANDS = commands()


def test_the_docs_have_commands_to_check():
    assert len(COMMANDS) >= 25 and any(c.startswith("turingformer compile") for c, _, _ in COMMANDS)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkout")
    for name in INPUTS:
        (folder / name).symlink_to(ROOT / name, target_is_directory=True)
    return folder


def run_here(command: str, folder: Path) -> tuple[int, str]:
    """Exit status and stdout + stderr of ``command`` run in ``folder``."""
    words = shlex.split(command)
    if words[0] == "turingformer" and not SHELL.search(command):
        out = io.StringIO()
        previous = os.getcwd()
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                status = main(words[1:])
        finally:
            os.chdir(previous)
        return status, out.getvalue()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("command, shown, where", COMMANDS, ids=[w for _, _, w in COMMANDS])
def test_a_documented_command_works_as_written(command, shown, where, workdir):
    skipped = next((why for prefix, why in NOT_RUN.items() if command.startswith(prefix)), None)
    if skipped:
        if command.startswith("turingformer"):
            build_parser().parse_args(shlex.split(command)[1:])      # at least it parses
        else:
            target = shlex.split(command)[1]
            assert re.search(rf"^{re.escape(target)}:", (ROOT / "Makefile").read_text(), re.M), where
        return
    if shown is None and not where.startswith("README.md"):
        for part in re.split(r"\||<\(|\)|&&|>", command):
            words = shlex.split(part.strip()) if part.strip() else []
            if words and words[0] == "turingformer":
                build_parser().parse_args(words[1:])
        return
    status, output = run_here(command, workdir)
    text = "\n".join(shown or ())
    expected = 2 if "error:" in text else 1 if ("DIVERGENCE" in text or "NOT MET" in text) else 0
    assert status == expected, f"{where}: {command} exited {status}\n{output[-2000:]}"
    got = [line.rstrip() for line in output.splitlines()]
    position = 0
    for line in shown or ():
        if not line.strip():
            continue
        assert line in got[position:], f"{where}: {command}\n  missing: {line!r}\n  got:\n" + "\n".join(got[:60])
        position = got.index(line, position) + 1


def test_the_readme_python_runs(workdir):
    blocks = [lines for language, _, lines in fenced_blocks(ROOT / "README.md") if language == "python"]
    assert len(blocks) >= 2
    namespace: dict = {}
    previous = os.getcwd()
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for lines in blocks:
                exec(compile("\n".join(lines), "README.md", "exec"), namespace)
    finally:
        os.chdir(previous)
    assert namespace["result"].ok
