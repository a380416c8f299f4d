"""The measurements of one benchmark row, as small functions.

:func:`benchmark` builds the model (:func:`build_model`), makes the input
(:func:`make_inputs`), times a forward (:func:`time_forward` over
:func:`~.forwards.make_forward`) inside :class:`PeakMemory`, counts FLOPs
(:func:`count_gflops`) and returns one row of :data:`~.table.COLUMNS`.
"""
import contextlib
import logging
import os.path as osp
import resource
import statistics
import sys
import time
from typing import Callable, List, Optional, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import fuse_conv_bn
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config
from mmengine.logging import print_log
from mmseg.structures import SegDataSample

from ..apis import builder
from .forwards import check_mode, make_forward

DTYPES = {'fp32': None, 'fp16': torch.float16, 'bf16': torch.bfloat16}


def _log(message: str, level: int = logging.INFO) -> None:
    print_log(message, logger='current', level=level)


class PeakMemory:
    """Peak memory growth (MiB) over a ``with`` block.

    CUDA: ``torch.cuda.max_memory_allocated``. CPU: peak RSS from
    ``resource.getrusage`` (``ru_maxrss``); on Linux the high-water mark is
    reset first via ``/proc/self/clear_refs`` so each block is measured on its
    own, elsewhere only growth beyond the process' earlier peak is seen.
    """

    def __init__(self, device: torch.device):
        self.device = device
        self.method = ('torch.cuda.max_memory_allocated growth'
                       if device.type == 'cuda' else 'peak RSS growth '
                       '(resource.getrusage ru_maxrss)')

    def _read(self) -> float:
        if self.device.type == 'cuda':
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return maxrss / 2**20 if sys.platform == 'darwin' else maxrss / 2**10

    def __enter__(self) -> 'PeakMemory':
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

    def __exit__(self, *exc) -> None:
        self.peak_mib = max(self._read() - self.base, 0.0)


def build_model(cfg: Config,
                device: torch.device,
                channels_last: bool = False,
                fuse_bn: bool = False) -> nn.Module:
    """The segmentor of ``cfg`` on ``device`` in eval mode, SyncBN reverted
    to BN, every Conv+BN pair folded into the conv (``fuse_bn``: mmcv's
    ``fuse_conv_bn``, as mmseg 0.x's benchmark offered) and in
    channels-last memory format if asked (:func:`mmseg_ext.apis.build_model`
    builds it)."""
    model = builder.build_model(cfg)
    if fuse_bn:
        model = fuse_conv_bn(model)
    memory_format = (
        torch.channels_last if channels_last else torch.contiguous_format)
    return model.to(device, memory_format=memory_format).eval()


