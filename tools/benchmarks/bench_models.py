"""Checkpoints trained here for the benchmarks' accuracy columns.

No published weights can be downloaded on the benchmark machines, and a
random network says nothing about what quantization does to a trained one
(its activations have no structure to keep). So the int8 benchmark
(:mod:`tools.benchmarks.int8_table`) and the whole-scene comparison of
patch and scene mIoU time and score models trained from scratch here, each
on the real data its family is published on where a sample exists:

======== ============================ ====================================
name     model config                 training data (real, ``data/``)
======== ============================ ====================================
sfnet18  SFNet-R18 CamVid recipe      the main job's checkpoint (800 it)
sfnet50  the same recipe with R-50    CamVid train, 367 frames
pfnet50  PFNet-R50 iSAID              the iSAID sample's train image
isdnet   ISDNet-R18, 11 classes       CamVid train, 367 frames
======== ============================ ====================================

These are short CPU runs, far from the published accuracy: the figures
they serve are agreements between precisions and between evaluation
protocols of one checkpoint, not the models' quality. Run from the
repository root (``bash tools/link_data.sh ../shared/data`` first)::

    python -m tools.benchmarks.bench_models [--out work_dirs/bench] \\
        [--only sfnet50 pfnet50 isdnet]

Each model trains with ``mim train mmseg`` into ``OUT/<name>/train``; a
model whose checkpoint exists is skipped.
"""
import argparse
import os.path as osp
import subprocess
import sys
from functools import partial

from tools.main_job import camvid, pfnet
from tools.main_job.options import load_config

SFNET50_CONFIG = 'tools/benchmarks/configs/sfnet_r50-d32_1xb4_camvid.py'
# the Inria/DeepGlobe samples are one tile each: a from-scratch ISDNet
# learns only their majority class there (building IoU 0.0 after 600
# iterations on the Inria crop), so it trains on CamVid
ISDNET_CONFIG = 'tools/benchmarks/configs/isdnet_r18-d8_1xb4_camvid.py'
#: iterations of each short run
ITERS = dict(sfnet50=150, pfnet50=60, isdnet=300)
PFNET_SCALE = 512  # training resize of the iSAID sample (896 published)


def camvid_run(name: str, config: str, out: str, data_root: str) -> list:
    """``mim train`` of ``config`` on CamVid train for ``ITERS[name]``."""
    iters = ITERS[name]
    return [
        'mim', 'train', 'mmseg', config, '--work-dir',
        osp.join(out, name, 'train'), '--cfg-options',
        *camvid.data_options(camvid.camvid_root(data_root)),
        *camvid.schedule_options(iters), f'train_cfg.val_interval={iters}'
    ]


def pfnet50(out: str, data_root: str) -> list:
    patches = osp.join(out, 'data', 'iSAID')
    if not osp.isdir(osp.join(patches, 'img_dir')):
        pfnet.convert('.', data_root, patches)
    cfg = load_config(pfnet.R50)
    return [
        'mim', 'train', 'mmseg', pfnet.R50, '--work-dir',
        osp.join(out, 'pfnet50', 'train'), '--cfg-options',
        *pfnet.isaid_train_options(cfg, patches, ITERS['pfnet50'], PFNET_SCALE)
    ]


def checkpoint(out: str, name: str) -> str:
    """Where ``name``'s checkpoint is (sfnet18: the main job's)."""
    if name == 'sfnet18':
        return camvid.checkpoint_path(
            osp.join('work_dirs', 'main_job', 'camvid'))
    return osp.join(out, name, 'train', f'iter_{ITERS[name]}.pth')


#: what each checkpoint was trained on, for the result files
TRAINED = dict(
    sfnet18='CamVid train (367 frames), 800 iterations x batch 4, '
    '256x352 crops, from scratch (the main job; val mIoU 45.56)',
    sfnet50=f'CamVid train (367 frames), {ITERS["sfnet50"]} iterations x '
    'batch 4, 256x352 crops, from scratch',
    pfnet50=f'the iSAID sample\'s train image P0005, {ITERS["pfnet50"]} '
    f'iterations x batch 2 resized to {PFNET_SCALE}x{PFNET_SCALE}, from '
    'scratch',
    isdnet=f'CamVid train (367 frames), {ITERS["isdnet"]} iterations x '
    'batch 4, 256x352 crops, from scratch')

BUILDERS = dict(
    sfnet50=partial(camvid_run, 'sfnet50', SFNET50_CONFIG),
    pfnet50=pfnet50,
    isdnet=partial(camvid_run, 'isdnet', ISDNET_CONFIG))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default=osp.join('work_dirs', 'bench'))
    parser.add_argument('--data-root', default='data')
    parser.add_argument('--only', nargs='+', choices=sorted(BUILDERS))
    args = parser.parse_args(argv)
    for name in args.only or sorted(BUILDERS):
        ckpt = checkpoint(args.out, name)
        if osp.exists(ckpt):
            print(f'{name}: {ckpt} exists, skipped', flush=True)
            continue
        cmd = BUILDERS[name](args.out, args.data_root)
        print(f'{name}: {" ".join(cmd)}', flush=True)
        subprocess.run(
            [osp.join(osp.dirname(sys.executable), cmd[0]), *cmd[1:]],
            check=True)
        print(f'{name}: {ckpt}', flush=True)


if __name__ == '__main__':
    main()
