"""A small CamVid run that must learn: the learnability test's model.

SFNet-R18 from scratch (``configs/sfnet/sfnet_r18-d32_1xb4-800_camvid-
256x352.py``: the official initialisation, OHEM, SGD + poly) on
:data:`TRAIN_FRAMES` of CamVid train at half resolution (240x180 frames,
96x128 crops, :data:`ITERS` iterations of batch 8), scored on
:data:`VAL_FRAMES` of val (predicted at 240x180,
resized back by mmseg and compared with the full-size labels). Trained and
tested in this process through the users' entry points
(:mod:`inprocess`: mmseg's ``tools/train.py``, ``mim test mmseg_ext``).

The same run gives the ``camvid_model`` fixture (``conftest.py``): one
training per test session, shared by the learnability test and the
deployment accuracy gates.
"""
import json
import os.path as osp

import inprocess
import torch
from conftest import REPO

CONFIG = osp.join(REPO, 'configs', 'sfnet',
                  'sfnet_r18-d32_1xb4-800_camvid-256x352.py')
#: Every 6th frame of the 367 (62 frames, from all four sequences).
TRAIN_FRAMES = list(range(0, 367, 6))
#: Every 2nd frame of the 101 val frames (51).
VAL_FRAMES = list(range(0, 101, 2))
ITERS = 70
SEED = 0

TEMPLATE = """_base_ = [{base!r}]
data_root = {root!r}
crop_size = (96, 128)
half = (240, 180)
model = dict(
    data_preprocessor=dict(size=crop_size),
    decode_head=dict(loss_decode=dict(min_kept=6000)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=half, ratio_range=(0.75, 1.5),
         keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=half, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, indices={indices!r},
                 pipeline=train_pipeline{train_meta}))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, indices={val_indices!r},
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
test_evaluator = dict(type='ClassIoUMetric', iou_metrics=['mIoU'])
optimizer = dict(lr={lr})
optim_wrapper = dict(optimizer=optimizer)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end={iters},
         by_epoch=False)
]
train_cfg = dict(max_iters={iters}, val_interval={iters} + 1)
default_hooks = dict(checkpoint=dict(interval={iters}))
randomness = dict(seed={seed})
"""


def write_config(work_dir: str,
                 camvid_root: str,
                 iters: int = ITERS,
                 seed: int = SEED,
                 lr: float = 0.02,
                 rotate_classes: bool = False) -> str:
    """The run's config file in ``work_dir`` (inheriting :data:`CONFIG`).

    ``rotate_classes`` breaks the training labels on purpose: the train
    dataset's class order is rotated by one, so mmseg's ``label_map``
    turns every id ``i`` into ``i - 1`` (Sky into Bicyclist); val keeps
    the true ids.
    """
    from mmseg_ext.datasets import CamVidDataset
    classes = list(CamVidDataset.METAINFO['classes'])
    train_meta = (f', metainfo=dict(classes={classes[1:] + classes[:1]!r})'
                  if rotate_classes else '')
    path = osp.join(str(work_dir), f'camvid_subset_s{seed}.py')
    with open(path, 'w') as f:
        f.write(
            TEMPLATE.format(
                base=CONFIG,
                root=camvid_root,
                indices=TRAIN_FRAMES,
                val_indices=VAL_FRAMES,
                train_meta=train_meta,
                lr=lr,
                iters=iters,
                seed=seed))
    return path


def score(config: str, checkpoint: str, work_dir: str) -> dict:
    """``mim test mmseg_ext`` of ``checkpoint`` on val; its metrics (mIoU,
    aAcc, ``IoU.<class>``)."""
    import glob
    inprocess.test(
        [config, '--checkpoint', checkpoint, '--work-dir', work_dir])
    found = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    with open(found[-1]) as f:
        return json.load(f)


def untrained_checkpoint(config: str, path: str) -> str:
    """The model of ``config`` as initialised before training (the
    official init, seeded by the config's ``randomness``), saved as an
    mmengine checkpoint with the dataset's ``dataset_meta``."""
    from mmengine.runner import set_random_seed
    from mmseg.registry import DATASETS

    from mmseg_ext.apis import build_model, load_config
    cfg = load_config(config)
    set_random_seed(cfg.randomness['seed'])
    model = build_model(cfg)
    model.init_weights()
    meta = DATASETS.get(cfg.val_dataloader.dataset.type).METAINFO
    torch.save(
        dict(
            state_dict=model.state_dict(),
            meta=dict(
                dataset_meta=dict(
                    classes=list(meta['classes']),
                    palette=[list(c) for c in meta['palette']]))), path)
    return path


