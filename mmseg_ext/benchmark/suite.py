"""Several configs x backends in one run: one table, one reference per config.

For every config the eager fp32 PyTorch forward (contiguous memory, no
fusing, no compile) is measured first: it is the reference of the
``speedup`` column (its median latency / the row's median). Then every
requested row (:class:`RowSpec`): eager PyTorch rows through
:func:`~.measure.benchmark`, backend rows (ONNX Runtime, OpenVINO, TensorRT)
through :class:`mmseg_ext.deploy.BackendModel` on an ONNX export of the same
randomly initialised segmentor, written on the fly
(:func:`mmseg_ext.deploy.export.export_onnx`, static shape) into a temporary
folder, or given as ``backend_model``. int8 rows run the quantized graph
of an export folder (:func:`backend_file`: ``end2end.int8.onnx``, on
OpenVINO ``end2end.int8.xml``), made by ``tools/deploy/deploy.py`` with an
int8 deploy config. With conv ceilings
(:func:`~.peak.probe_ceilings`) each row also gets the fraction of the
ceiling of its precision that its GFLOPs over its latency reach.

A backend row times the exported graph: mmseg's ``encode_decode``, i.e. the
tensor-mode network plus the decode head's resize to the input size (mode
``end2end``); its GFLOPs are the PyTorch model's.
"""
import logging
import os.path as osp
import tempfile
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

import torch

from mmseg_ext.apis import build_model
from mmseg_ext.deploy.segmentor import resolve_model_file
from .measure import PeakMemory, _log, benchmark, make_row, time_forward

EAGER = 'pytorch'
BACKEND_NAMES = (EAGER, 'onnxruntime', 'openvino', 'tensorrt')
PRECISION_NAMES = ('fp32', 'bf16', 'fp16', 'int8', 'auto')
INT8_BACKENDS = ('onnxruntime', 'openvino')


@dataclass(frozen=True)
class RunSettings:
    """What every row of a run shares: the input (N, 3, ``height``,
    ``width``) with N = ``batch_size``, the ``device``, the timing loop
    (``warmup`` then ``iters`` timed forwards), the ``cfg_options`` and the
    forward ``mode``; :func:`~.measure.benchmark`'s arguments of the same
    names and defaults."""
    height: int
    width: int
    batch_size: int = 1
    device: str = 'cpu'
    warmup: int = 10
    iters: int = 50
    cfg_options: Optional[dict] = None
    mode: str = 'tensor'


@dataclass(frozen=True)
class RowSpec:
    """One row per config: ``backend`` at ``precision`` (``auto``: to be
    chosen; ``auto=True``: ``precision`` was chosen by ``--precision
    auto``)."""
    backend: str
    precision: str = 'fp32'
    auto: bool = False


def parse_row_spec(text: str, default_precision: str = 'fp32') -> RowSpec:
    """``NAME[:PRECISION]`` (e.g. ``openvino:bf16``) as a :class:`RowSpec`;
    without ``:PRECISION`` the ``default_precision``.

    Raises:
        ValueError: For an unknown backend or precision, int8 on a backend
            other than :data:`INT8_BACKENDS` or ``auto`` on TensorRT.
    """
    backend, _, precision = text.partition(':')
    precision = precision or default_precision
    if backend not in BACKEND_NAMES or precision not in PRECISION_NAMES:
        raise ValueError(
            f'--backend {text!r}: expected NAME[:PRECISION] with NAME in '
            f'{BACKEND_NAMES} and PRECISION in {PRECISION_NAMES}')
    if precision == 'int8' and backend not in INT8_BACKENDS:
        raise ValueError(
            f'--backend {text!r}: int8 rows run a quantized export on '
            f'{" or ".join(INT8_BACKENDS)} (e.g. openvino:int8), not on '
            f'{backend}')
    if precision == 'auto' and backend == 'tensorrt':
        raise ValueError(f'--backend {text!r}: --precision auto chooses '
                         'among CPU precisions; give tensorrt its precision')
    return RowSpec(backend, precision)


