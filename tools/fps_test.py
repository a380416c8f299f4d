"""Benchmark segmentors built from mmseg configs: FPS, latency, memory, FLOPs.

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
import contextlib
import json
import logging
import os.path as osp
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger, print_log
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from mmseg.utils import register_all_modules

DTYPES = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}
COLUMNS = [('config', 'Config'), ('input', 'Input (HxW)'), ('batch', 'Batch'),
           ('mode', 'Mode'), ('device', 'Device'), ('dtype', 'Dtype'),
           ('params_m', 'Params (M)'), ('gflops', 'GFLOPs/img'),
           ('latency_mean_ms', 'Latency mean (ms)'),
           ('latency_median_ms', 'Latency median (ms)'),
           ('fps', 'FPS (img/s)'), ('peak_mem_mib', 'Peak mem (MiB)*')]
TEXT_COLUMNS = ('config', 'input', 'mode', 'device', 'dtype')


def parse_args(argv=None):
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
        choices=('tensor', 'predict'),
        default='tensor',
        help="time model(x, mode='tensor') (default) or model.predict(x, "
        'data_samples), the whole test-time path (needed for PointRend)')
    parser.add_argument(
        '--warmup', type=int, default=10, help='untimed warm-up iterations')
    parser.add_argument(
        '--iters', type=int, default=50, help='timed iterations')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. model.decode_head.num_classes=2')
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


class TensorForward(nn.Module):
    """Expose ``segmentor(x, mode='tensor')`` as a one-input forward."""

    def __init__(self, segmentor):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, x):
        return self.segmentor(x, mode='tensor')


class PeakMemory:
    """Peak memory growth (MiB) over a ``with`` block.

    CUDA: ``torch.cuda.max_memory_allocated``. CPU: peak RSS from
    ``resource.getrusage`` (``ru_maxrss``); on Linux the high-water mark is
    reset first via ``/proc/self/clear_refs`` so each block is measured on its
    own, elsewhere only growth beyond the process' earlier peak is seen.
    """

    def __init__(self, device):
        self.device = device
        self.method = ('torch.cuda.max_memory_allocated growth'
                       if device.type == 'cuda' else 'peak RSS growth '
                       '(resource.getrusage ru_maxrss)')

    def _read(self):
        if self.device.type == 'cuda':
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss / 2**20 if sys.platform == 'darwin' else maxrss / 2**10

    def __enter__(self):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device) / 2**20
        else:
            try:  # Linux: reset the RSS high-water mark
                with open('/proc/self/clear_refs', 'w') as f:
                    f.write('5')
            except OSError:
                self.method += ' beyond the earlier process peak'
            self.base = self._read()
        return self

    def __exit__(self, *exc):
        self.peak_mib = max(self._read() - self.base, 0.0)


def benchmark(cfg_path,
              height,
              width,
              batch_size=1,
              device='cpu',
              dtype='fp32',
              channels_last=False,
              torch_compile=False,
              warmup=10,
              iters=50,
              cfg_options=None,
              mode='tensor'):
    """Benchmark one config; return a row dict (see ``COLUMNS``).

    Raises:
        FileNotFoundError: If ``cfg_path`` does not exist.
        ValueError: For fp16 off CUDA or an unknown ``mode``.
    """
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(f'config file not found: {cfg_path}')
    device = torch.device(device)
    if dtype == 'fp16' and device.type != 'cuda':
        raise ValueError('fp16 autocast needs a CUDA device; use bf16 on CPU')
    if mode not in ('tensor', 'predict'):
        raise ValueError(f"mode must be 'tensor' or 'predict', got {mode!r}")
    cfg = Config.fromfile(cfg_path)  # runs custom_imports
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    name = osp.splitext(osp.basename(cfg_path))[0]
    memory_format = (
        torch.channels_last if channels_last else torch.contiguous_format)
    autocast = (
        torch.autocast(device.type, dtype=DTYPES[dtype])
        if DTYPES[dtype] else contextlib.nullcontext())
    print_log(f'{name}: building model', logger='current')
    with PeakMemory(device) as mem:
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model = model.to(device, memory_format=memory_format).eval()
        runner = torch.compile(model) if torch_compile else model
        # H is the height, W the width: NCHW = (B, 3, H, W)
        x = torch.randn(batch_size, 3, height, width, device=device)
        x = x.contiguous(memory_format=memory_format)
        shape = (height, width)
        samples = [
            SegDataSample(
                metainfo=dict(
                    img_shape=shape, ori_shape=shape, pad_shape=shape))
            for _ in range(batch_size)
        ]
        times = []
        with torch.inference_mode(), autocast:
            for i in range(warmup + iters):
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
                if mode == 'tensor':
                    runner(x, mode='tensor')
                else:
                    runner.predict(x, samples)
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
                if i + 1 == warmup:
                    print_log(
                        f'{name}: warm-up done, timing {iters} iters',
                        logger='current')
    params = sum(p.numel() for p in model.parameters())
    try:
        with torch.no_grad():
            info = get_model_complexity_info(
                TensorForward(model),
                inputs=(x[:1].clone(), ),
                show_table=False,
                show_arch=False)
        gflops = info['flops'] / 1e9
    except Exception as e:  # never let the analysis break the table
        print_log(
            f'{name}: FLOPs analysis failed ({type(e).__name__}: {e})',
            logger='current',
            level=logging.WARNING)
        gflops = None
    mean = statistics.mean(times)
    row = dict(
        config=name,
        input=f'{height}x{width}',
        batch=batch_size,
        mode=mode,
        device=str(device),
        dtype=dtype,
        params=params,
        params_m=params / 1e6,
        gflops=gflops,
        latency_mean_ms=mean * 1e3,
        latency_median_ms=statistics.median(times) * 1e3,
        fps=batch_size / mean,
        peak_mem_mib=mem.peak_mib,
        peak_mem_method=mem.method)
    print_log(f'{name}: {row["fps"]:.2f} img/s', logger='current')
    del runner, model
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return row


def _fmt(value):
    if value is None:
        return 'n/a'
    return f'{value:.2f}' if isinstance(value, float) else str(value)


def format_table(rows):
    """Render benchmark rows as a Markdown table with a footnote."""
    lines = [
        '| ' + ' | '.join(title for _, title in COLUMNS) + ' |',
        '|' + '|'.join('---' if key in TEXT_COLUMNS else '---:'
                       for key, _ in COLUMNS) + '|'
    ]
    lines += [
        '| ' + ' | '.join(_fmt(row[key]) for key, _ in COLUMNS) + ' |'
        for row in rows
    ]
    methods = sorted({row['peak_mem_method'] for row in rows})
    lines += [
        '', f'\\* Peak memory: {"; ".join(methods)}, from model build '
        'to the end of timing. GFLOPs per image (mmengine analysis, '
        '1 multiply-add = 1 FLOP); FPS = batch / mean latency.'
    ]
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    if not MMLogger.check_instance_created('fps_test'):
        MMLogger.get_instance('fps_test', log_level='INFO')
    rows = [
        benchmark(path, args.height, args.width, args.batch_size, args.device,
                  args.dtype, args.channels_last, args.compile, args.warmup,
                  args.iters, args.cfg_options, args.mode)
        for path in args.configs
    ]
    table = format_table(rows)
    print(table)
    if args.out:
        with open(args.out, 'w') as f:
            if args.out.endswith('.json'):
                json.dump(dict(args=vars(args), rows=rows), f, indent=2)
            else:
                f.write(table + '\n')
        print_log(f'results written to {args.out}', logger='current')
    return rows


if __name__ == '__main__':
    main()
