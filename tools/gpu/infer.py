"""Inference rows: the official FPS protocol in every fast path.

Per model (:data:`MODELS`), batch 1, random input of the stated height x
width (not swapped, unlike ISDNet's ``tools/fps_test.py``), random weights
(speed does not depend on them; accuracy on real frames with trained
weights is :mod:`.main_model`'s), eval mode, main output only (mmseg's
``tensor`` mode runs the decode head alone, never the DSN/auxiliary heads;
PointRend runs ``predict``, its subdivision steps being test-time only):

1. the reference: eager fp32 with TF32 off (``allow_tf32=False`` for cuDNN
   and matmuls), output kept;
2. eager rows: fp32 (torch's defaults: cuDNN convolutions in TF32 on
   Ampere and later), fp16 and bf16 autocast, each in contiguous and in
   channels-last memory format;
3. compiled rows: ``torch.compile`` of the channels-last model under the
   faster of fp16/bf16, once per ``compile_modes`` entry
   (``reduce-overhead`` uses CUDA graphs where the model allows,
   ``max-autotune`` also searches kernels); skipped when less than
   ``compile_reserve_s`` is left before the deadline.

Each row times ``warmup`` untimed then ``iters`` timed forwards with
:func:`mmseg_ext.benchmark.time_forward` (``torch.cuda.synchronize()``
around each) and reports the median and mean latency, FPS = 1 / median,
peak CUDA memory (``torch.cuda.max_memory_allocated`` over the timed block,
and its growth over the model + input), and the logits' max abs
difference and argmax agreement against the reference.
"""
import contextlib
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch

from mmseg_ext.apis import load_config
from mmseg_ext.benchmark import (PeakMemory, build_model, make_forward,
                                 make_inputs, time_forward)
from mmseg_ext.benchmark.measure import DTYPES


@dataclass(frozen=True)
class ModelSpec:
    """One benchmarked model: ``config`` timed at (``height``, ``width``)
    on the GPU and at ``dry_size`` in the rehearsal; ``target_fps`` is the
    issue's H100 goal, ``paper`` the published figure with its GPU."""
    name: str
    config: str
    height: int
    width: int
    mode: str = 'tensor'
    dry_size: Tuple[int, int] = (64, 128)
    target_fps: Optional[float] = None
    paper: Optional[str] = None


MODELS = (
    ModelSpec(
        'sfnet_r18',
        'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py',
        1024,
        2048,
        target_fps=200,
        paper='26 FPS at 1024x2048 on a GTX 1080Ti with TensorRT, without '
        'the DSN heads (lxtGH/SFSegNets#42)'),
    ModelSpec(
        'pfnet_r50',
        'configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py',
        896,
        896,
        dry_size=(64, 64),
        target_fps=100),
    ModelSpec(
        'isdnet_r18',
        'configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py',
        2448,
        2448,
        dry_size=(128, 128),
        target_fps=100,
        paper='27.7 FPS on DeepGlobe 2448x2448 (paper abstract; the GPU is '
        'not stated in the sources read)'),
    ModelSpec('sfnet_r50',
              'configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py',
              1024, 2048),
    ModelSpec(
        'pointrend_r50',
        'configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py',
        1024,
        2048,
        mode='predict'),
)

HALF_CL = ('fp16-cl', 'bf16-cl')
#: eager rows: (row name, autocast precision, channels-last)
EAGER_ROWS = (('fp32', 'fp32', False), ('fp16', 'fp16', False),
              ('bf16', 'bf16', False), ('fp32-cl', 'fp32', True),
              ('fp16-cl', 'fp16', True), ('bf16-cl', 'bf16', True))


def select_models(names: Optional[List[str]]) -> List[ModelSpec]:
    """The :data:`MODELS` named (all if ``names`` is empty).

    Raises:
        ValueError: For a name not in :data:`MODELS`.
    """
    known = {m.name: m for m in MODELS}
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        raise ValueError(f'--models: unknown {unknown}, choose from '
                         f'{sorted(known)}')
    return [known[n] for n in names] if names else list(MODELS)


