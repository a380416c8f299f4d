"""The official-recipe configs resolve, the ISDNet configs carry the
official ISDNet recipes (cedricgsh/ISDNet ``configs/isdnet/*.py``), and
class-uniform sampling follows the official rule (lxtGH/SFSegNets
``datasets/uniform.py``) on the real Cityscapes sample.

Rule under test: labels are cut into whole tiles; each class present in a
tile gives one centroid, its centre of mass in that tile (int-truncated);
an epoch of N images holds ``npc = int(N * pct / C)`` centroid items per
class that has centroids and ``N - npc * C`` random whole images; a centroid
item's crop covers its (resize-scaled) centroid.
"""
import os.path as osp

import numpy as np
import pytest
from conftest import REPO
from mmengine.config import Config
from mmengine.dataset import RepeatDataset
from mmengine.registry import init_default_scope
from mmseg.registry import DATA_SAMPLERS, DATASETS, TRANSFORMS
from PIL import Image

import mmseg_ext  # noqa: F401
from mmseg_ext.datasets import ClassUniformDataset

SFNET = osp.join(REPO, 'configs', 'sfnet',
                 'sfnet_r18-d32_8xb2-300e_cityscapes-1024x1024.py')
PFNET = osp.join(REPO, 'configs', 'pfnet',
                 'pfnet_r50-d32_8xb2-16e_isaid-896x896.py')


@pytest.mark.parametrize('path, epochs, power', [(SFNET, 300, 1.0),
                                                 (PFNET, 16, 0.9)])
def test_recipe_configs_are_epoch_based_per_epoch_poly(path, epochs, power):
    cfg = Config.fromfile(path)
    assert cfg.train_cfg == dict(
        type='EpochBasedTrainLoop',
        max_epochs=epochs,
        val_interval=cfg.train_cfg.val_interval)
    (sched, ) = cfg.param_scheduler
    assert sched.type == 'PolyLR' and sched.by_epoch is True
    assert (sched.power, sched.end, sched.eta_min) == (power, epochs, 0.0)
    assert cfg.train_dataloader.sampler.type in ('ClassUniformSampler',
                                                 'DefaultSampler')


