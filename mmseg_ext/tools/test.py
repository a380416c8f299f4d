"""Test (and evaluate, or format for a test server) an mmseg model.

mmseg 1.x's ``tools/test.py`` dropped ``--format-only``; this entry point
restores it and otherwise behaves like mmseg's script (same flags). It is what
``mim test mmseg_ext CONFIG --checkpoint CKPT [...]`` runs, and also
``python tools/test.py CONFIG CKPT [...]`` from the repository.

Cityscapes test-server submission::

    mim test mmseg_ext \\
        configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-test.py \\
        --checkpoint sfnet_r18.pth --format-only --out work_dirs/submission

``--format-only`` writes one labelIds PNG per test image
(``<city>_<seq>_<frame>_leftImg8bit.png``, trainId -> labelId through
cityscapesscripts) for Cityscapes datasets, or one class-index PNG per image
for other datasets, computes no metric and needs no ground truth (any
``LoadAnnotations`` is dropped from the test pipeline); it is the one place
where format-only is set up (:func:`format_only_evaluator`): the
``*_cityscapes-test.py`` configs only name the unlabelled test split, and
without ``--format-only`` they are refused. Files are written to
``OUT.partial`` and renamed to ``OUT`` only once every image is written, so an
interrupted run never leaves a directory that looks complete; an existing
``OUT`` is refused rather than mixed with new files.

Exported models (``tools/deploy/deploy.py``) are evaluated the same way,
with the config's evaluator, through an inference backend: ``--backend
onnxruntime|openvino [--precision fp32|bf16|int8]`` and the export (its
folder or ``end2end.onnx``) as the checkpoint or as ``--backend-model``::

    mim test mmseg_ext CONFIG --checkpoint work_dirs/deploy_r18 \\
        --backend openvino --precision bf16

``--precision int8`` evaluates the export's quantized model (``end2end.int8
.xml`` / ``.onnx``, :mod:`mmseg_ext.deploy.quantize`); an export without one
for the backend is refused, naming the file.

(see :func:`add_backend_args`, :mod:`mmseg_ext.deploy.segmentor`).

Checkpoints written by mmengine load under torch's ``weights_only=True``
(``import mmseg_ext`` allow-lists what they hold; see
:mod:`mmseg_ext.utils.checkpoint`). The checkpoint must match the config's
model key by key and shape by shape (mmengine itself loads with
``strict=False`` and would evaluate a half-initialised model after printing
warnings): any missing, unexpected or mis-shaped key stops the run before
evaluation (:func:`check_checkpoint_matches_model`), unless
``--allow-partial-load`` asks for a partial load on purpose.
"""
import argparse
import copy
import os
import os.path as osp
import re
import shutil
from typing import List, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.dist import is_main_process
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmseg_ext  # noqa: F401  registers components and checkpoint globals
from mmseg_ext.utils.atomic_io import publish_dir, staging_dir_for
from mmseg_ext.utils.checkpoint import (check_checkpoint_file,
                                        state_dict_mismatch)