def as_logits(output) -> torch.Tensor:
    """Logits (N, K, H, W) as float32 copies from a tensor-mode output or
    a list of ``SegDataSample`` (``seg_logits``) from ``predict``."""
    if isinstance(output, torch.Tensor):
        return output.detach().float().clone()
    return torch.stack([s.seg_logits.data.detach().float() for s in output])


def compare(out: torch.Tensor, ref: torch.Tensor) -> dict:
    """Max abs difference and argmax agreement of ``out`` against ``ref``
    (both (N, K, H, W)); NaN or Inf in ``out`` is reported, not hidden."""
    return dict(
        max_abs_diff=(out - ref).abs().max().item(),
        ref_abs_max=ref.abs().max().item(),
        argmax_agreement=(
            out.argmax(1) == ref.argmax(1)).float().mean().item(),
        finite=bool(torch.isfinite(out).all()))


@contextlib.contextmanager
def strict_fp32(device: torch.device):
    """TF32 off for cuDNN convolutions and matmuls inside the block."""
    if device.type != 'cuda':
        yield
        return
    saved = (torch.backends.cudnn.allow_tf32,
             torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        (torch.backends.cudnn.allow_tf32,
         torch.backends.cuda.matmul.allow_tf32) = saved


def time_row(label: str, forward: Callable, precision: str,
             device: torch.device, warmup: int, iters: int) -> dict:
    """Time ``forward`` under ``precision`` autocast; the row's figures and
    its last output (``"output"``, float32 logits)."""
    dtype = DTYPES[precision]
    autocast = (
        torch.autocast(device.type, dtype=dtype)
        if dtype else contextlib.nullcontext())
    with torch.inference_mode(), autocast:
        start = time.perf_counter()
        first = forward()  # compilation / cuDNN autotuning happen here
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        first_s = time.perf_counter() - start
        with PeakMemory(device) as mem:
            times = time_forward(forward, max(warmup - 1, 0), iters, device,
                                 label)
        output = as_logits(forward())
    del first
    row = dict(
        first_call_s=first_s,
        latency_median_ms=statistics.median(times) * 1e3,
        latency_mean_ms=statistics.mean(times) * 1e3,
        fps=1.0 / statistics.median(times),
        iters=iters,
        warmup=warmup,
        peak_mem_growth_mib=mem.peak_mib,
        peak_mem_method=mem.method,
        output=output)
    if device.type == 'cuda':
        row['peak_mem_mib'] = torch.cuda.max_memory_allocated(device) / 2**20
    return row


def recorded_fps(rec, model: str) -> Dict[str, float]:
    """``{path: FPS}`` of the rows of ``model`` recorded so far."""
    return {
        row['path']: row['fps']
        for row in rec.step('inference').get('rows', [])
        if row['model'] == model and 'fps' in row
    }


def compiled_forward(model, spec: ModelSpec, x, samples,
                     mode: str) -> Callable:
    """One forward of ``torch.compile(..., mode=mode)``: the module in
    tensor mode, the bound ``predict`` in predict mode (compiling the
    module would leave ``.predict`` eager)."""
    if spec.mode == 'predict':
        predict = torch.compile(model.predict, mode=mode)
        return lambda: predict(x, samples)
    compiled = torch.compile(model, mode=mode)
    return lambda: compiled(x, mode='tensor')


def benchmark_model(spec: ModelSpec,
                    rec,
                    deadline,
                    settings: dict,
                    eager: bool = True,
                    compile_modes: Optional[List[str]] = None) -> None:
    """The rows of ``spec``, each recorded under ``steps["inference"]`` as
    soon as it is measured: the eager rows (unless ``eager`` is False), then
    one compiled row per entry of ``compile_modes`` (default
    ``settings['compile_modes']``), under the faster half precision of the
    eager channels-last rows recorded for ``spec`` so far.

    ``settings``: ``device``, ``dry_run``, ``rows`` (names out of
    :data:`EAGER_ROWS`), ``warmup``, ``iters``, ``compile_modes`` (list),
    ``compile_reserve_s``, ``row_reserve_s``.
    """
    device = torch.device(settings['device'])
    height, width = spec.dry_size if settings['dry_run'] else (spec.height,
                                                               spec.width)
    base = dict(
        model=spec.name,
        config=spec.config,
        input=f'{height}x{width}',
        batch=1,
        mode=spec.mode,
        target_fps=spec.target_fps,
        paper=spec.paper)
    warmup, iters = settings['warmup'], settings['iters']

    def record(row: dict, output_ref=None) -> dict:
        output = row.pop('output', None)
        if output is not None and output_ref is not None:
            row.update(compare(output, output_ref))
        full = {**base, **row}
        rec.append('inference', 'rows', full)
        rec.log(
            f"inference {spec.name} {row['path']}: "
            f"{row.get('fps', float('nan')):.2f} FPS, "
            f"peak {row.get('peak_mem_mib', row.get('peak_mem_growth_mib'))}"
            f" MiB, max abs diff {row.get('max_abs_diff')}")
        return output

    if compile_modes is None:
        compile_modes = settings['compile_modes']
    fps = recorded_fps(rec, spec.name)
    if not eager and not any(p in fps for p in HALF_CL):
        return  # nothing to compile against: its eager rows were not run
    reserve = 'row_reserve_s' if eager else 'compile_reserve_s'
    if not deadline.allows(settings[reserve]):
        rec.append('inference', 'skipped',
                   dict(model=spec.name, reason='deadline'))
        return
    rec.log(f'inference {spec.name}: building at {height}x{width}')
    cfg = load_config(spec.config)
    model = build_model(cfg, device)
    x, samples = make_inputs(1, height, width, device)
    base['params_m'] = sum(p.numel() for p in model.parameters()) / 1e6
    with strict_fp32(device):
        ref = time_row(f'{spec.name} reference',
                       make_forward(spec.mode, model, x, samples), 'fp32',
                       device, 1, 1)['output']
    for name, precision, channels_last in EAGER_ROWS:
        if not eager or name not in settings['rows']:
            continue
        if not deadline.allows(settings['row_reserve_s']):
            rec.append('inference', 'skipped',
                       dict(model=spec.name, path=name, reason='deadline'))
            continue
        with rec.guard('inference', f'{spec.name} {name}'):
            fmt = torch.channels_last if channels_last else \
                torch.contiguous_format
            model = model.to(memory_format=fmt)
            inputs = x.contiguous(memory_format=fmt)
            row = time_row(f'{spec.name} {name}',
                           make_forward(spec.mode, model, inputs, samples),
                           precision, device, warmup, iters)
            row.update(
                path=name, precision=precision, channels_last=channels_last)
            record(row, ref)
    fps = recorded_fps(rec, spec.name)
    halves = [p for p in HALF_CL if p in fps]
    model = model.to(memory_format=torch.channels_last)
    inputs = x.contiguous(memory_format=torch.channels_last)
    for mode in compile_modes:
        if not halves:
            break
        precision = max(halves, key=fps.get)[:4]
        path = f'compile-{mode}-{precision}-cl'
        if not deadline.allows(settings['compile_reserve_s']):
            rec.append('inference', 'skipped',
                       dict(model=spec.name, path=path, reason='deadline'))
            continue
        with rec.guard('inference', f'{spec.name} {path}'):
            row = time_row(
                f'{spec.name} {path}',
                compiled_forward(model, spec, inputs, samples, mode),
                precision, device, warmup, iters)
            row.update(
                path=path,
                precision=precision,
                channels_last=True,
                compile_mode=mode)
            record(row, ref)
        torch._dynamo.reset()
    del model, x, ref
    if device.type == 'cuda':
        torch.cuda.empty_cache()
