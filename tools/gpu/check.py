"""The GPU check's driver: ``python -m tools.gpu.check OUT_DIR [--dry-run]``.

Run from the repository root (``tools/gpu/gpu_check.sh`` does, after
installing the carried wheels and building mmcv). Steps, in this order,
each guarded by the deadline (``--deadline``, an epoch second, or
``--budget-s`` from now) and each writing ``OUT_DIR/results.json`` as soon
as it has a result:

1. ``train``: 30 iterations of SFNet-R18 and ISDNet on CamVid
   (:func:`tools.gpu.train.train_runs`);
2. ``resume``: kill-and-resume of SFNet-R18
   (:func:`tools.gpu.train.resume_check`);
3. ``inference``: every row of :mod:`tools.gpu.infer`;
4. ``main_model``: a trained checkpoint, if given
   (:func:`tools.gpu.main_model.main_model_check`).

Each step also records the calls into mmcv's compiled ops it made
(``mmcv_ext_calls``, :class:`tools.gpu.report.MMCVOpTrace`).

``--dry-run`` rehearses all of it on the CPU at tiny sizes, few iterations
and without ``torch.compile`` (inductor's C++ build of every model takes
minutes on 2 cores; ``--compile-modes`` turns it back on). Exit status: 0
when every step ran without an error, 1 when a step recorded errors, 2 for
bad arguments or, without ``--dry-run``, no CUDA device.
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

STEPS = ('train', 'resume', 'inference', 'main_model')
GPU = dict(
    rows=('fp32', 'fp16', 'bf16', 'fp32-cl', 'fp16-cl', 'bf16-cl'),
    warmup=10,
    iters=50,
    train_iters=30,
    batch=8,
    crop=(352, 480),
    workers=4,
    resume_iters=10,
    frames=8,
    row_reserve_s=15,
    compile_reserve_s=90,
    train_reserve_s=30,
    resume_reserve_s=30)
DRY = dict(
    rows=('fp32', 'bf16', 'bf16-cl'),
    warmup=0,
    iters=1,
    train_iters=2,
    batch=2,
    crop=(64, 96),
    workers=0,
    resume_iters=2,
    frames=2,
    row_reserve_s=0,
    compile_reserve_s=0,
    train_reserve_s=0,
    resume_reserve_s=0)
DRY_RUN_LIMITS = dict(
    fp16='not run: fp16 autocast on the CPU takes reference kernels, about '
    '10x slower than fp32 on a 2-core AMD EPYC Zen 4',
    fp32_cl='not run: bf16-cl covers the channels-last path',
    compile='not run unless --compile-modes is given: inductor builds C++ '
    'for every model, minutes on 2 CPU cores')
CAMVID_CANDIDATES = ('.gpu_carry/camvid', 'data/camvid',
                     '../shared/data/camvid')


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog='python -m tools.gpu.check', description=__doc__.split('\n')[0])
    parser.add_argument('out_dir', help='folder for results.json, check.log')
    parser.add_argument(
        '--dry-run',
        action='store_true',
        help='rehearse every step on the CPU at tiny sizes')
    parser.add_argument(
        '--deadline',
        type=float,
        help='epoch second by which the check ends (gpu_check.sh passes '
        'its start + 480)')
    parser.add_argument(
        '--budget-s',
        type=float,
        default=480,
        help='seconds from now when --deadline is not given (default 480)')
    parser.add_argument(
        '--steps',
        nargs='+',
        choices=STEPS,
        default=list(STEPS),
        help='steps to run (default: all, in the order listed)')
    parser.add_argument(
        '--models', nargs='+', help='inference models (default: all)')
    parser.add_argument(
        '--compile-modes',
        nargs='*',
        help='torch.compile modes to time (default on CUDA: '
        'reduce-overhead max-autotune; none in --dry-run)')
    parser.add_argument(
        '--camvid',
        help='CamVid folder with train/, trainannot/, val/ (default: the '
        f'first of {", ".join(CAMVID_CANDIDATES)} that exists)')
    parser.add_argument('--main-config', help='config of --main-checkpoint')
    parser.add_argument(
        '--main-checkpoint', help='trained weights for the main_model step')
    parser.add_argument(
        '--work-root', help='scratch folder for the runners (default: temp)')
    parser.add_argument(
        '--meta',
        nargs='*',
        default=[],
        metavar='KEY=VALUE',
        help='extra facts for results.json meta (gpu_check.sh passes the '
        'mmcv build time)')
    args = parser.parse_args(argv)
    bad = [m for m in args.meta if '=' not in m]
    if bad:
        parser.error(f'--meta expects KEY=VALUE, got {bad}')
    if args.main_checkpoint and not args.main_config:
        parser.error('--main-checkpoint needs --main-config')
    return args


def find_camvid(given) -> str:
    """``given``, else the first of :data:`CAMVID_CANDIDATES` holding
    ``train/`` (relative to the working directory, the repository root).

    Raises:
        FileNotFoundError: If none is found.
    """
    for cand in ([given] if given else CAMVID_CANDIDATES):
        if osp.isdir(osp.join(cand, 'train')):
            return cand
    raise FileNotFoundError(
        f'CamVid not found at {given or CAMVID_CANDIDATES} (expected '
        'train/ in it; pass --camvid)')


def build_settings(args: argparse.Namespace, device: str) -> dict:
    settings = dict(DRY if args.dry_run else GPU)
    modes = args.compile_modes
    if modes is None:
        modes = [] if args.dry_run else ['reduce-overhead', 'max-autotune']
    settings.update(
        device=device,
        dry_run=args.dry_run,
        compile_modes=modes,
        camvid=find_camvid(args.camvid),
        main_config=args.main_config,
        main_checkpoint=args.main_checkpoint)
    return settings


def run_steps(args, settings: dict, rec, deadline) -> bool:
    """Run the chosen steps; True if none recorded an error."""
    import torch

    from .infer import benchmark_model, select_models
    from .main_model import main_model_check
    from .report import MMCVOpTrace
    from .train import resume_check, train_runs
    models = select_models(args.models)
    for step in args.steps:
        rec.log(f'== {step} ({deadline.left():.0f} s left)')
        start = time.perf_counter()
        rec.set(step, 'status', 'running')
        with MMCVOpTrace() as trace, rec.guard(step, step):
            if step == 'train':
                train_runs(rec, deadline, settings)
            elif step == 'resume':
                resume_check(rec, deadline, settings)
            elif step == 'inference':
                torch.backends.cudnn.benchmark = settings['device'] == 'cuda'
                rec.set('inference', 'cudnn_benchmark',
                        torch.backends.cudnn.benchmark)
                if args.dry_run:
                    rec.set('inference', 'dry_run_limits', DRY_RUN_LIMITS)
                # the first compile mode with every model's eager rows, the
                # other (slower to compile) ones once all models have rows
                modes = settings['compile_modes']
                for spec in models:
                    with rec.guard('inference', spec.name):
                        benchmark_model(
                            spec,
                            rec,
                            deadline,
                            settings,
                            compile_modes=modes[:1])
                for spec in models if modes[1:] else []:
                    with rec.guard('inference', f'{spec.name} compile'):
                        benchmark_model(
                            spec,
                            rec,
                            deadline,
                            settings,
                            eager=False,
                            compile_modes=modes[1:])
            elif step == 'main_model':
                main_model_check(rec, deadline, settings)
        rec.step(step).update(
            status='done',
            duration_s=time.perf_counter() - start,
            mmcv_ext_calls=trace.summary())
        rec.flush()
    return not any(s.get('errors') for s in rec.data['steps'].values())


def main(argv=None) -> int:
    args = parse_args(argv)
    deadline_at = args.deadline or time.time() + args.budget_s
    import torch
    if args.dry_run:
        device = 'cpu'
    elif torch.cuda.is_available():
        device = 'cuda'
    else:
        print(
            'no CUDA device: run with --dry-run to rehearse on the CPU',
            file=sys.stderr)
        return 2
    try:
        settings = build_settings(args, device)
    except FileNotFoundError as e:
        print(e, file=sys.stderr)
        return 2
    import mmseg_ext  # noqa: F401  registers the package's modules
    from .report import Deadline, Recorder, environment
    extra = dict(m.split('=', 1) for m in args.meta)
    extra.update(
        dry_run=args.dry_run,
        argv=sys.argv[1:] if argv is None else list(argv),
        deadline_utc=time.strftime('%H:%M:%SZ', time.gmtime(deadline_at)),
        settings={
            k: v
            for k, v in settings.items() if k not in ('device', 'dry_run')
        })
    rec = Recorder(args.out_dir, environment(device, extra))
    work_root = args.work_root or tempfile.mkdtemp(prefix='gpu_check_')
    settings['work_root'] = work_root
    ok = run_steps(args, settings, rec, Deadline(deadline_at))
    rec.data['meta']['finished_utc'] = time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                                     time.gmtime())
    rec.data['meta']['ok'] = ok
    rec.flush()
    rec.log(f'done: {"ok" if ok else "errors recorded"}; results in '
            f'{osp.join(args.out_dir, "results.json")}')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
