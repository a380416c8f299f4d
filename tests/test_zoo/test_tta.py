"""``mim test mmseg_ext CONFIG --checkpoint CKPT --tta`` on every dataset.

Each dataset base defines a ``tta_pipeline`` (before, ``--tta`` failed with
``KeyError: 'tta_pipeline'`` on PFNet, ISDNet DeepGlobe/Inria, the
DeepLabv3-R18 baseline and Pascal Context 60). One config per dataset is
tested on its real sample, laid out by our converters, with a checkpoint
the test writes (random weights of the config's model) and the TTA ratios
scaled down through ``--cfg-options`` so that the CPU run stays small.
Cityscapes runs the real ``mim test`` command; the others call the same
entry point in the test process (:mod:`inprocess`: no 8 s start-up each).
"""
import argparse
import os
import os.path as osp

import inprocess
import numpy as np
import pytest
import torch
from conftest import run_command
from mmengine.config import Config, DictAction
from mmseg.datasets import PascalContextDataset
from PIL import Image

from mmseg_ext.apis import build_model
from mmseg_ext.datasets.preparation import deepglobe, inria
from mmseg_ext.datasets.preparation.isaid import conversion as isaid
from tools.main_job import isdnet as isdnet_job
from tools.main_job.outputs import read_metric

# no worker processes, the first image of the split only
NO_WORKERS = [
    'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False',
    'test_dataloader.dataset.indices=1'
]
TRAIN_SPLIT = [
    'test_dataloader.dataset.data_prefix.img_path=img_dir/train',
    'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/train'
]
# PASCAL VOC colours of the objects in the val sample 114 -> context name
VOC_OBJECTS = {
    (128, 0, 0): 'aeroplane',
    (128, 128, 0): 'bird',
    (128, 64, 0): 'sheep'
}
# dataset -> (config, extra options, factor on the TTA ratios, sample size)
CASES = {
    'cityscapes': ('configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-'
                   '512x1024.py', [], 1.0),
    'isaid':
    ('configs/pfnet/pfnet_r50-d32_8xb2-34k_isaid-896x896.py',
     ['model.backbone.depth=18',
      'model.neck.in_channels=[64,128,256,512]'], 0.125),
    'deepglobe': ('configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-'
                  '1224x1224.py', TRAIN_SPLIT, 1.0),
    'inria': ('configs/isdnet/isdnet_r18-d8_4xb1-40k_inria-2000x2000.py',
              TRAIN_SPLIT, 0.128),
    'pascal_context': ('configs/pspnet/pspnet_r101-d8-mg124_4xb4-25k_'
                       'pascal-context-480x480.py', [
                           'model.backbone.depth=18',
                           'model.decode_head.in_channels=512',
                           'model.auxiliary_head.in_channels=256'
                       ], 0.25),
}


def pascal_context_sample(data_root, out):
    """VOC2010 layout of the val sample 114: its VOC object masks as Pascal
    Context 60 ids (0 = background), VOC's boundary as 255."""
    voc = osp.join(out, 'VOCdevkit', 'VOC2010')
    for d in ('JPEGImages', 'SegmentationClassContext',
              'ImageSets/SegmentationContext'):
        os.makedirs(osp.join(voc, d))
    rgb = np.array(
        Image.open(osp.join(data_root, 'voc',
                            '114_target.png')).convert('RGB'))
    label = np.zeros(rgb.shape[:2], np.uint8)
    classes = PascalContextDataset.METAINFO['classes']
    for colour, name in VOC_OBJECTS.items():
        label[(rgb == colour).all(-1)] = classes.index(name)
    label[(rgb == (224, 224, 192)).all(-1)] = 255
    assert len(np.unique(label)) > 2  # real objects present
    Image.open(osp.join(data_root, 'voc',
                        '114_image.png')).convert('RGB').save(
                            osp.join(voc, 'JPEGImages', '2010_000114.jpg'))
    Image.fromarray(label).save(
        osp.join(voc, 'SegmentationClassContext', '2010_000114.png'))
    with open(osp.join(voc, 'ImageSets/SegmentationContext/val.txt'),
              'w') as f:
        f.write('2010_000114\n')
    return voc


@pytest.fixture(scope='module')
def roots(tmp_path_factory, data_root, cityscapes_root):
    """Each dataset's real sample, laid out as its config reads it."""
    work = str(tmp_path_factory.mktemp('tta_data'))
    lists = isdnet_job.sample_lists(data_root, work)
    out = isdnet_job.converted_roots(work)
    deepglobe.main([
        osp.join(data_root, 'deepglobe'), '--splits-dir', lists['deepglobe'],
        '-o', out['deepglobe'], '--splits', 'train', '--unmatched', 'unknown'
    ])
    inria.main([
        osp.join(data_root, 'inria'), '--splits-dir', lists['inria'], '-o',
        out['inria'], '--splits', 'train'
    ])
    out['isaid'] = osp.join(work, 'iSAID')
    assert isaid.main(
        [osp.join(data_root, 'isaid'), '-o', out['isaid'], '--splits',
         'val']) in (0, None)
    out['pascal_context'] = pascal_context_sample(data_root, work)
    out['cityscapes'] = cityscapes_root
    return out


def parse_options(options):
    if not options:
        return {}
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def ratio_options(cfg, factor):
    """Scale every TTA ``Resize`` ratio of ``cfg`` by ``factor``."""
    tta = [
        i for i, t in enumerate(cfg.tta_pipeline) if t.type == 'TestTimeAug'
    ]
    assert len(tta) == 1, cfg.tta_pipeline
    resizes = cfg.tta_pipeline[tta[0]].transforms[0]
    assert len(resizes) >= 3 and all(r.type == 'Resize' for r in resizes)
    return [
        f'tta_pipeline.{tta[0]}.transforms.0.{j}.scale_factor='
        f'{r.scale_factor * factor}' for j, r in enumerate(resizes)
    ]


@pytest.mark.parametrize('dataset', list(CASES))
def test_tta_runs_on_the_real_sample(dataset, roots, tmp_path, mim):
    config, extra, factor = CASES[dataset]
    cfg = Config.fromfile(config)
    options = [f'test_dataloader.dataset.data_root={roots[dataset]}'
               ] + NO_WORKERS + extra + ratio_options(cfg, factor)
    cfg.merge_from_dict(parse_options(extra))
    cfg.model.pretrained = None
    torch.manual_seed(0)
    model = build_model(cfg)
    ckpt = tmp_path / 'random.pth'
    torch.save(
        {
            'state_dict': {
                k: v.half() if v.is_floating_point() else v
                for k, v in model.state_dict().items()
            },
            'meta': {}
        }, ckpt)
    del model
    pred_dir = tmp_path / 'pred'
    args = [
        config, '--checkpoint', ckpt, '--tta', '--work-dir', tmp_path / 'work',
        '--out', pred_dir, '--cfg-options', *options
    ]
    if dataset == 'cityscapes':  # the users' command, once
        run_command([mim, 'test', 'mmseg_ext', *args])
    else:
        inprocess.test(args)
    miou = read_metric(str(tmp_path / 'work'), 'mIoU')
    assert 0 <= miou <= 100
    preds = sorted(os.listdir(pred_dir))
    assert len(preds) == 1
    # one merged prediction of class ids
    pred = np.asarray(Image.open(pred_dir / preds[0]))
    assert pred.ndim == 2 and pred.max() < cfg.model.decode_head.num_classes
    print(f'{dataset}: {preds[0]} {pred.shape}, mIoU {miou:.2f}')
