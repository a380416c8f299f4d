"""The shared config bases resolve to each config's own published values.

``configs/_base_/datasets/uhr_aerial.py`` holds what DeepGlobe and Inria
share (splits, loaders, metric); each child re-binds its dataset, root and
pipelines, and ``test_dataloader = val_dataloader`` in a child merges into
the base's test loader, so the test split must stay ``img_dir/test``. The
HRNet-W48 and EfficientNet-B4 model bases are the only place their backbone
is written: the Cityscapes and Pascal Context configs of both heads must
resolve to one backbone per width.
"""
import glob
import os.path as osp

import pytest
from conftest import REPO
from mmengine.config import Config

AERIAL = {
    # dataset base: (dataset type, root, crop, train batch, decode backend,
    # train RandomResize scale and ratio, test Resize scale); cedricgsh/ISDNet
    # configs/_base_/datasets/{deepglobe_1224x1224,aeril_2500x2500}.py
    'deepglobe.py':
    ('DeepGlobeDataset', 'data/deepglobe_landcover', (1224, 1224), 2, 'cv2',
     (2448, 2448), (1.0, 1.0), (2448, 2448)),
    'inria.py': ('InriaAerialDataset', 'data/inria_aerial', (2000, 2000), 1,
                 'pillow', (5000, 5000), (0.8, 0.8), (5000, 5000)),
}


def _step(pipeline, name):
    steps = [t for t in pipeline if t.type == name]
    assert len(steps) == 1, (name, pipeline)
    return steps[0]


@pytest.mark.parametrize('base', sorted(AERIAL))
def test_aerial_dataset_bases(base):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'datasets', base))
    (dataset_type, root, crop, batch, backend, scale, ratio,
     test_scale) = AERIAL[base]
    assert (cfg.dataset_type, cfg.data_root, tuple(cfg.crop_size)) == \
        (dataset_type, root, crop)
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.train_dataloader.num_workers == 8
    assert cfg.train_dataloader.sampler.type == 'InfiniteSampler'
    for split, loader, pipeline in (('train', cfg.train_dataloader,
                                     cfg.train_pipeline),
                                    ('val', cfg.val_dataloader,
                                     cfg.test_pipeline), ('test',
                                                          cfg.test_dataloader,
                                                          cfg.test_pipeline)):
        ds = loader.dataset
        assert (ds.type, ds.data_root) == (dataset_type, root)
        assert dict(ds.data_prefix) == dict(
            img_path=f'img_dir/{split}', seg_map_path=f'ann_dir/{split}')
        assert ds.pipeline == pipeline
        load = _step(ds.pipeline, 'LoadImageFromFile')
        assert load.get('imdecode_backend', 'cv2') == backend
        if split != 'train':
            assert (loader.batch_size, loader.num_workers) == (1, 4)
            assert loader.sampler.type == 'DefaultSampler'
            assert tuple(_step(ds.pipeline, 'Resize').scale) == test_scale
    resize = _step(cfg.train_pipeline, 'RandomResize')
    assert (tuple(resize.scale), tuple(resize.ratio_range)) == (scale, ratio)
    assert tuple(_step(cfg.train_pipeline, 'RandomCrop').crop_size) == crop
    rotate = _step(cfg.train_pipeline, 'RandomRotate')
    assert (rotate.prob, tuple(rotate.degree)) == (0.5, (90, 270))
    assert cfg.val_evaluator == cfg.test_evaluator == dict(
        type='IoUMetric', iou_metrics=['mIoU'])


@pytest.mark.parametrize('backbone', ['hr48', 'effb4-d8'])
def test_one_backbone_per_model_base(backbone):
    paths = sorted(
        glob.glob(osp.join(REPO, 'configs', '*', f'*_{backbone}_*.py')))
    # pspnet / deeplabv3 x Cityscapes, Pascal Context 60, Pascal Context 59
    assert len(paths) == 6
    backbones = [Config.fromfile(p).model.backbone.to_dict() for p in paths]
    base = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models',
                 f'pspnet_{backbone}.py')).model.backbone.to_dict()
    assert all(b == base for b in backbones)
