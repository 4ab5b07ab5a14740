"""Shim for tools that still call ``setup.py``; all metadata lives in setup.cfg.

The one compiled piece is the exact inner step of the fast decoder, plain C loaded with ctypes
(turingformer/runtime/compiled.py). It is optional: without a C compiler the install still
succeeds and the decoder runs its Python path.
"""
from setuptools import Extension, setup

setup(ext_modules=[Extension("turingformer.runtime._kernel", ["turingformer/runtime/_kernel.c"], optional=True)])
