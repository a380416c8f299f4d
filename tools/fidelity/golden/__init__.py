"""Builders of the golden fixtures in ``tests/data/``.

Each module ``tools.fidelity.golden.<name>`` exposes
``build(out_path, **opts)``, which imports the official code (put on
``PYTHONPATH`` by the user) only when called, and writes
``tests/data/<name>_golden.pth`` (the training-step builders
``<family>_train``: ``tests/data/golden/<family>_train_golden.pth``; their
shared part is ``_train_step``). ``tools/misc/make_golden.py <name>`` is the
command line.
"""
