"""Test support that ships with the package.

:mod:`tools.fidelity.golden` rebuilds the golden fixtures of
``tests/data/`` from the official code of each model; see
``tools/misc/make_golden.py``.
"""
