"""``tools/large_image_inference.py``: build the inferencer from files and
run it from the command line.

Example::

    python tools/large_image_inference.py CONFIG CHECKPOINT scene.tif \\
        --out scene_classes.tif [--tile 1024 1024] [--overlap 256] \\
        [--batch-size 2] [--blend distance] [--confidence conf.tif] \\
        [--overlay overlay.tif] [--bands 1,2,3] [--resume] [--overwrite]

``CHECKPOINT`` is a ``.pth`` file, ``none`` (random weights, for
benchmarks) or an export folder of ``tools/deploy/deploy.py`` (its
``deploy.json`` names the backend and model file; the export is checked
against ``CONFIG`` with :func:`mmseg_ext.deploy.identity.
check_export_matches_config`). Sharded: ``torchrun --nproc-per-node N
tools/large_image_inference.py ...``; ``--resume`` continues an interrupted
run with the same options and number of processes
(:mod:`mmseg_ext.apis.large_image_state`).
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional

import torch

from .large_image import LargeImageInferencer


def num_classes_of(cfg) -> int:
    """``num_classes`` of the config's (last) decode head.

    Raises:
        ValueError: If the config's decode head has none.
    """
    head = cfg.model.get('decode_head')
    if isinstance(head, (list, tuple)):
        head = head[-1]
    if not head or 'num_classes' not in head:
        raise ValueError('the config has no model.decode_head.num_classes')
    return int(head['num_classes'])


def palette_of(cfg, model=None) -> Optional[list]:
    """The dataset palette: the checkpoint's ``dataset_meta``, else the
    config's test dataset class ``METAINFO`` (None if neither has one)."""
    meta = getattr(model, 'dataset_meta', None) or {}
    if meta.get('palette'):
        return [list(c) for c in meta['palette']]
    from mmseg.registry import DATASETS
    try:
        dataset = DATASETS.get(cfg.test_dataloader.dataset.type)
        return [list(c) for c in dataset.METAINFO['palette']]
    except (AttributeError, KeyError, TypeError):
        return None


def is_export_dir(path: str) -> bool:
    """Whether ``path`` is an export folder (holds ``deploy.json``)."""
    from ..deploy.export import DEPLOY_JSON
    return osp.isdir(path) and osp.isfile(osp.join(path, DEPLOY_JSON))


def build_inferencer(config,
                     weights: Optional[str],
                     device: str = 'cpu',
                     backend: Optional[str] = None,
                     num_threads: Optional[int] = None,
                     **kwargs) -> LargeImageInferencer:
    """An inferencer for ``config`` with ``weights``.

    Args:
        config (str | Config): Model config.
        weights (str, optional): Checkpoint file, None/``'none'`` (random
            weights, torch seed 0: the same in every process) or an export
            folder (``deploy.json``).
        device (str): Eager device or the backend's device.
        backend (str, optional): Override the export's backend
            (``onnxruntime``, ``openvino``, ``tensorrt``).
        num_threads (int, optional): Runtime CPU threads (exports).
        **kwargs: :class:`LargeImageInferencer` arguments (tile, overlap,
            batch_size, blend, mode).

    Raises:
        FileNotFoundError: For a missing config, checkpoint or model file.
        ValueError: If the export was made from another config (identity
            check), or a tile size the static export refuses.
    """
    from .builder import build_model, load_config
    cfg = load_config(config)
    classes = num_classes_of(cfg)
    if weights is not None and str(weights).lower() == 'none':
        weights = None
    if weights is not None and is_export_dir(weights):
        from ..deploy.backends import BackendModel
        from ..deploy.export import read_deploy_info
        from ..deploy.identity import check_export_matches_config
        check_export_matches_config(weights, cfg)
        info = read_deploy_info(weights)
        model_file = osp.join(weights, info.get('model_file',
                                                info.get('onnx')))
        runner = BackendModel(
            model_file,
            backend or info.get('backend', 'onnxruntime'),
            info.get('precision', 'fp32'),
            device,
            num_threads=num_threads)
        static = None
        if not info.get('dynamic', False):
            shape = info['input_shape']
            static = (int(shape[0]), int(shape[2]), int(shape[3]))
            kwargs.setdefault('tile', static[1:])
        return LargeImageInferencer(
            runner,
            cfg,
            classes,
            palette=palette_of(cfg),
            static_shape=static,
            **kwargs)
    if weights is None:
        torch.manual_seed(0)  # the same random weights in every process
    model = build_model(cfg, weights, device=device)
    return LargeImageInferencer(
        model,
        cfg,
        classes,
        palette=palette_of(cfg, model),
        device=device,
        **kwargs)


