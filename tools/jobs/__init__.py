"""Main-job stages, one module per model family (see ``tools/main_job.py``).

Each module exposes ``run_job(work_dir: str, data_root: str) -> dict``: it
runs the user's commands (``mim train mmseg``, ``mim test mmseg_ext``,
``tools/fps_test.py``) on the real sample data under ``data_root`` and
returns the figures it measured.
"""
