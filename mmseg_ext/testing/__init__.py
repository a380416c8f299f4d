"""Test support that ships with the package.

:mod:`mmseg_ext.testing.golden` rebuilds the golden fixtures of
``tests/data/`` from the official code of each model; see
``tools/misc/make_golden.py``.
"""