@pytest.fixture(scope='module')
def uniform_set(cityscapes_root):
    """The SFNet recipe's dataset wrapper on the sample, repeated 76 times
    (the sample is one 256x128 image, 1/8 of Cityscapes' 2048x1024, so the
    official 1024 tile becomes 128: two tiles, as on a full image)."""
    init_default_scope('mmseg')
    cfg = Config.fromfile(SFNET)
    ds_cfg = cfg.train_dataloader.dataset
    inner = dict(
        ds_cfg.dataset,
        data_root=cityscapes_root,
        data_prefix=dict(
            img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=[])
    repeated = RepeatDataset(DATASETS.build(inner), times=76)
    return ClassUniformDataset(repeated, tile_size=ds_cfg.tile_size // 8)


def test_centroids_are_tile_centres_of_mass(uniform_set):
    info = uniform_set.dataset.get_data_info(0)
    label = np.array(Image.open(info['seg_map_path']))
    seen = set()
    for image, cls, (x, y) in uniform_set.entries[uniform_set.num_images:]:
        if image:
            continue
        tx = x // 128 * 128
        ys, xs = np.nonzero(label[:, tx:tx + 128] == cls)
        assert (int(xs.mean()) + tx, int(ys.mean())) == (x, y)
        seen.add((cls, tx))
    # every (class, tile) pair of the 2 tiles is there, ignore (255) is not
    expected = {(int(c), tx)
                for tx in (0, 128)
                for c in np.unique(label[:, tx:tx + 128]) if c < 19}
    assert seen == expected and len(expected) > 10


def test_sampler_epoch_follows_official_counts(uniform_set):
    init_default_scope('mmseg')
    sampler = DATA_SAMPLERS.build(
        dict(type='ClassUniformSampler', class_uniform_pct=0.5, seed=0),
        default_args=dict(dataset=uniform_set))
    n, present = 76, len(uniform_set.class_ids)
    npc = int(n * 0.5 / 19)  # 2 per class
    items = list(sampler)
    assert len(items) == len(sampler) == n - npc * 19 + npc * present
    centred = [uniform_set.entries[i] for i in items if i >= n]
    assert len(centred) == npc * present
    assert sorted(c for _, c, _ in centred) == sorted(
        c for c in uniform_set.class_ids for _ in range(npc))
    # share of class-centred crops: pct when every class has centroids
    share = len(centred) / len(items)
    assert share == pytest.approx(npc * present / (n - npc * (19 - present)))
    sampler.set_epoch(1)
    assert list(sampler) != items


def test_centroid_crop_covers_centroid_on_real_sample(uniform_set):
    init_default_scope('mmseg')
    load = [
        TRANSFORMS.build(dict(type='LoadImageFromFile')),
        TRANSFORMS.build(dict(type='LoadAnnotations')),
        TRANSFORMS.build(
            dict(
                type='RandomResize',
                scale=(256, 128),
                ratio_range=(0.5, 2.0),
                keep_ratio=True,
                interpolation='bicubic'))
    ]
    crop = TRANSFORMS.build(
        dict(type='CentroidRandomCrop', crop_size=(64, 64)))
    np.random.seed(0)
    hits = 0
    # the centroid items of the first 3 copies of the image
    ids = range(uniform_set.num_images, uniform_set.num_images + 3 * 20)
    for idx in ids:
        results = uniform_set.get_data_info(idx)
        for t in load:
            results = t(results)
        sw, sh = results['scale_factor']
        cx, cy = (int(c * s)
                  for c, s in zip(results['crop_centroid'], (sw, sh)))
        y1, y2, x1, x2 = crop.crop_bbox(results)
        h, w = results['img'].shape[:2]
        # official: left edge from randint(cx - 64, cx), both ends included
        assert x1 <= cx <= x2 or w <= 64
        assert y1 <= cy <= y2 or h <= 64
        out = crop(results)
        hits += results['centroid_class'] in out['gt_seg_map']
    assert hits / len(ids) > 0.9


def test_color_jitter_keeps_shape_and_changes_colours():
    init_default_scope('mmseg')
    img = np.random.RandomState(0).randint(0, 256, (32, 48, 3), np.uint8)
    jitter = TRANSFORMS.build(
        dict(
            type='ColorJitter',
            brightness=0.25,
            contrast=0.25,
            saturation=0.25,
            hue=0.25))
    out = jitter(dict(img=img.copy()))['img']
    assert out.shape == img.shape and out.dtype == np.uint8
    assert not np.array_equal(out, img)
    with pytest.raises(ValueError, match='hue'):
        TRANSFORMS.build(dict(type='ColorJitter', hue=0.6))


ISDNET = osp.join(REPO, 'configs', 'isdnet')
# config -> (iterations, images per GPU, train crop, RandomResize scale and
# ratio, whole-image test scale, validation/checkpoint interval), from the
# official cedricgsh/ISDNet configs/isdnet/*.py on their mmseg 0.16 bases
# (datasets/deepglobe_1224x1224.py, aeril_2500x2500.py, cityscapes.py;
# schedules/schedule_80k.py, schedule_40k.py)
ISDNET_RECIPES = {
    # isdnet_r18-d8_1224x1224_80k_DeepGlobe.py
    'isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py':
    (80000, 2, (1224, 1224), (2448, 2448), (1.0, 1.0), (2448, 2448), 4000),
    'isdnet_r18-d8_in1k-pre_4xb2-80k_deepglobe-1224x1224.py':
    (80000, 2, (1224, 1224), (2448, 2448), (1.0, 1.0), (2448, 2448), 4000),
    # isdnet_r18-d8_2500x2500_40k_InriaAerial.py
    'isdnet_r18-d8_4xb1-40k_inria-2000x2000.py':
    (40000, 1, (2000, 2000), (5000, 5000), (0.8, 0.8), (5000, 5000), 4000),
    'isdnet_r18-d8_in1k-pre_4xb1-40k_inria-2000x2000.py':
    (40000, 1, (2000, 2000), (5000, 5000), (0.8, 0.8), (5000, 5000), 4000),
    # deeplabv3/deeplabv3_r18-d8_512x1024_80K_cityscapes_refine.py
    'isdnet_r18-d8_4xb2-80k_cityscapes-512x1024.py':
    (80000, 2, (512, 1024), (2048, 1024), (0.5, 2.0), (2048, 1024), 8000),
}


def _transform(pipeline, kind):
    (found, ) = [t for t in pipeline if t['type'] == kind]
    return found


@pytest.mark.parametrize('name', sorted(ISDNET_RECIPES))
def test_isdnet_configs_follow_the_official_recipes(name):
    """Optimizer, schedule, batch, crop, resize and test scale as the
    official configs (REFERENCES: SGD lr 0.01, wd 5e-4, poly 0.9 to 1e-4
    per iteration; DeepGlobe crop 1224, 2 images/GPU, 80k; Inria x0.8,
    crop 2000, 1 image/GPU, 40k, tested at full scale)."""
    iters, batch, crop, scale, ratio, test_scale, interval = \
        ISDNET_RECIPES[name]
    cfg = Config.fromfile(osp.join(ISDNET, name))
    assert cfg.optim_wrapper.type == 'OptimWrapper'
    assert cfg.optim_wrapper.get('clip_grad') is None
    assert 'paramwise_cfg' not in cfg.optim_wrapper
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
    (sched, ) = cfg.param_scheduler
    assert (sched.type, sched.power, sched.eta_min) == ('PolyLR', 0.9, 1e-4)
    assert (sched.begin, sched.end, sched.by_epoch) == (0, iters, False)
    loop = {k: v for k, v in cfg.train_cfg.items() if k != '_scope_'}
    assert loop == dict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=interval)
    assert cfg.default_hooks.checkpoint.interval == interval
    loader = cfg.train_dataloader
    assert loader.batch_size == batch
    pipeline = loader.dataset.pipeline
    resize = _transform(pipeline, 'RandomResize')
    assert (resize.scale, resize.ratio_range) == (scale, ratio)
    assert resize.keep_ratio is True
    assert _transform(pipeline, 'RandomCrop') == dict(
        type='RandomCrop', crop_size=crop, cat_max_ratio=0.75)
    assert _transform(pipeline, 'RandomFlip').prob == 0.5
    assert [t['type'] for t in pipeline
            ][-2:] == ['PhotoMetricDistortion', 'PackSegInputs']
    if 'cityscapes' not in name:
        assert _transform(pipeline, 'RandomRotate') == dict(
            type='RandomRotate', prob=0.5, degree=(90, 270))
    assert cfg.model.data_preprocessor.size == crop
    assert (cfg.model.data_preprocessor.pad_val,
            cfg.model.data_preprocessor.seg_pad_val) == (0, 255)
    test_resize = _transform(cfg.test_dataloader.dataset.pipeline, 'Resize')
    assert (test_resize.scale, test_resize.keep_ratio) == (test_scale, True)
    assert cfg.model.test_cfg.mode == 'whole'
    # the official loss weights
    assert cfg.model.decode_head.loss_decode.loss_weight == 1.0
    assert cfg.model.refine_head.loss_decode.loss_weight == 1.0
    assert (cfg.model.refine_head.recon_loss_weight,
            cfg.model.refine_head.affinity_loss_weight) == (0.1, 1.0)
    assert cfg.model.auxiliary_head.loss_decode.loss_weight == 0.4
