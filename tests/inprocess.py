"""Run the users' train/test commands inside the test process.

A ``mim train`` / ``mim test`` subprocess spends ~8 s of CPU on start-up
(mim itself, then importing torch, mmseg and mmseg_ext again) before its
first iteration. Tests whose point is the training or testing itself, not
the command line's wiring, call the same entry points here: mmseg's
``tools/train.py`` (what ``mim train mmseg`` runs) and
:func:`mmseg_ext.tools.test.main` (what ``mim test mmseg_ext`` runs), with
the same arguments, from the repository root. The real subprocesses stay in
``tests/test_e2e/test_cityscapes_pipeline.py`` (``mim train``, ``mim test``,
the ``pytorch`` launcher), ``tests/test_zoo/test_tta.py`` (one ``mim test
--tta``) and ``tests/test_reliability/test_resume.py`` (SIGKILL + resume).

What a Runner changes process-wide (environment variables, torch's thread
count and deterministic flag, OpenCV's thread count, the working folder,
mmengine's named loggers, message hubs, visualizers and scopes) is
put back afterwards, so later tests run as before. Like
:func:`conftest.clean_env`, the run sees no
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` (torch reads it at each load).
"""
import glob
import os
import os.path as osp
import runpy
import sys
import time
import traceback
from collections import OrderedDict

import cv2
import mmseg
import torch
from conftest import REPO
from mmengine.utils import ManagerMixin

# what `mim train mmseg` runs
TRAIN = osp.join(osp.dirname(mmseg.__file__), '.mim', 'tools', 'train.py')
_last_start = [0]


def _new_second() -> None:
    """Wait for a new wall-clock second: mmengine names a run's logger and
    visualizer ``<config>_<timestamp to the second>`` and hands an existing
    instance back, which would log a second run into the first's folder."""
    while int(time.time()) <= _last_start[0]:
        time.sleep(0.05)
    _last_start[0] = int(time.time())


def _managed_classes(cls=ManagerMixin) -> list:
    """Every class below ``cls`` that keeps named instances (mmengine's
    loggers, message hubs, visualizers, scopes)."""
    found = []
    for sub in cls.__subclasses__():
        if '_instance_dict' in vars(sub):
            found.append(sub)
        found += _managed_classes(sub)
    return found


def _call(fn, argv):
    env, cwd, argv0 = dict(os.environ), os.getcwd(), sys.argv
    threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    _new_second()
    # a fresh process starts without named instances: mmseg's configs name
    # their visualizer 'visualizer', and get_instance would hand the first
    # run's back (its vis_data folder) to every later run
    managed = {c: vars(c)['_instance_dict'] for c in _managed_classes()}
    for c in managed:
        c._instance_dict = OrderedDict()
    # checkpoints load with torch's weights_only=True default, as users'
    # commands do (conftest.clean_env)
    os.environ.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    os.chdir(REPO)
    try:
        fn([str(a) for a in argv])
    finally:
        for c, instances in managed.items():
            c._instance_dict = instances
        sys.argv = argv0
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        torch.set_num_threads(threads)
        cv2.setNumThreads(cv_threads)
        torch.use_deterministic_algorithms(deterministic)


def _train(argv):
    sys.argv = [TRAIN, *argv]
    runpy.run_path(TRAIN, run_name='__main__')


def _test(argv):
    from mmseg_ext.tools.test import main
    main(argv)


def log_text(work_dir) -> str:
    """The text of every ``<timestamp>/<timestamp>.log`` under
    ``work_dir``, oldest first."""
    text = ''
    for path in sorted(glob.glob(osp.join(str(work_dir), '*', '*.log'))):
        with open(path) as f:
            text += f.read()
    return text


def train(argv) -> None:
    """``mim train mmseg ARGV`` in this process (``ARGV``: config path
    relative to the repository root, then train.py's options)."""
    _call(_train, argv)


def test(argv) -> None:
    """``mim test mmseg_ext ARGV`` in this process (``--checkpoint`` as
    mim spells it is accepted: mim passes it on as the positional)."""
    argv = [str(a) for a in argv]
    if '--checkpoint' in argv:
        i = argv.index('--checkpoint')
        argv = argv[:1] + [argv[i + 1]] + argv[1:i] + argv[i + 2:]
    _call(_test, argv)


def failure(fn, argv) -> str:
    """Run :func:`train` or :func:`test` expecting it to fail; return what
    the command would print: the traceback, after the run's log (the
    ``--work-dir`` one, where given).

    Raises:
        AssertionError: If the command succeeds.
    """
    argv = [str(a) for a in argv]
    try:
        fn(argv)
    except Exception as e:  # noqa: BLE001 - any failure is the result
        log = ''
        if '--work-dir' in argv:
            log = log_text(argv[argv.index('--work-dir') + 1])
        return log + ''.join(traceback.format_exception(e))
    raise AssertionError(f'{argv} succeeded; a failure was expected')


_RUN_SCRIPTS = r'''
import contextlib, io, json, runpy, sys
results = []
for argv in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    sys.argv = argv
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(argv[0], run_name='__main__')
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (e.code is not None)
    results.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(results))
'''


def run_scripts(runs, cwd, env) -> list:
    """Run each ``[script path, arg, ...]`` of ``runs`` as ``python script
    arg ...`` would (as ``__main__``, ``sys.argv`` set), one after the other
    in ONE fresh interpreter started in ``cwd`` with ``env``: the imports
    are paid once instead of once per script.

    Returns:
        list: ``(exit code, stdout, stderr)`` per run, in order.

    Raises:
        AssertionError: If the interpreter itself fails.
    """
    import json
    import subprocess
    runs = [[str(a) for a in run] for run in runs]
    proc = subprocess.run(
        [sys.executable, '-c', _RUN_SCRIPTS,
         json.dumps(runs)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [tuple(r) for r in json.loads(proc.stdout.strip().splitlines()[-1])]