def _pair(text: str, name: str) -> List[int]:
    values = [int(v) for v in text]
    return values * 2 if len(values) == 1 else values


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Segment a raster of any size tile by tile into a '
        'class GeoTIFF (CRS, transform and nodata of the source).')
    parser.add_argument('config', help='model config')
    parser.add_argument(
        'weights',
        help="checkpoint (.pth), 'none' (random weights) or an export "
        'folder of tools/deploy/deploy.py (deploy.json)')
    parser.add_argument('image', help='input raster (GeoTIFF, PNG, JPEG)')
    parser.add_argument('--out', required=True, help='output GeoTIFF')
    parser.add_argument(
        '--tile', nargs='+', help='tile H [W] px (default: the config)')
    parser.add_argument(
        '--overlap',
        nargs='+',
        default=['256'],
        help='overlap H [W] px of neighbouring tiles '
        '(default 256)')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--blend', choices=('uniform', 'distance'), default='uniform')
    parser.add_argument('--mode', choices=('slide', 'whole'), default='slide')
    parser.add_argument(
        '--bands', help='1-based input bands in RGB order, e.g. 1,2,3')
    parser.add_argument(
        '--confidence',
        help='also write the confidence '
        '(softmax probability of the class) GeoTIFF')
    parser.add_argument('--overlay', help='also write an RGB overlay')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--backend', help='override the export backend')
    parser.add_argument(
        '--threads', type=int, help='torch / runtime CPU '
        'threads')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue an interrupted run from its work folder '
        '<out>.partial/ (same options and number of processes)')
    parser.add_argument(
        '--overwrite', action='store_true', help='replace existing outputs')
    parser.add_argument('--no-progress', action='store_true')
    args = parser.parse_args(argv)
    for name in ('tile', 'overlap'):
        value = getattr(args, name)
        if value is not None:
            if len(value) > 2 or not all(v.isdigit() for v in value):
                parser.error(f'--{name} takes one or two integers, got '
                             f'{" ".join(value)}')
            setattr(args, name, _pair(value, name))
    if args.bands is not None:
        try:
            args.bands = [int(b) for b in args.bands.split(',')]
        except ValueError:
            parser.error(f'--bands takes comma-separated band numbers, got '
                         f'{args.bands!r}')
    return args


def rank_device(device: str, env=None) -> str:
    """This process' device: ``'cuda'`` becomes ``'cuda:<LOCAL_RANK>'``
    under ``torchrun`` (one GPU a rank, as mmengine's launcher assigns
    them; otherwise every rank would run on, and NCCL would address, GPU
    0); any other device is returned as given."""
    env = os.environ if env is None else env
    if device == 'cuda' and int(env.get('WORLD_SIZE', '1')) > 1:
        return f'cuda:{int(env.get("LOCAL_RANK", "0"))}'
    return device


def _init_distributed(device: str) -> bool:
    """Join the ``torchrun`` process group if there is one to join (NCCL
    on ``device`` for CUDA, gloo otherwise)."""
    import torch.distributed as dist
    if int(os.environ.get('WORLD_SIZE', '1')) <= 1 or dist.is_initialized():
        return False
    if device.startswith('cuda'):
        torch.cuda.set_device(device)
        dist.init_process_group('nccl')
    else:
        dist.init_process_group('gloo')
    return True


def main(argv=None) -> int:
    """The command line; 0 on success, 1 with a one-line ``error: ...``
    on stderr for a bad input, option or output."""
    try:
        run(argv)
    except (FileNotFoundError, FileExistsError, ValueError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0


def run(argv=None) -> dict:
    """Run the command line; returns :func:`segment_raster`'s stats."""
    from .large_image_run import segment_raster
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.device = rank_device(args.device)
    joined = _init_distributed(args.device)
    try:
        kwargs = dict(
            overlap=args.overlap,
            batch_size=args.batch_size,
            blend=args.blend,
            mode=args.mode)
        if args.tile:
            kwargs['tile'] = args.tile
        inferencer = build_inferencer(args.config, args.weights, args.device,
                                      args.backend, args.threads, **kwargs)
        return segment_raster(
            inferencer,
            args.image,
            args.out,
            bands=args.bands,
            confidence_out=args.confidence,
            overlay_out=args.overlay,
            resume=args.resume,
            overwrite=args.overwrite,
            progress=not args.no_progress,
            model_id=osp.abspath(args.weights))
    finally:
        if joined:
            import torch.distributed as dist
            dist.destroy_process_group()
