"""``tools/fps_test.py``: benchmark configs, print one Markdown table.

Each config's model is built (``custom_imports`` honoured, SyncBN reverted to
BN), put in eval mode, warmed up and timed under ``torch.inference_mode()``
with ``x = torch.randn(B, 3, H, W)`` (H is the height, W the width) on
``model(x, mode='tensor')`` (``--mode tensor``, the default: the network's
logits) or ``model.predict(x, data_samples)`` (``--mode predict``: the full
test-time path, e.g. PointRend's subdivision steps, which mmseg 1.2.2's
``CascadeEncoderDecoder`` does not run in tensor mode, and the resize to the
image size). One Markdown table row per config and backend is printed.

Backends (``--backend NAME[:PRECISION] ...``, several in one run):
``pytorch`` (eager; ``--channels-last``, ``--compile``, ``--fuse-conv-bn``
apply to it), ``onnxruntime``, ``openvino``, ``tensorrt`` (CUDA). A backend
row runs an ONNX export of the same randomly initialised model, made on the
fly (static shape; kept under ``--work-dir`` if given) or read from
``--backend-model`` (an ``end2end.onnx``/``.xml`` or the folder
``tools/deploy/deploy.py`` wrote; one config). A precision suffix
(``openvino:bf16``) overrides ``--precision`` (or ``--bf16``/``--fp16``),
which sets the default. ``onnxruntime:int8`` and ``openvino:int8`` run the
quantized graph of the export folder given as ``--backend-model``
(``end2end.int8.onnx`` / ``end2end.int8.xml``). Every config's eager fp32
PyTorch forward is measured in the same run and gives each row's speed-up
(median latency ratio).

The table (and the JSON's ``meta``) is headed by what ran where: date, CPU
model, CPUs and threads used, the ISA flags that decide the kernels (AVX2,
AVX512F, AVX512-VNNI, AVX512-BF16, AMX), the torch / ONNX Runtime /
OpenVINO versions and the command (:mod:`.hardware`). ``--probe-peak``
first times one 3x3 conv 256->256 on 128x256 in fp32, bf16 and int8 on
torch, ONNX Runtime and OpenVINO (:mod:`.peak`) and adds each row's
fraction of the ceiling of its precision. ``--precision auto`` (or
``NAME:auto``) probes the ceilings and runs each backend at the fastest
precision whose accuracy gate in the export's ``deploy.json`` passed on
this ISA (:mod:`.precision`), printing the choice and why; OpenVINO's
precision is always passed explicitly.

Examples::

    python tools/fps_test.py \\
        configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py \\
        configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py \\
        --height 1024 --width 2048 --device cpu --warmup 2 --iters 5
    python tools/fps_test.py CONFIG --height 512 --width 1024 --device cuda \\
        --fp16 --channels-last --compile --out fps.md  # or fps.json
    python tools/fps_test.py CONFIG --height 512 --width 1024 --device cpu \\
        --backend pytorch pytorch:bf16 onnxruntime openvino openvino:bf16 \\
        --channels-last --probe-peak --warmup 2 --iters 5
    python tools/fps_test.py CONFIG --height 512 --width 1024 --device cpu \\
        --backend onnxruntime onnxruntime:int8 openvino openvino:int8 \\
        openvino:auto --backend-model EXPORT_DIR --probe-peak --iters 5

``--fp16`` needs CUDA and is rejected on CPU (use ``--bf16`` there). GFLOPs
are per image, counted by mmengine (1 multiply-add = 1 FLOP; unsupported ops
such as ``grid_sample`` or interpolation are skipped with a warning); if the
analysis fails the cell reads ``n/a``. FPS = B / mean latency.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.logging import MMLogger, print_log

from mmseg_ext.apis.builder import load_config
from mmseg_ext.deploy.identity import (check_export_matches_config,
                                       read_deploy_json)
from mmseg_ext.utils.cli import add_cfg_options
from .forwards import FORWARDS
from .hardware import format_ceilings, read_cpu, run_meta, utc_now
from .peak import probe_ceilings
from .precision import choose_precision, read_gates
from .suite import (EAGER, PRECISION_NAMES, RowSpec, RunSettings, backend_file,
                    parse_row_spec, run_suite)
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
    precision.add_argument(
        '--precision',
        choices=PRECISION_NAMES,
        help='default precision of the rows without :PRECISION; int8: the '
        'quantized export (onnxruntime/openvino); auto: per backend the '
        'fastest precision whose accuracy gate passed (probes the ceilings)')
    parser.add_argument(
        '--channels-last',
        action='store_true',
        help='use channels-last memory format')
    parser.add_argument(
        '--compile',
        action='store_true',
        help='wrap the model with torch.compile')
    parser.add_argument(
        '--fuse-conv-bn',
        action='store_true',
        help="fold BN into the preceding conv (mmcv's fuse_conv_bn) for the "
        'eager PyTorch rows')
    parser.add_argument(
        '--backend',
        nargs='+',
        default=[EAGER],
        metavar='NAME[:PRECISION]',
        help='rows to time per config: pytorch (default), onnxruntime, '
        'openvino, tensorrt, each optionally :fp32/:bf16/:fp16/:int8/:auto')
    parser.add_argument(
        '--backend-model',
        help='exported model for the backend rows (end2end.onnx/.xml or '
        'its folder; one config); default: export on the fly')
    parser.add_argument(
        '--allow-config-mismatch',
        action='store_true',
        help="time --backend-model even if its deploy.json records another "
        'model config (without it such an export is refused)')
    parser.add_argument(
        '--work-dir',
        help='keep the on-the-fly exports in <work-dir>/<config name> '
        '(default: a temporary folder)')
    parser.add_argument(
        '--keep-going',
        action='store_true',
        help='a backend whose export or run fails gives a row naming the '
        'error (n/a timings) instead of stopping the run')
    parser.add_argument(
        '--probe-peak',
        action='store_true',
        help='measure the conv ceilings (3x3 conv 256->256 on 128x256; fp32, '
        'bf16, int8 on torch, onnxruntime, openvino) and add each row\'s '
        'fraction of the ceiling of its precision')
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
    args.dtype = args.precision or ('fp16' if args.fp16 else
                                    'bf16' if args.bf16 else 'fp32')
    try:
        args.specs = list(
            dict.fromkeys(parse_row_spec(s, args.dtype) for s in args.backend))
    except ValueError as e:
        parser.error(str(e))
    if device.type != 'cuda' and any(
            s.backend == EAGER and s.precision == 'fp16' for s in args.specs):
        parser.error('pytorch fp16 autocast is only supported on CUDA '
                     'devices; use --bf16 on CPU')
    if args.backend_model and len(args.configs) != 1:
        parser.error('--backend-model names one exported model: give one '
                     f'config, not {len(args.configs)}')
    if args.backend_model and not osp.exists(args.backend_model):
        parser.error(f'--backend-model not found: {args.backend_model}')
    if not args.backend_model and any(s.precision == 'int8'
                                      for s in args.specs):
        parser.error('int8 rows run a quantized export: give its folder as '
                     '--backend-model (tools/deploy/deploy.py with an int8 '
                     'deploy config writes it)')
    if any(s.precision == 'auto' for s in args.specs):
        args.probe_peak = True  # auto ranks precisions by their ceilings
    return args


def resolve_auto(args: argparse.Namespace, ceilings: dict, gates: dict,
                 deploy_json: Optional[str]) -> dict:
    """Replace the ``auto`` rows of ``args.specs`` by their chosen
    precision (:func:`~.precision.choose_precision` with ``gates``, read
    from ``deploy_json``, ``None`` if there is none); print and return
    ``{backend: choice}``."""
    flags = read_cpu()[1]
    choices, specs = {}, []
    for spec in args.specs:
        if spec.precision != 'auto':
            specs.append(spec)
            continue
        missing = {}
        if spec.backend != EAGER:
            try:
                if not args.backend_model:
                    raise FileNotFoundError('no int8 export (--backend-model '
                                            'EXPORT_DIR)')
                backend_file(args.backend_model, RowSpec(spec.backend, 'int8'))
            except FileNotFoundError as e:
                missing['int8'] = str(e)
        choice = choose_precision(spec.backend, gates, flags, ceilings,
                                  missing)
        choice.why += ('; gates from ' +
                       (deploy_json or 'nowhere (no deploy.json)'))
        choices[spec.backend] = choice.as_dict()
        print_log(
            f'--precision auto, {spec.backend}: {choice.precision} '
            f'({choice.why})',
            logger='current')
        specs.append(RowSpec(spec.backend, choice.precision, auto=True))
    args.specs = list(dict.fromkeys(specs))
    return choices


def main(argv: Optional[List[str]] = None) -> List[dict]:
    """Benchmark every config of ``argv``, print the table; return the
    rows."""
    args = parse_args(argv)
    start = utc_now()
    if not MMLogger.check_instance_created('fps_test'):
        MMLogger.get_instance('fps_test', log_level='INFO')
    if args.backend_model:  # an export of another model: refused, named
        check_export_matches_config(
            args.backend_model, load_config(args.configs[0], args.cfg_options),
            args.allow_config_mismatch)
    argv = sys.argv[1:] if argv is None else list(argv)
    deploy_json, info = read_deploy_json(args.backend_model)
    gates = read_gates(info)
    ceilings, choices = None, {}
    if args.probe_peak:
        ceilings = probe_ceilings(args.device)
        print_log(
            f'conv ceilings: {format_ceilings(ceilings)}', logger='current')
        choices = resolve_auto(args, ceilings, gates, deploy_json)
    settings = RunSettings(args.height, args.width, args.batch_size,
                           args.device, args.warmup, args.iters,
                           args.cfg_options, args.mode)
    rows = run_suite(
        args.configs,
        args.specs,
        settings,
        channels_last=args.channels_last,
        torch_compile=args.compile,
        fuse_bn=args.fuse_conv_bn,
        ceiling=ceilings and ceilings['gflops'],
        backend_model=args.backend_model,
        work_dir=args.work_dir,
        keep_going=args.keep_going,
        gates=gates)
    meta = run_meta(argv, ceilings, choices, start)
    print(format_table(rows, meta))
    if args.out:
        write_results(args.out, rows, {
            k: v
            for k, v in vars(args).items() if k != 'specs'
        }, meta)
        print_log(f'results written to {args.out}', logger='current')
    return rows