def backend_file(export: str, spec: RowSpec) -> str:
    """The model file of ``spec``'s row in ``export`` (a file or an export
    folder): int8 rows the quantized graph that
    :func:`mmseg_ext.deploy.backends.int8_model_file` names
    (``end2end.int8.onnx``; OpenVINO ``end2end.int8.xml``), other rows
    :func:`~mmseg_ext.deploy.segmentor.resolve_model_file`.

    Raises:
        FileNotFoundError: If the export has no such file (the message
            names the deploy config that makes an int8 one).
    """
    if spec.precision != 'int8':
        return resolve_model_file(export, spec.backend)
    from mmseg_ext.deploy.backends import int8_model_file
    if osp.isdir(export):
        export = osp.join(export, 'end2end.onnx')
    return int8_model_file(export, spec.backend)


def export_random_model(cfg_path: str,
                        height: int,
                        width: int,
                        batch_size: int,
                        work_dir: str,
                        cfg_options: Optional[dict] = None) -> str:
    """Export ``cfg_path``'s randomly initialised segmentor (static
    (batch_size, 3, height, width)) to ``work_dir/end2end.onnx``; return
    its path."""
    from mmseg_ext.deploy.export import export_onnx
    model = build_model(cfg_path, cfg_options=cfg_options)
    _log(f'{osp.basename(cfg_path)}: exporting ONNX to {work_dir}')
    return export_onnx(
        model.cfg,
        None,
        work_dir, (height, width),
        dynamic=False,
        batch_size=batch_size,
        model=model)


def benchmark_backend(model_file: str,
                      spec: RowSpec,
                      reference: dict,
                      height: int,
                      width: int,
                      batch_size: int,
                      device: str,
                      warmup: int,
                      iters: int,
                      num_threads: Optional[int] = None) -> dict:
    """Time ``BackendModel(model_file, spec.backend, spec.precision)`` on
    random (N, 3, H, W) inputs; a row with the params/GFLOPs of
    ``reference`` (the PyTorch row of the same config)."""
    from mmseg_ext.deploy import BackendModel
    name = reference['config']
    label = f'{name} [{spec.backend} {spec.precision}]'
    device = torch.device(device)
    _log(f'{label}: loading {model_file}')
    with PeakMemory(device) as mem:
        model = BackendModel(
            model_file,
            spec.backend,
            spec.precision,
            str(device),
            num_threads=num_threads or torch.get_num_threads())
        x = torch.randn(batch_size, 3, height, width)
        with torch.inference_mode():
            times = time_forward(lambda: model(x), warmup, iters, device,
                                 label)
    row = make_row(name, height, width, batch_size, 'end2end', device,
                   spec.precision, times, mem, reference['params'],
                   reference['gflops'], spec.backend, '-')
    _log(f'{label}: {row["fps"]:.2f} img/s')
    return row


def failed_row(reference: dict, spec: RowSpec, error: Exception) -> dict:
    """The row of a backend whose export or run failed: the error in
    ``options``, no timings (``n/a`` in the table)."""
    _log(
        f'{reference["config"]} [{spec.backend} {spec.precision}]: failed '
        f'({type(error).__name__}: {error})', logging.WARNING)
    row = {
        key: reference[key]
        for key in ('config', 'input', 'batch', 'device', 'params', 'params_m',
                    'gflops', 'peak_mem_method')
    }
    row.update(
        mode='end2end',
        backend=spec.backend,
        dtype=spec.precision,
        options=f'failed: {type(error).__name__}',
        error=str(error))
    return row


