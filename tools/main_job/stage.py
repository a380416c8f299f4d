"""One description of a main-job stage and the one cycle that runs it.

A :class:`Stage` is what a model family's step of the main job is: commands
to run first (dataset converters), one :class:`ModelRun` per model
(config, test config, ``--cfg-options``), and an optional :class:`FpsRun`.
:func:`run_stage` runs it through the users' commands, from the repository
root: for each model ``mim train mmseg`` -> ``mim test mmseg_ext`` -> the
optional ``--format-only`` submission and extra evaluations, then
``tools/fps_test.py``.
"""
import os
import os.path as osp
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from .outputs import read_losses, read_test_metrics

MIM = osp.join(osp.dirname(sys.executable), 'mim')
FPS_TEST = osp.join('tools', 'fps_test.py')


def run(cmd: List[str], cwd: str) -> float:
    """Run ``cmd`` from ``cwd``, echoing it; raise on failure.

    Returns:
        float: The command's wall time, s.

    Raises:
        subprocess.CalledProcessError: If the command exits non-zero.
    """
    print('+', ' '.join(map(str, cmd)), flush=True)
    start = time.perf_counter()
    subprocess.run([str(c) for c in cmd], cwd=cwd, check=True)
    return time.perf_counter() - start


@dataclass
class ModelRun:
    """One model's train -> test cycle.

    Args:
        config: Config path, relative to the repository root.
        iters: Training iterations (the checkpoint is ``iter_<iters>.pth``).
        train_options: ``--cfg-options`` of ``mim train mmseg``.
        test_options: ``--cfg-options`` of ``mim test mmseg_ext``.
        submission: ``(test config, --cfg-options)`` of a
            ``--format-only`` run on the checkpoint, or None.
        extra_tests: ``{name: --cfg-options}`` of more ``mim test`` runs of
            ``config`` on the checkpoint (e.g. another evaluator), written
            under ``test_<name>``.
        losses: Logged keys to read besides ``loss``.
    """
    config: str
    iters: int
    train_options: List[str]
    test_options: List[str]
    submission: Optional[tuple] = None
    extra_tests: Dict[str, List[str]] = field(default_factory=dict)
    losses: Sequence[str] = ()


@dataclass
class FpsRun:
    """A ``tools/fps_test.py`` call on CPU: one warm-up, ``iters`` timed
    passes at ``height`` x ``width``; ``options`` go before the size."""
    configs: Sequence[str]
    height: int
    width: int
    iters: int
    options: Sequence[str] = ()


@dataclass
class Stage:
    """A model family's step of the main job.

    Args:
        runs: ``{name: ModelRun}``; each works under ``<work>/<name>``
            (name ``''``: the stage's folder itself).
        prepare: Callables run first, in order (dataset converters).
        fps: The speed table to measure last, or None.
        deploy: An export + backend evaluation (:class:`~.deploy.
            DeployRun`), run after ``runs`` and before ``fps``, or None.
        after: Callables run after ``runs`` (pictures of the trained
            model); each returns a dict merged into the stage's result.
    """
    runs: Dict[str, ModelRun]
    prepare: Sequence[Callable[[], None]] = ()
    fps: Optional[FpsRun] = None
    deploy: Optional[object] = None
    after: Sequence[Callable[[], dict]] = ()


def mim_test(config: str, checkpoint: str, work_dir: str, options: List[str],
             repo: str, *extra: str) -> float:
    """``mim test mmseg_ext config --checkpoint ... --work-dir ...``;
    returns its wall time, s."""
    return run([
        MIM, 'test', 'mmseg_ext', config, '--checkpoint', checkpoint, *extra,
        '--work-dir', work_dir, '--cfg-options', *options
    ], repo)


def run_model(model: ModelRun, work: str, repo: str) -> dict:
    """Train, test, and optionally submit and re-evaluate ``model``.

    Returns:
        dict: ``checkpoint``; ``losses`` (``{key: logged values}``, ``loss``
        first); ``metrics`` (the test summary); ``submission_pngs`` (with a
        submission); ``extra`` (``{name: test summary}``);
        ``train_seconds`` and ``test_seconds`` (wall times of ``mim train``
        and of the first ``mim test``).
    """
    train_dir = osp.join(work, 'train')
    ckpt = osp.join(train_dir, f'iter_{model.iters}.pth')
    train_seconds = run([
        MIM, 'train', 'mmseg', model.config, '--work-dir', train_dir,
        '--cfg-options', *model.train_options
    ], repo)
    test_dir = osp.join(work, 'test')
    test_seconds = mim_test(model.config, ckpt, test_dir, model.test_options,
                            repo)
    result = dict(
        checkpoint=ckpt,
        train_seconds=train_seconds,
        test_seconds=test_seconds,
        losses={
            key: read_losses(train_dir, key)
            for key in ('loss', *model.losses)
        },
        metrics=read_test_metrics(test_dir),
        extra={})
    if model.submission:
        test_config, options = model.submission
        out = osp.join(work, 'submission')
        mim_test(test_config, ckpt, osp.join(work, 'format'), options, repo,
                 '--format-only', '--out', out)
        result['submission_pngs'] = len(
            [f for f in os.listdir(out) if f.endswith('.png')])
    for name, options in model.extra_tests.items():
        test_dir = osp.join(work, f'test_{name}')
        mim_test(model.config, ckpt, test_dir, options, repo)
        result['extra'][name] = read_test_metrics(test_dir)
    return result


def fps_table(fps: FpsRun, out: str, repo: str) -> str:
    """Run ``tools/fps_test.py`` for ``fps``; return its Markdown table
    (also written to ``out``)."""
    run([
        sys.executable, FPS_TEST, *fps.configs, *fps.options, '--height',
        str(fps.height), '--width',
        str(fps.width), '--device', 'cpu', '--warmup', '1', '--iters',
        str(fps.iters), '--out', out
    ], repo)
    with open(out) as f:
        return f.read()


def run_stage(stage: Stage, work: str, repo: str) -> dict:
    """Run ``stage`` under ``work``, commands from ``repo``.

    Returns:
        dict: ``{run name: run_model(...) result}``, with ``deploy`` its
        :func:`~.deploy.run_deploy` result, with ``fps`` ``fps_table``.
    """
    for step in stage.prepare:
        step()
    result = {
        name: run_model(model, osp.join(work, name), repo)
        for name, model in stage.runs.items()
    }
    for step in stage.after:
        result.update(step())
    if stage.deploy:
        from .deploy import run_deploy
        result['deploy'] = run_deploy(stage.deploy, work, repo)
    if stage.fps:
        result['fps_table'] = fps_table(stage.fps, osp.join(work, 'fps.md'),
                                        repo)
    return result


def first_last(values: List[float], prefix: str = 'loss') -> dict:
    """``{<prefix>_first: values[0], <prefix>_last: values[-1]}``."""
    return {f'{prefix}_first': values[0], f'{prefix}_last': values[-1]}