def train_and_score(work_dir: str,
                    camvid_root: str,
                    iters: int = ITERS,
                    seed: int = SEED,
                    lr: float = 0.02,
                    untrained: bool = True,
                    rotate_classes: bool = False) -> dict:
    """Train the subset run in ``work_dir``; return ``config``,
    ``checkpoint``, ``metrics`` (val after training) and, with
    ``untrained``, ``untrained_metrics`` (val before)."""
    work_dir = str(work_dir)
    config = write_config(work_dir, camvid_root, iters, seed, lr,
                          rotate_classes)
    train_dir = osp.join(work_dir, 'train')
    inprocess.train([config, '--work-dir', train_dir])
    checkpoint = osp.join(train_dir, f'iter_{iters}.pth')
    result = dict(
        config=config,
        checkpoint=checkpoint,
        data_root=camvid_root,
        metrics=score(config, checkpoint, osp.join(work_dir, 'test')))
    if untrained:
        init = untrained_checkpoint(config, osp.join(work_dir, 'init.pth'))
        result['untrained_metrics'] = score(config, init,
                                            osp.join(work_dir, 'test_init'))
    return result


def shuffled_labels_root(camvid_root: str, out: str, seed: int = 0) -> str:
    """A CamVid layout under ``out`` whose train frames are paired with
    other frames' label maps (a broken training set; val intact). Links
    only: nothing is copied or modified."""
    import os
    import random
    names = sorted(os.listdir(osp.join(camvid_root, 'train')))
    shuffled = names[:]
    random.Random(seed).shuffle(shuffled)
    for sub in ('train', 'trainannot'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    for name, other in zip(names, shuffled):
        os.symlink(
            osp.join(camvid_root, 'train', name), osp.join(out, 'train', name))
        os.symlink(
            osp.join(camvid_root, 'trainannot', other),
            osp.join(out, 'trainannot', name))
    for sub in ('val', 'valannot'):
        os.symlink(osp.join(camvid_root, sub), osp.join(out, sub))
    return out


def main(argv=None) -> None:
    """Measure the learnability run over seeds (and broken on purpose)::

        cd tests && python camvid_subset.py --seeds 0 1 2 3 --out /tmp/l
        python camvid_subset.py --seeds 0 --lr 0 --out /tmp/l0
        python camvid_subset.py --seeds 0 --shuffle-labels --out /tmp/ls
        python camvid_subset.py --seeds 0 --rotate-classes --out /tmp/lr
    """
    import argparse
    import time
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument('--seeds', type=int, nargs='+', default=[SEED])
    parser.add_argument('--lr', type=float, default=0.02)
    parser.add_argument('--shuffle-labels', action='store_true')
    parser.add_argument('--rotate-classes', action='store_true')
    parser.add_argument('--camvid', default=osp.join(REPO, 'data', 'camvid'))
    parser.add_argument('--out', required=True)
    args = parser.parse_args(argv)
    rows = []
    for seed in args.seeds:
        work = osp.join(args.out, f'seed{seed}')
        import os
        os.makedirs(work)
        root = args.camvid
        if args.shuffle_labels:
            root = shuffled_labels_root(root, osp.join(work, 'camvid'))
        start = time.time()
        res = train_and_score(
            work,
            root,
            seed=seed,
            lr=args.lr,
            rotate_classes=args.rotate_classes)
        rows.append(
            dict(
                seed=seed,
                lr=args.lr,
                shuffled_labels=args.shuffle_labels,
                rotated_classes=args.rotate_classes,
                seconds=round(time.time() - start, 1),
                mIoU=res['metrics']['mIoU'],
                aAcc=res['metrics']['aAcc'],
                untrained_mIoU=res['untrained_metrics']['mIoU'],
                untrained_aAcc=res['untrained_metrics']['aAcc'],
                classes={
                    k[4:]: v
                    for k, v in res['metrics'].items() if k.startswith('IoU.')
                }))
        print(json.dumps(rows[-1]), flush=True)
    with open(osp.join(args.out, 'learnability.json'), 'w') as f:
        json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
