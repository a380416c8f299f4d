"""``tools/fps_test.py``: benchmark configs, print one Markdown table.

Each config's model is built (``custom_imports`` honoured, SyncBN reverted to
BN), put in eval mode, warmed up and timed under ``torch.inference_mode()``
with ``x = torch.randn(B, 3, H, W)`` (H is the height, W the width) on
``model(x, mode='tensor')`` (``--mode tensor``, the default: the network's
logits) or ``model.predict(x, data_samples)`` (``--mode predict``: the full
test-time path, e.g. PointRend's subdivision steps, which mmseg 1.2.2's
``CascadeEncoderDecoder`` does not run in tensor mode, and the resize to the
image size). One Markdown table row per config is printed.

Examples::

    python tools/fps_test.py \\
        configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py \\
        configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py \\
        --height 1024 --width 2048 --device cpu --warmup 2 --iters 5
    python tools/fps_test.py CONFIG --height 512 --width 1024 --device cuda \\
        --fp16 --channels-last --compile --out fps.md  # or fps.json

``--fp16`` needs CUDA and is rejected on CPU (use ``--bf16`` there). GFLOPs
are per image, counted by mmengine (1 multiply-add = 1 FLOP; unsupported ops
such as ``grid_sample`` or interpolation are skipped with a warning); if the
analysis fails the cell reads ``n/a``. FPS = B / mean latency.
"""
import argparse
import os.path as osp
from typing import List, Optional

import torch
from mmengine.logging import MMLogger, print_log

from mmseg_ext.utils.cli import add_cfg_options
from .forwards import FORWARDS
from .measure import benchmark
from .table import format_table, write_results


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Parse and check the command line (errors exit with status 2)."""
    parser = argparse.ArgumentParser(
        description='Benchmark FPS / latency / memory / FLOPs of segmentors')
    parser.add_argument('configs', nargs='+', help='config file path(s)')
    parser.add_argument('--height', type=int, required=True, help='input H')
    parser.add_argument('--width', type=int, required=True, help='input W')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device, e.g. cpu, cuda, cuda:1 (default: cuda if available)')
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument(
        '--fp16', action='store_true', help='fp16 autocast (CUDA only)')
    precision.add_argument(
        '--bf16', action='store_true', help='bf16 autocast (CPU or CUDA)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='use channels-last memory format')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='wrap the model with torch.compile')
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument(
        '--mode',
        choices=tuple(FORWARDS),
        default='tensor',
        help="time model(x, mode='tensor') (default) or model.predict(x, "
        'data_samples), the whole test-time path (needed for PointRend)')
    parser.add_argument(
        '--warmup', type=int, default=10, help='untimed warm-up iterations')
    parser.add_argument(
        '--iters', type=int, default=50, help='timed iterations')
    add_cfg_options(parser)
    parser.add_argument(
        '--out',
        help='also write the results to this file (.json: JSON with args and '
        'rows, anything else: the Markdown table)')
    args = parser.parse_args(argv)
    if min(args.height, args.width, args.batch_size, args.iters) < 1 \
            or args.warmup < 0:
        parser.error('--height, --width, --batch-size and --iters must be '
                     '>= 1 and --warmup >= 0')
    try:
        device = torch.device(args.device)
    except RuntimeError as e:
        parser.error(f'--device {args.device}: {e}')
    if device.type == 'cuda' and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: CUDA is not available')
    if args.fp16 and device.type != 'cuda':
        parser.error('--fp16 autocast is only supported on CUDA devices; '
                     'use --bf16 on CPU')
    for path in args.configs:
        if not osp.isfile(path):
            parser.error(f'config file not found: {path}')
    args.dtype = 'fp16' if args.fp16 else 'bf16' if args.bf16 else 'fp32'
    return args


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Benchmark every config of ``argv``, print the table; return the
    rows."""
    args = parse_args(argv)
    if not MMLogger.check_instance_created('fps_test'):
        MMLogger.get_instance('fps_test', log_level='INFO')
    rows = [
        benchmark(path, args.height, args.width, args.batch_size, args.device,
                  args.dtype, args.channels_last, args.compile, args.warmup,
                  args.iters, args.cfg_options, args.mode)
        for path in args.configs
    ]
    print(format_table(rows))
    if args.out:
        write_results(args.out, rows, vars(args))
        print_log(f'results written to {args.out}', logger='current')
    return rows
