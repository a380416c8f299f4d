"""The conv ceiling: how fast this machine runs one dense 3x3 convolution.

The probe times one ``nn.Conv2d(256, 256, 3, padding=1)`` on a
(1, 256, 128, 256) input in channels-last memory format (oneDNN's fastest
layout on CPU), in fp32 and bf16 (weights and input cast, no autocast), and
reports multiply-adds per second: one multiply-add counts as one FLOP, as
fps_test's GFLOPs do (mmengine's analysis), so ``GFLOPs / latency /
ceiling`` is the fraction of the conv ceiling a model reaches. On the 2-core
CPU of ``/work/shared/ECOSYSTEM.md`` section 7 it measured 479 (fp32) and
1016 (bf16) GFLOP/s with two FLOPs per multiply-add, i.e. about 240 / 508
in this unit.
"""
import statistics
import time
from typing import Dict, Sequence

import torch
import torch.nn as nn

CHANNELS, HEIGHT, WIDTH, KERNEL = 256, 128, 256, 3
PROBE_DTYPES = {'fp32': torch.float32, 'bf16': torch.bfloat16}


def probe_macs() -> int:
    """Multiply-adds of the probe conv: C_out * C_in * k * k * H * W."""
    return CHANNELS * CHANNELS * KERNEL * KERNEL * HEIGHT * WIDTH


def probe_conv_peak(device: str = 'cpu',
                    precisions: Sequence[str] = ('fp32', 'bf16'),
                    warmup: int = 1,
                    iters: int = 3) -> Dict[str, float]:
    """Median GFLOP/s (1 multiply-add = 1 FLOP) of the probe conv per
    precision.

    Args:
        device (str): Where to run it (CUDA is synchronised per run).
        precisions (Sequence[str]): Out of ``'fp32'``, ``'bf16'``.
        warmup (int): Untimed runs (oneDNN picks its kernel on the first).
        iters (int): Timed runs; the median latency is used.

    Returns:
        dict: ``{precision: GFLOP/s}``.

    Raises:
        ValueError: For a precision not in :data:`PROBE_DTYPES` or
            ``iters < 1``.
    """
    unknown = [p for p in precisions if p not in PROBE_DTYPES]
    if unknown or iters < 1:
        raise ValueError(f'precisions must be out of {tuple(PROBE_DTYPES)} '
                         f'and iters >= 1, got {list(precisions)}, {iters}')
    device = torch.device(device)
    ceiling = {}
    for precision in precisions:
        dtype = PROBE_DTYPES[precision]
        conv = nn.Conv2d(CHANNELS, CHANNELS, KERNEL, padding=KERNEL // 2)
        conv = conv.to(device, dtype, memory_format=torch.channels_last)
        x = torch.randn(
            1, CHANNELS, HEIGHT, WIDTH, device=device,
            dtype=dtype).contiguous(memory_format=torch.channels_last)
        times = []
        with torch.inference_mode():
            for i in range(warmup + iters):
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                start = time.perf_counter()
                conv(x)
                if device.type == 'cuda':
                    torch.cuda.synchronize(device)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
        ceiling[precision] = probe_macs() / statistics.median(times) / 1e9
    return ceiling
