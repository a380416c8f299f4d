"""Deployment of the SFNet-R18 checkpoint the ``sfnet`` stage trained.

Runs after the ``sfnet`` stage, on its ``train/iter_40.pth``:

1. ``python tools/deploy/deploy.py configs/deploy/segmentation_openvino_
   static-512x1024.py <R18 config> <checkpoint> <a sample image> --shape
   256 512``: ONNX (and OpenVINO IR) at the sample's test input size, with
   the backend's max abs diff against PyTorch in ``deploy.json``;
2. ``mim test mmseg_ext <R18 config> --checkpoint <export> --backend
   onnxruntime`` and ``--backend openvino`` (fp32): mIoU on the sample's
   val images, printed beside the checkpoint's (the ``sfnet`` stage's test);
3. ``mim test mmseg_ext <R18 cityscapes-test config> --checkpoint <export>
   --backend openvino --format-only``: the Cityscapes server submission
   through OpenVINO, compared pixel by pixel with the ``sfnet`` stage's
   checkpoint submission;
4. ``tools/fps_test.py --backend pytorch onnxruntime openvino openvino:bf16
   --backend-model <export>`` at 256x512: one table, each row's speed-up
   over eager fp32 PyTorch of the same run.
"""
import glob
import json
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np
from PIL import Image

from .cityscapes import cityscapes_root, cityscapes_test_options
from .options import load_config
from .outputs import read_test_metrics
from .sfnet import ITERS, R18, R18_TEST
from .stage import FpsRun, Stage, mim_test
from .stage import run as run_command

BACKENDS = ('onnxruntime', 'openvino')
SUBMISSION_BACKEND = 'openvino'
SHAPE = (256, 512)  # the sfnet stage's test resize of the 128x256 samples
DEPLOY_CFG = 'configs/deploy/segmentation_openvino_static-512x1024.py'
DEPLOY_TOOL = osp.join('tools', 'deploy', 'deploy.py')


@dataclass
class DeployRun:
    """Export ``checkpoint`` and evaluate it through ``backends``.

    Args:
        config / test_config: The model's val and ``-test`` configs.
        checkpoint: The trained checkpoint (from an earlier stage).
        reference: That stage's folder (``test/``, ``submission/``).
        shape: Export input (H, W).
        sample: The sample image of ``tools/deploy/deploy.py``.
        test_options / submission_options: ``--cfg-options`` of the
            ``mim test`` runs on val and of the format-only run.
    """
    config: str
    test_config: str
    checkpoint: str
    reference: str
    shape: tuple
    sample: str
    test_options: List[str]
    submission_options: List[str]
    backends: tuple = BACKENDS
    submission_backend: str = SUBMISSION_BACKEND
    result: Dict = field(default_factory=dict)


def export_step(run: DeployRun, export_dir: str, repo: str) -> dict:
    """``tools/deploy/deploy.py`` on ``run.checkpoint`` into ``export_dir``;
    returns its ``deploy.json``.

    Raises:
        FileNotFoundError: If the checkpoint is missing (run the ``sfnet``
            stage first).
    """
    if not osp.isfile(run.checkpoint):
        raise FileNotFoundError(
            f'{run.checkpoint} not found: the deploy stage exports the '
            'checkpoint of the sfnet stage; run `--jobs sfnet,deploy`')
    run_command([
        sys.executable, DEPLOY_TOOL, DEPLOY_CFG, run.config, run.checkpoint,
        run.sample, '--work-dir', export_dir, '--shape',
        str(run.shape[0]),
        str(run.shape[1])
    ], repo)
    with open(osp.join(export_dir, 'deploy.json')) as f:
        return json.load(f)


def pixel_agreement(ref_dir: str, out_dir: str) -> float:
    """Fraction of equal pixels over the PNGs of ``ref_dir`` (all present
    in ``out_dir`` under the same names).

    Raises:
        RuntimeError: If the two folders hold different file names.
    """
    names = sorted(f for f in os.listdir(ref_dir) if f.endswith('.png'))
    if names != sorted(f for f in os.listdir(out_dir) if f.endswith('.png')):
        raise RuntimeError(f'{ref_dir} and {out_dir} hold different PNGs')
    equal = total = 0
    for name in names:
        ref = np.asarray(Image.open(osp.join(ref_dir, name)))
        got = np.asarray(Image.open(osp.join(out_dir, name)))
        equal += int((ref == got).sum())
        total += ref.size
    return equal / max(total, 1)


def run_deploy(run: DeployRun, work: str, repo: str) -> dict:
    """Export, evaluate through each backend, write the submission.

    Returns:
        dict: ``mIoU`` (``{'checkpoint': ..., backend: ...}``),
        ``submission_pngs`` and ``submission_agreement`` (vs the
        checkpoint's submission).
    """
    export = osp.join(work, 'export')
    info = export_step(run, export, repo)
    miou = dict(
        checkpoint=read_test_metrics(osp.join(run.reference, 'test'))['mIoU'])
    for backend in run.backends:
        test_dir = osp.join(work, f'test_{backend}')
        mim_test(run.config, export, test_dir, run.test_options, repo,
                 '--backend', backend, '--precision', 'fp32')
        miou[backend] = read_test_metrics(test_dir)['mIoU']
    out = osp.join(work, 'submission')
    mim_test(run.test_config, export, osp.join(work, 'format'),
             run.submission_options, repo, '--backend', run.submission_backend,
             '--format-only', '--out', out)
    return dict(
        export=export,
        max_abs_diff_vs_pytorch=info.get('max_abs_diff_vs_pytorch'),
        mIoU=miou,
        submission_pngs=len([f for f in os.listdir(out)
                             if f.endswith('.png')]),
        submission_agreement=pixel_agreement(
            osp.join(run.reference, 'submission'), out))


def build(repo: str, data_root: str, work: str) -> Stage:
    """The deploy stage (see the module docstring); ``work`` is
    ``<main-job work dir>/deploy``, the sfnet stage's folder its sibling."""
    root = cityscapes_root(data_root)
    cfg, test_cfg = (load_config(osp.join(repo, c)) for c in (R18, R18_TEST))
    sfnet = osp.join(osp.dirname(work), 'sfnet')
    sample = sorted(
        glob.glob(osp.join(root, 'leftImg8bit', 'val', '*', '*.png')))[0]
    run = DeployRun(
        R18,
        R18_TEST,
        osp.join(sfnet, 'train', f'iter_{ITERS}.pth'),
        sfnet,
        SHAPE,
        sample,
        test_options=cityscapes_test_options(cfg, root),
        submission_options=cityscapes_test_options(test_cfg, root))
    export = osp.join(work, 'export')
    fps = FpsRun([R18], SHAPE[0], SHAPE[1], 3,
                 ('--backend', 'pytorch', 'onnxruntime', 'openvino',
                  'openvino:bf16', '--backend-model', export))
    return Stage({}, deploy=run, fps=fps)


def figures(result: dict) -> dict:
    """mIoU of the checkpoint and through each backend, the submission
    (PNG count, agreement with the checkpoint's) and the FPS table."""
    deploy = result['deploy']
    values = {f'mIoU_{k}': v for k, v in deploy['mIoU'].items()}
    return dict(
        **values,
        max_abs_diff_vs_pytorch=deploy['max_abs_diff_vs_pytorch'],
        submission_backend=SUBMISSION_BACKEND,
        submission_pngs=deploy['submission_pngs'],
        submission_pixel_agreement=deploy['submission_agreement'],
        export=deploy['export'],
        fps_table=result['fps_table'])