def make_inputs(batch_size: int,
                height: int,
                width: int,
                device: torch.device,
                channels_last: bool = False) -> Tuple[torch.Tensor, List]:
    """Random images ``x`` of shape (N, 3, H, W) (H the height, W the width)
    and N ``SegDataSample`` whose img/ori/pad shapes are (H, W)."""
    x = torch.randn(batch_size, 3, height, width, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    shape = (height, width)
    samples = [
        SegDataSample(
            metainfo=dict(img_shape=shape, ori_shape=shape, pad_shape=shape))
        for _ in range(batch_size)
    ]
    return x, samples


def time_forward(forward: Callable[[], object],
                 warmup: int,
                 iters: int,
                 device: torch.device,
                 name: str = '') -> List[float]:
    """Run ``forward`` ``warmup`` times untimed, then ``iters`` times timed.

    CUDA is synchronised around each call. Progress goes to the current
    mmengine logger: one line when warm-up starts and one per timed run
    (its latency), so a slow config is never silent. Returns the ``iters``
    latencies in seconds.
    """
    times = []
    if warmup:
        _log(f'{name}: warm-up, {warmup} untimed run(s)')
    for i in range(warmup + iters):
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        forward()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
            _log(f'{name}: timed run {len(times)}/{iters}: '
                 f'{times[-1] * 1e3:.1f} ms')
        elif i + 1 == warmup:
            _log(f'{name}: warm-up done, timing {iters} run(s)')
    return times


class TensorForward(nn.Module):
    """Expose ``segmentor(x, mode='tensor')`` as a one-input forward."""

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        self.segmentor = segmentor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.segmentor(x, mode='tensor')


def count_gflops(model: nn.Module,
                 x: torch.Tensor,
                 name: str = '') -> Optional[float]:
    """GFLOPs of the tensor-mode forward of one image of ``x`` (mmengine's
    analysis: 1 multiply-add = 1 FLOP, unsupported ops skipped); ``None``
    (with a warning) if the analysis fails."""
    try:
        with torch.no_grad():
            info = get_model_complexity_info(
                TensorForward(model),
                inputs=(x[:1].clone(), ),
                show_table=False,
                show_arch=False)
        return info['flops'] / 1e9
    except Exception as e:  # never let the analysis break the table
        _log(f'{name}: FLOPs analysis failed ({type(e).__name__}: {e})',
             logging.WARNING)
        return None


def pytorch_options(channels_last: bool = False,
                    torch_compile: bool = False,
                    fuse_bn: bool = False) -> str:
    """The table's ``Options`` cell of an eager row (``-`` for none)."""
    names = [
        name
        for name, on in (('channels-last', channels_last),
                         ('compile', torch_compile), ('fuse-conv-bn', fuse_bn))
        if on
    ]
    return ', '.join(names) or '-'


def make_row(name: str, height: int, width: int, batch_size: int, mode: str,
             device: torch.device, dtype: str, times: List[float],
             mem: PeakMemory, params: int, gflops: Optional[float],
             backend: str, options: str) -> dict:
    """One row of :data:`~.table.COLUMNS` from the measured ``times`` (s)."""
    mean = statistics.mean(times)
    return dict(
        config=name,
        input=f'{height}x{width}',
        batch=batch_size,
        mode=mode,
        device=str(device),
        backend=backend,
        dtype=dtype,
        options=options,
        params=params,
        params_m=params / 1e6,
        gflops=gflops,
        latency_mean_ms=mean * 1e3,
        latency_median_ms=statistics.median(times) * 1e3,
        fps=batch_size / mean,
        peak_mem_mib=mem.peak_mib,
        peak_mem_method=mem.method)


def benchmark(cfg_path: str,
              height: int,
              width: int,
              batch_size: int = 1,
              device: str = 'cpu',
              dtype: str = 'fp32',
              channels_last: bool = False,
              torch_compile: bool = False,
              warmup: int = 10,
              iters: int = 50,
              cfg_options: Optional[dict] = None,
              mode: str = 'tensor',
              fuse_bn: bool = False) -> dict:
    """Benchmark one config in eager PyTorch; return a row dict (see
    ``COLUMNS``; ``backend`` is ``'pytorch'``).

    Memory is measured from the model build to the end of timing; timing
    runs under ``torch.inference_mode()`` and, for fp16/bf16, autocast.
    ``fuse_bn`` folds BN into the convs first (:func:`build_model`).

    Raises:
        FileNotFoundError: If ``cfg_path`` does not exist.
        ValueError: For fp16 off CUDA or an unregistered ``mode``.
    """
    if not osp.isfile(cfg_path):
        raise FileNotFoundError(f'config file not found: {cfg_path}')
    device = torch.device(device)
    if dtype == 'fp16' and device.type != 'cuda':
        raise ValueError('fp16 autocast needs a CUDA device; use bf16 on CPU')
    check_mode(mode)
    cfg = builder.load_config(cfg_path, cfg_options)
    name = osp.splitext(osp.basename(cfg_path))[0]
    options = pytorch_options(channels_last, torch_compile, fuse_bn)
    label = f'{name} [pytorch {dtype}, {options}]'
    autocast = (
        torch.autocast(device.type, dtype=DTYPES[dtype])
        if DTYPES[dtype] else contextlib.nullcontext())
    _log(f'{label}: building model')
    with PeakMemory(device) as mem:
        model = build_model(cfg, device, channels_last, fuse_bn)
        runner = torch.compile(model) if torch_compile else model
        x, samples = make_inputs(batch_size, height, width, device,
                                 channels_last)
        with torch.inference_mode(), autocast:
            times = time_forward(
                make_forward(mode, runner, x, samples), warmup, iters, device,
                label)
    params = sum(p.numel() for p in model.parameters())
    gflops = count_gflops(model, x, name)
    row = make_row(name, height, width, batch_size, mode, device, dtype, times,
                   mem, params, gflops, 'pytorch', options)
    _log(f'{label}: {row["fps"]:.2f} img/s')
    del runner, model
    if device.type == 'cuda':
        torch.cuda.empty_cache()
    return row