def add_speed_columns(rows: List[dict], reference: dict,
                      ceiling: Optional[Dict[str, float]]) -> None:
    """Fill ``speedup`` (vs ``reference``: its median latency / the row's)
    and, given ``ceiling`` (``{precision: GFLOP/s}``), ``ceiling_gflops``
    (the ceiling of the row's precision) and ``ceiling_fraction``
    (``gflops x batch / median latency (s) / ceiling_gflops``) of every
    row in place; a failed row (no latency) and a row without GFLOPs or
    without a ceiling of its precision keep ``None``."""
    for row in rows:
        if row.get('latency_median_ms') is None:
            continue  # a failed row
        row['speedup'] = (
            reference['latency_median_ms'] / row['latency_median_ms'])
        peak = (ceiling or {}).get(row['dtype'])
        if peak and row['gflops']:
            achieved = row['gflops'] * row['batch'] / (
                row['latency_median_ms'] / 1e3)
            row['ceiling_gflops'] = peak
            row['ceiling_fraction'] = achieved / peak


def _annotate(row: dict, spec: RowSpec, gates: Optional[dict]) -> None:
    """Add 'precision auto' and the gate's outcome to ``row['options']``."""
    from .precision import gate_summary
    words = [] if row['options'] == '-' else [row['options']]
    words += ['precision auto'] if spec.auto else []
    words += gate_summary(spec.backend, spec.precision, gates or {})
    row['options'] = ', '.join(words) or '-'


def run_suite(configs: Sequence[str],
              specs: Sequence[RowSpec],
              settings: RunSettings,
              channels_last: bool = False,
              torch_compile: bool = False,
              fuse_bn: bool = False,
              ceiling: Optional[Dict[str, float]] = None,
              backend_model: Optional[str] = None,
              work_dir: Optional[str] = None,
              keep_going: bool = False,
              gates: Optional[dict] = None) -> List[dict]:
    """Rows of every config x spec, each config's eager fp32 reference
    first (measured once even if a spec asks for it too), all with
    ``settings``.

    ``channels_last``, ``torch_compile`` and ``fuse_bn`` apply to the
    eager rows of ``specs``, not to the reference. Exports go to
    ``work_dir/<config name>`` (default: a temporary folder, removed
    afterwards) unless ``backend_model`` (a file or an export folder,
    one config only) is given.

    With ``keep_going`` an export or backend that fails gives a row
    naming the error instead of stopping the run. A row's ``options`` say
    whether its precision was chosen by ``--precision auto`` and, given
    ``gates`` (:func:`~.precision.read_gates`), whether its accuracy gate
    passed.

    Raises:
        ValueError: If ``backend_model`` is given with several configs.
    """
    if backend_model and len(configs) != 1:
        raise ValueError('--backend-model names one exported model: give '
                         f'one config, not {len(configs)}')
    rows, s = [], settings
    with tempfile.TemporaryDirectory(prefix='fps_test_') as tmp:
        for cfg_path in configs:
            name = osp.splitext(osp.basename(cfg_path))[0]
            reference = benchmark(cfg_path, **asdict(s))
            config_rows = [reference]
            export = backend_model
            for spec in specs:
                if spec.backend == EAGER:
                    if spec.precision == 'fp32' and not (
                            channels_last or torch_compile or fuse_bn):
                        continue  # the reference itself
                    config_rows.append(
                        benchmark(
                            cfg_path,
                            dtype=spec.precision,
                            channels_last=channels_last,
                            torch_compile=torch_compile,
                            fuse_bn=fuse_bn,
                            **asdict(s)))
                    _annotate(config_rows[-1], spec, gates)
                    continue
                try:
                    if export is None:
                        export = export_random_model(
                            cfg_path, s.height, s.width, s.batch_size,
                            osp.join(work_dir or tmp, name), s.cfg_options)
                    config_rows.append(
                        benchmark_backend(
                            backend_file(export, spec), spec, reference,
                            s.height, s.width, s.batch_size, s.device,
                            s.warmup, s.iters))
                    _annotate(config_rows[-1], spec, gates)
                except Exception as e:  # one failed backend: still a table
                    if not keep_going:
                        raise
                    config_rows.append(failed_row(reference, spec, e))
            add_speed_columns(config_rows, reference, ceiling)
            rows += config_rows
    return rows
