"""Figures and tables of the documentation, made from result files.

Every measurement the docs show comes from a file under
``docs/en/results/`` that a command wrote, never from text typed by hand:

- :mod:`.record` runs the command that produces a result (``tools/
  fps_test.py ... --out X.fps.json``, ``mim train ...``) and writes its
  sidecar ``X.fps.meta.json``: date, CPU model and ISA flags, torch version
  and the exact command line;
- :mod:`.results` reads a result with its metadata and checks the keys the
  pages need (a missing one names the file and the key);
- :mod:`.render` turns every result into a Markdown section (headed by that
  metadata) and, where it helps, a matplotlib figure under
  ``docs/en/_generated/``, which ``docs/en/benchmarks.md`` and
  ``docs/en/model_zoo.md`` include.

Run from the repository root: ``python -m tools.docs.record`` and
``python -m tools.docs.render``.
"""