from mmseg_ext.utils.cli import add_cfg_options


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='MMSeg test (and eval, or format-only) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file (with --backend: the exported model, unless '
        '--backend-model names it)')
    parser.add_argument(
        '--work-dir',
        help='directory for logs and the metric json '
        '(default: ./work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='directory for the predictions (with --format-only: default '
        '<work-dir>/format_results)')
    parser.add_argument(
        '--format-only',
        action='store_true',
        help='only write predictions in the dataset\'s submission format '
        '(Cityscapes: labelIds PNGs), without evaluation or ground truth')
    parser.add_argument(
        '--allow-partial-load',
        action='store_true',
        help='test even if the checkpoint does not match the model (missing, '
        'unexpected or mis-shaped keys; listed as a warning). Without it '
        'such a checkpoint is refused before anything is evaluated')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir', help='directory where painted images will be saved')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    add_cfg_options(parser, example='test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_backend_args(parser)
    args = parser.parse_args(argv)
    check_backend_args(parser, args)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def add_backend_args(parser: argparse.ArgumentParser) -> None:
    """``--backend``, ``--precision``, ``--backend-model``,
    ``--backend-device``: evaluate an exported model instead of a
    checkpoint."""
    group = parser.add_argument_group(
        'exported model', 'evaluate an ONNX export (tools/deploy/deploy.py) '
        'through an inference backend instead of a checkpoint')
    group.add_argument(
        '--backend',
        choices=('onnxruntime', 'openvino', 'tensorrt'),
        help='inference backend running the exported model')
    group.add_argument(
        '--precision',
        choices=('fp32', 'bf16', 'fp16', 'int8'),
        default='fp32',
        help='backend inference precision (default fp32; bf16: OpenVINO '
        'on CPUs with AVX512-BF16; int8: the quantized model of the export, '
        'end2end.int8.onnx / end2end.int8.xml)')
    group.add_argument(
        '--backend-model',
        help='the export folder or its end2end.onnx / end2end.xml (default: '
        'the checkpoint argument)')
    group.add_argument(
        '--backend-device', default='cpu', help='backend device (cpu)')
    group.add_argument(
        '--allow-config-mismatch',
        action='store_true',
        help="evaluate the export even if its deploy.json records another "
        'model config than CONFIG (without it such an export is refused)')


def check_backend_args(parser: argparse.ArgumentParser,
                       args: argparse.Namespace) -> None:
    """Exit (status 2) on inconsistent checkpoint / backend arguments."""
    if args.backend is None:
        if args.backend_model:
            parser.error('--backend-model needs --backend')
        if args.allow_config_mismatch:
            parser.error('--allow-config-mismatch needs --backend')
        if args.checkpoint is None:
            parser.error('the checkpoint argument is required')
        return
    args.backend_model = args.backend_model or args.checkpoint
    if args.backend_model is None:
        parser.error('--backend needs the exported model: --backend-model '
                     'DIR_OR_ONNX (or give it as the checkpoint)')
    if not osp.exists(args.backend_model):
        parser.error(f'exported model not found: {args.backend_model}')
    if args.tta:
        parser.error('--tta is not supported with --backend')


def setup_backend(cfg: Config, args: argparse.Namespace) -> None:
    """Replace ``cfg.model`` by a :class:`~mmseg_ext.deploy.segmentor.
    BackendSegmentor` running ``args.backend_model``; nothing is loaded
    from a checkpoint.

    Raises:
        ValueError: If the export records another model config
            (:func:`~mmseg_ext.deploy.identity.check_export_matches_config`),
            unless ``--allow-config-mismatch``.
    """
    from mmseg_ext.deploy.identity import check_export_matches_config
    from mmseg_ext.deploy.segmentor import backend_model_cfg
    check_export_matches_config(args.backend_model, cfg,
                                args.allow_config_mismatch)
    cfg.model = backend_model_cfg(cfg.model, args.backend_model, args.backend,
                                  args.precision, args.backend_device)
    cfg.load_from = None


def drop_annotations(pipeline: list) -> list:
    """The test pipeline without ``LoadAnnotations`` (test images have no
    ground truth), also inside a ``TestTimeAug`` (``--tta``), whose
    ``transforms`` is a list of lists of alternatives."""
    out = []
    for t in pipeline:
        if t.get('type') == 'LoadAnnotations':
            continue
        if t.get('type') == 'TestTimeAug':
            t = copy.deepcopy(t)
            t['transforms'] = [
                alts for alts in (drop_annotations(a) for a in t['transforms'])
                if alts
            ]
        out.append(t)
    return out


def format_only_evaluator(dataset_type: str, output_dir: str) -> ConfigDict:
    """The evaluator ``--format-only`` uses for ``dataset_type``.

    The one place where format-only is set up: Cityscapes datasets get
    :class:`~mmseg_ext.evaluation.CityscapesEvalMetric` (labelIds PNGs for
    the test server), any other dataset mmseg's ``IoUMetric`` (class-index
    PNGs); both write into ``output_dir`` and compute nothing.
    """
    if 'Cityscapes' in str(dataset_type):
        return ConfigDict(
            type='CityscapesEvalMetric',
            format_only=True,
            keep_results=True,
            output_dir=output_dir)
    return ConfigDict(
        type='IoUMetric', format_only=True, output_dir=output_dir)


def setup_format_only(cfg: Config, out_dir: str) -> str:
    """Point the test loop at a staging dir next to ``out_dir``; return it.

    The test pipeline loses any ``LoadAnnotations`` and the evaluator is
    :func:`format_only_evaluator`'s, writing into
    :func:`~mmseg_ext.utils.atomic_io.staging_dir_for` ``(out_dir)``.

    Raises:
        FileExistsError: If ``out_dir`` already exists.
    """
    if osp.exists(out_dir):
        raise FileExistsError(
            f'--out {out_dir} already exists: remove it or choose another '
            'directory (format-only never mixes new files with old ones)')
    staging = staging_dir_for(out_dir)
    if is_main_process() and osp.exists(staging):
        shutil.rmtree(staging)
    dataset = cfg.test_dataloader.dataset
    dataset.pipeline = drop_annotations(dataset.pipeline)
    cfg.test_evaluator = format_only_evaluator(dataset.type, staging)
    return staging


def check_annotations(cfg: Config, config_path: str) -> None:
    """Refuse to evaluate a test set that loads no ground truth.

    Raises:
        ValueError: If the test pipeline has no ``LoadAnnotations`` (the
            ``*_cityscapes-test.py`` configs read the unlabelled test split)
            and the evaluator is not format-only.
    """
    evaluator = cfg.test_evaluator
    pipeline = cfg.test_dataloader.dataset.get('pipeline', [])
    if isinstance(evaluator, dict) and not evaluator.get('format_only') \
            and drop_annotations(pipeline) == list(pipeline):
        raise ValueError(
            f'{config_path} reads test images without annotations (no '
            'LoadAnnotations in its test pipeline), so nothing can be '
            'evaluated: pass --format-only to write the submission files')


def trigger_visualization_hook(cfg: Config, args) -> Config:
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise RuntimeError(
            'VisualizationHook must be included in default_hooks to use '
            '--show/--show-dir')
    hooks['visualization']['draw'] = True
    if args.show:
        hooks['visualization']['show'] = True
        hooks['visualization']['wait_time'] = args.wait_time
    if args.show_dir:
        cfg.visualizer['save_dir'] = args.show_dir
    return cfg


def check_checkpoint_matches_model(runner: Runner,
                                   checkpoint: str,
                                   allow_partial: bool = False) -> None:
    """Refuse (or, with ``allow_partial``, warn about) a checkpoint whose
    ``state_dict`` does not load strictly into ``runner.model``.

    Compares keys and shapes as mmengine's loader would see them (wrappers
    and the TTA model unwrapped, ``module.`` prefixes stripped); tensors are
    memory-mapped, not read. mmengine then loads the file as usual.

    Raises:
        RuntimeError: Naming the checkpoint and listing the missing,
            unexpected and mis-shaped keys (counts, the first names, shapes),
            unless ``allow_partial``.
    """
    model = runner.model
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    try:
        ckpt = torch.load(checkpoint, map_location='cpu', mmap=True)
    except RuntimeError as err:  # files from torch < 1.6 cannot be mapped
        if 'mmap' not in str(err):
            raise
        ckpt = torch.load(checkpoint, map_location='cpu')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else {}
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    mismatch = state_dict_mismatch(model.state_dict(), state)
    if not mismatch:
        return
    msg = (f'checkpoint {checkpoint} does not match the model of the config: '
           f'{mismatch.describe()}')
    if not allow_partial:
        raise RuntimeError(
            f'{msg}. Nothing was evaluated: use the checkpoint trained with '
            'this config (model, num_classes), or pass --allow-partial-load '
            'to test the partially loaded model anyway.')
    runner.logger.warning(f'{msg}. Testing it anyway (--allow-partial-load): '
                          'those weights keep their initial values.')


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    if args.backend is None:  # missing, empty, truncated: named
        check_checkpoint_file(args.checkpoint)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.backend:
        setup_backend(cfg, args)

    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        if 'tta_pipeline' not in cfg or 'tta_model' not in cfg:
            raise KeyError(
                f'{args.config} defines no tta_pipeline/tta_model, which '
                '--tta needs (see its dataset base)')
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model

    staging = out_dir = None
    if args.format_only:
        out_dir = args.out or osp.join(cfg.work_dir, 'format_results')
        staging = setup_format_only(cfg, out_dir)
    else:
        check_annotations(cfg, args.config)
        if args.out is not None:
            cfg.test_evaluator['output_dir'] = args.out
            cfg.test_evaluator['keep_results'] = True

    # a config's runner_type (mmseg_ext's CheckedRunner) as mmseg's test.py
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    if not args.backend:  # an export has no state_dict to compare
        check_checkpoint_matches_model(runner, args.checkpoint,
                                       args.allow_partial_load)
    try:
        runner.test()
    except BaseException:
        if staging and is_main_process() and osp.exists(staging):
            shutil.rmtree(staging)
        raise
    if staging and is_main_process():
        finish_format_only(staging, out_dir,
                           len(runner.test_dataloader.dataset))
        runner.logger.info(f'format-only results: {out_dir}')


def finish_format_only(staging: str, out_dir: str, num_images: int) -> None:
    """Rename ``staging`` to ``out_dir`` once it holds one PNG per image.

    Raises:
        RuntimeError: If the PNG count differs from ``num_images`` (the
            staging directory is removed, nothing is published).
    """
    written = [f for f in os.listdir(staging) if f.endswith('.png')]
    if len(written) != num_images:
        shutil.rmtree(staging)
        raise RuntimeError(
            f'format-only wrote {len(written)} PNGs for {num_images} test '
            'images (duplicate basenames?); nothing was published')
    publish_dir(staging, out_dir)


if __name__ == '__main__':
    main()
