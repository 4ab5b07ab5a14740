"""Puts ``tests/`` on ``sys.path`` (pytest's prepend import mode inserts a conftest's folder), so
that test modules in the subfolders import the shared helpers ``paths`` and ``strategies``."""
