"""Writing files so that no command can destroy its input or a previous output.

Every output of turingformer (a model, YAML, DOT, a figure, HTML) is written by :func:`atomic_path`
or :func:`write_atomic`: the bytes go to a temporary file in the destination's directory, are
flushed to disk, and the temporary file is renamed over the destination (``os.replace``, atomic
on POSIX and Windows). A kill, a full disk or a concurrent writer therefore leaves either the old
file or a complete new one, never a truncated mix; two concurrent writers each rename a complete
file and the last one wins. :func:`same_file` lets the CLI refuse ``convert F -o F``.

Layer 0, beside :mod:`turingformer.errors` (and importing nothing of turingformer): the model
files and the CLI both write through it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

#: Standard input / output in a file argument.
STDIO = "-"


def _mode_for(path: Path) -> int:
    """The permissions a plain ``open(path, 'w')`` would give: the old file's, else 0666 & ~umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends normally, rename it to ``path``.

    When the block raises (or is interrupted), the temporary file is removed and ``path`` is
    untouched. For writers that want a file name (``matplotlib.savefig``); see :func:`write_atomic`.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as error:        # name the file the user asked for, not the temporary one
        raise type(error)(error.errno, error.strerror, str(target)) from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically (see the module docstring)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_path(path) as temporary:
        temporary.write_bytes(raw)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name one existing file (hard links and symlinks included)."""
    if STDIO in (str(a), str(b)):
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False

