"""Deployment of the main job's model: the CamVid SFNet-R18 checkpoint.

Runs after the ``camvid`` stage, on its ``train/iter_800.pth``:

1. ``python tools/deploy/deploy.py configs/deploy/segmentation_openvino_
   static-512x1024.py <camvid config> <checkpoint> <a val frame> --shape
   360 480``: ONNX and OpenVINO IR at the frames' size, with the backend's
   max abs diff against PyTorch in ``deploy.json``;
2. ``mim test mmseg_ext <camvid config> --checkpoint <export> --backend B
   --precision P`` for every (B, P) of :data:`BACKENDS`: mIoU on all 101
   val frames, beside the checkpoint's own (the ``camvid`` stage's test);
3. ``tools/fps_test.py --backend pytorch onnxruntime openvino openvino:bf16
   --backend-model <export>`` at 360x480: one table, each row's speed-up
   over eager fp32 PyTorch of the same run.

The fp32 backends must match PyTorch's mIoU within 0.1 (issue 21); bf16
is an approximate path with its own contract (0.5 mIoU).
"""
import json
import os.path as osp
import sys
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from .camvid import CONFIG, PICTURE_FRAMES, camvid_root, checkpoint_path
from .camvid import data_options as camvid_options
from .outputs import read_test_metrics
from .stage import FpsRun, Stage, mim_test
from .stage import run as run_command

#: (backend, precision) pairs evaluated on val.
BACKENDS = (('onnxruntime', 'fp32'), ('openvino', 'fp32'), ('openvino',
                                                            'bf16'))
SHAPE = (360, 480)  # CamVid frames, (H, W)
DEPLOY_CFG = 'configs/deploy/segmentation_openvino_static-512x1024.py'
DEPLOY_TOOL = osp.join('tools', 'deploy', 'deploy.py')


@dataclass
class DeployRun:
    """Export ``checkpoint`` and evaluate it through ``backends``.

    Args:
        config: The model's config.
        checkpoint: The trained checkpoint (from an earlier stage).
        reference: That stage's folder (its ``test/`` holds PyTorch's
            metrics).
        shape: Export input (H, W).
        sample: The sample image of ``tools/deploy/deploy.py``.
        test_options: ``--cfg-options`` of the ``mim test`` runs on val.
        backends: (backend, precision) pairs.
    """
    config: str
    checkpoint: str
    reference: str
    shape: Tuple[int, int]
    sample: str
    test_options: List[str]
    backends: Sequence[Tuple[str, str]] = BACKENDS


def export_step(run: DeployRun, export_dir: str, repo: str) -> dict:
    """``tools/deploy/deploy.py`` on ``run.checkpoint`` into ``export_dir``;
    returns its ``deploy.json``.

    Raises:
        FileNotFoundError: If the checkpoint is missing (run the ``camvid``
            stage first).
    """
    if not osp.isfile(run.checkpoint):
        raise FileNotFoundError(
            f'{run.checkpoint} not found: the deploy stage exports the '
            'checkpoint of the camvid stage; run `--jobs camvid,deploy`')
    run_command([
        sys.executable, DEPLOY_TOOL, DEPLOY_CFG, run.config, run.checkpoint,
        run.sample, '--work-dir', export_dir, '--shape',
        str(run.shape[0]),
        str(run.shape[1])
    ], repo)
    with open(osp.join(export_dir, 'deploy.json')) as f:
        return json.load(f)


def run_deploy(run: DeployRun, work: str, repo: str) -> dict:
    """Export, then evaluate through each backend.

    Returns:
        dict: ``export``, ``max_abs_diff_vs_pytorch`` and ``mIoU``
        (``{'pytorch': ..., '<backend> <precision>': ...}``).
    """
    export = osp.join(work, 'export')
    info = export_step(run, export, repo)
    miou: Dict[str, float] = dict(
        pytorch=read_test_metrics(osp.join(run.reference, 'test'))['mIoU'])
    for backend, precision in run.backends:
        test_dir = osp.join(work, f'test_{backend}_{precision}')
        mim_test(run.config, export, test_dir, run.test_options, repo,
                 '--backend', backend, '--precision', precision)
        miou[f'{backend} {precision}'] = read_test_metrics(test_dir)['mIoU']
    return dict(
        export=export,
        max_abs_diff_vs_pytorch=info.get('max_abs_diff_vs_pytorch'),
        mIoU=miou)


def build(repo: str, data_root: str, work: str) -> Stage:
    """The deploy stage (see the module docstring); ``work`` is
    ``<main-job work dir>/deploy``, the camvid stage's folder its
    sibling."""
    root = camvid_root(data_root)
    camvid = osp.join(osp.dirname(work), 'camvid')
    run = DeployRun(
        CONFIG,
        checkpoint_path(camvid),
        camvid,
        SHAPE,
        osp.join(root, 'val', PICTURE_FRAMES[0]),
        test_options=camvid_options(root))
    export = osp.join(work, 'export')
    fps = FpsRun([CONFIG], SHAPE[0], SHAPE[1], 5,
                 ('--backend', 'pytorch', 'onnxruntime', 'openvino',
                  'openvino:bf16', '--backend-model', export))
    return Stage({}, deploy=run, fps=fps)


def figures(result: dict) -> dict:
    """mIoU of the checkpoint and through each backend (with the
    difference to PyTorch's), the max abs diff and the FPS table."""
    deploy = result['deploy']
    miou = deploy['mIoU']
    values = {f'mIoU_{k.replace(" ", "_")}': v for k, v in miou.items()}
    deltas = {
        f'mIoU_delta_{k.replace(" ", "_")}': round(v - miou['pytorch'], 2)
        for k, v in miou.items() if k != 'pytorch'
    }
    return dict(
        **values,
        **deltas,
        max_abs_diff_vs_pytorch=deploy['max_abs_diff_vs_pytorch'],
        export=deploy['export'],
        fps_table=result['fps_table'])
