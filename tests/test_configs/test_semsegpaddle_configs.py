"""Our PSPNet / DeepLabv3 (SemSegPaddle backbones) and PointRend configs.

Every config parses with ``Config.fromfile``, keeps the published settings
(SyncBN, crop, schedule of the source it cites), and its backbone's output
channels match what its heads read (checked by inspection for all of them).
A representative subset is built with BN and run on a tiny input; building
and running every R101 / ResNeXt / HRNet-W48 variant on CPU would take
minutes (dilated grouped convolutions are slow there).

Backbone output channels used for the inspection:
- ResNet / ResNeXt (bottleneck, depth 101): 256, 512, 1024, 2048;
- HRNet: ``extra.stage4.num_channels``;
- timm ``efficientnet_b4`` with ``features_only=True, out_indices=(1, 2, 3,
  4)``: ``feature_info.channels()`` = 32, 56, 160, 448 (stem 48 and blocks
  of 16, 24, 40, 80, 112, 192, 320 channels scaled by 1.4 and rounded to
  multiples of 8; read from timm 1.0.31, ``efficientnet.py``
  ``_gen_efficientnet``).
"""
import functools
import glob
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.config import utils as config_utils
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs', 'pspnet', '*.py')) +
    glob.glob(osp.join(REPO, 'configs', 'deeplabv3', '*.py')))
POINTREND = sorted(glob.glob(osp.join(REPO, 'configs', 'pointrend', '*.py')))
TIMM_CHANNELS = {'efficientnet_b4': (32, 56, 160, 448)}
CLASSES = {'cityscapes': 19, 'pascal-context-59': 59, 'pascal-context': 60}


@pytest.fixture(scope='module', autouse=True)
def fast_base_lookup():
    """Memoise mmengine's metafile scan for ``mmseg::`` bases (~0.3 s each).

    ``_get_cfg_metainfo`` reads every mmseg metafile on each call and raises
    ValueError for base files, after which mmengine falls back to
    ``.mim/configs/<path>``; caching its result (or error) per path changes
    nothing else.
    """
    orig = config_utils._get_cfg_metainfo

    @functools.lru_cache(maxsize=None)
    def cached(package_path, cfg_path):
        try:
            return ('ok', orig(package_path, cfg_path))
        except ValueError as e:
            return ('err', e)

    def lookup(package_path, cfg_path):
        kind, value = cached(package_path, cfg_path)
        if kind == 'err':
            raise value
        return value

    config_utils._get_cfg_metainfo = lookup
    yield
    config_utils._get_cfg_metainfo = orig


@functools.lru_cache(maxsize=None)
def load(path):
    return Config.fromfile(path)


def name(path):
    return osp.splitext(osp.basename(path))[0]


def dataset_of(path):
    n = name(path)
    for key in ('pascal-context-59', 'pascal-context', 'cityscapes'):
        if key in n:
            return key
    raise AssertionError(f'no dataset in {n}')


def backbone_channels(backbone):
    if backbone.type in ('ResNetV1c', 'ResNeXt'):
        assert backbone.depth == 101
        return (256, 512, 1024, 2048)
    if backbone.type == 'HRNet':
        return tuple(backbone.extra.stage4.num_channels)
    if backbone.type == 'TIMMBackbone':
        assert tuple(backbone.out_indices) == (1, 2, 3, 4)
        return TIMM_CHANNELS[backbone.model_name]
    raise AssertionError(f'unexpected backbone {backbone.type}')


def head_reads(head, channels):
    if head.get('input_transform') == 'resize_concat':
        return list(head.in_channels) == [channels[i] for i in head.in_index]
    return head.in_channels == channels[head.in_index]


def to_bn(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == 'norm_cfg' and isinstance(value, dict):
                value['type'] = 'BN'
            else:
                to_bn(value)
    elif isinstance(node, list):
        for value in node:
            to_bn(value)


def test_every_backbone_and_dataset_is_covered():
    names = [name(p) for p in CONFIGS]
    assert len(names) == 24
    for algo in ('pspnet', 'deeplabv3'):
        for bb in ('r101-d8-mg124', 'x101-d8-mg124', 'hr48', 'effb4-d8'):
            for ds in CLASSES:
                assert sum(
                    n.startswith(f'{algo}_{bb}_') and n.endswith(
                        f'_{ds}-{769 if ds == "cityscapes" else 480}'
                        f'x{769 if ds == "cityscapes" else 480}')
                    for n in names) == 1, (algo, bb, ds)


@pytest.mark.parametrize('path', CONFIGS, ids=name)
def test_config_published_settings(path):
    cfg = load(path)
    assert cfg.custom_imports.imports == ['mmseg_ext']
    ds = dataset_of(path)
    crop = 769 if ds == 'cityscapes' else 480
    assert tuple(cfg.crop_size) == (crop, crop)
    assert tuple(cfg.model.data_preprocessor.size) == (crop, crop)
    crops = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t.type == 'RandomCrop'
    ]
    assert [tuple(t.crop_size) for t in crops] == [(crop, crop)]
    assert cfg.model.test_cfg.mode == 'slide'
    assert tuple(cfg.model.test_cfg.crop_size) == (crop, crop)
    # SemSegPaddle eval.py: stride = int(crop / 3)
    assert tuple(cfg.model.test_cfg.stride) == (crop // 3, crop // 3)
    heads = [cfg.model.decode_head] + ([cfg.model.auxiliary_head] if
                                       cfg.model.get('auxiliary_head') else [])
    for head in heads:
        assert head.norm_cfg.type == 'SyncBN'
        assert head.num_classes == CLASSES[ds]
        assert head.align_corners is True
    if cfg.model.backbone.type != 'TIMMBackbone':
        # timm's EfficientNet keeps its BatchNormAct2d (module docstring of
        # the config): no SyncBN route through TIMMBackbone's norm_layer
        assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    dataset = cfg.train_dataloader.dataset.type
    # mmseg's datasets with mmseg_ext's sample checks (datasets/checked.py)
    assert dataset == {
        'cityscapes': 'CheckedCityscapesDataset',
        'pascal-context-59': 'CheckedPascalContextDataset59',
        'pascal-context': 'CheckedPascalContextDataset'
    }[ds]
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.momentum, opt.weight_decay) == ('SGD', 0.9, 4e-5)
    sched, = cfg.param_scheduler
    assert (sched.type, sched.power, sched.eta_min) == ('PolyLR', 0.9, 0.0)
    assert sched.end == cfg.train_cfg.max_iters
    if 'hr48' in path and ds == 'cityscapes':
        recipe = (0.001, 2, 240 * 372)
    elif ds == 'cityscapes':
        recipe = (0.01, 2, 80 * 372)
    else:
        recipe = (0.005, 4, 80 * 313)
    assert (opt.lr, cfg.train_dataloader.batch_size,
            cfg.train_cfg.max_iters) == recipe


@pytest.mark.parametrize('path', CONFIGS, ids=name)
def test_backbone_channels_match_heads(path):
    model = load(path).model
    channels = backbone_channels(model.backbone)
    assert head_reads(model.decode_head, channels)
    if model.get('auxiliary_head'):
        assert head_reads(model.auxiliary_head, channels)
        assert model.auxiliary_head.loss_decode.loss_weight == 0.4
    if model.backbone.type in ('ResNetV1c', 'ResNeXt'):
        b = model.backbone
        assert tuple(b.dilations) == (1, 1, 2, 4)
        assert tuple(b.strides) == (1, 2, 1, 1)
        assert tuple(b.multi_grid) == (4, 8, 16)  # absolute in mmseg
        assert b.contract_dilation is False
    if model.backbone.type == 'ResNeXt':
        assert (model.backbone.groups, model.backbone.base_width) == (32, 4)
    if model.backbone.type == 'TIMMBackbone':
        assert model.backbone.output_stride == 8 and model.pretrained is None


@pytest.mark.parametrize('path', POINTREND, ids=name)
def test_pointrend_configs(path):
    cfg = load(path)
    assert cfg.custom_imports.imports == ['mmseg_ext']
    assert cfg.model.backbone.norm_cfg.type == 'SyncBN'
    assert cfg.model.decode_head[0].norm_cfg.type == 'SyncBN'
    assert cfg.model.test_cfg.subdivision_num_points == 8192
    assert cfg.train_dataloader.batch_size == 4
    warmup, poly = cfg.param_scheduler
    assert (warmup.type, warmup.end) == ('LinearLR', 1000)
    assert warmup.start_factor * cfg.optim_wrapper.optimizer.lr == \
        pytest.approx(1e-5)
    assert (poly.type, poly.begin, poly.end, poly.eta_min, poly.power) == \
        ('PolyLR', 1000, 80000, 1e-5, 0.9)
    if path.endswith('-test.py'):
        assert cfg.test_dataloader.dataset.data_prefix.img_path == \
            'leftImg8bit/test'
        # no ground truth: the test entry's --format-only writes the
        # submission (the one place it is set up)
        assert 'LoadAnnotations' not in [
            t.type for t in cfg.test_dataloader.dataset.pipeline
        ]
    else:
        assert tuple(cfg.crop_size) == (512, 1024)
    depth = 101 if 'r101' in path else 50
    assert cfg.model.backbone.depth == depth


BUILT = [
    'pspnet_r101-d8-mg124_4xb2-30k_cityscapes-769x769',
    'deeplabv3_r101-d8-mg124_4xb4-25k_pascal-context-59-480x480',
    'pspnet_hr48_4xb4-25k_pascal-context-480x480',
]


def build_bn(path, size=32):
    cfg = load(path).copy()
    cfg.model.pretrained = None
    to_bn(cfg.model)
    cfg.model.data_preprocessor.size = (size, size)
    cfg.model.test_cfg = dict(mode='whole')
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('stem', BUILT)
def test_build_with_bn_loss_and_predict(stem):
    path = [p for p in CONFIGS if name(p) == stem][0]
    model = build_bn(path)
    k = CLASSES[dataset_of(path)]
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32)
    samples = [
        SegDataSample(
            metainfo=dict(
                img_shape=(32, 32), ori_shape=(32, 32), pad_shape=(32, 32)),
            gt_sem_seg=PixelData(data=torch.randint(0, k, (1, 32, 32))))
        for _ in range(2)
    ]
    model.train()
    losses = model.loss(x, samples)
    assert torch.isfinite(losses['decode.loss_ce'])
    assert ('aux.loss_ce' in losses) == ('hr48' not in stem)
    model.eval()
    with torch.no_grad():
        out = model.predict(x, samples)
    assert out[0].seg_logits.data.shape == (k, 32, 32)
    if 'r101' in stem:
        # SemSegPaddle resnet.py: every layer3 block dilation 2, layer4
        # blocks 4 * (1, 2, 4), stride 8 overall
        assert [b.conv2.dilation[0] for b in model.backbone.layer3] == \
            [2] * 23
        assert [b.conv2.dilation[0] for b in model.backbone.layer4] == \
            [4, 8, 16]
        feats = model.extract_feat(x)
        assert [f.shape[1:] for f in feats] == [(256, 8, 8), (512, 4, 4),
                                                (1024, 4, 4), (2048, 4, 4)]


def test_efficientnet_backbone_channels_from_timm():
    try:
        import timm  # noqa: F401
    except (ImportError, RuntimeError) as e:  # absent, or torchvision
        # not matching torch (PyPI's torchvision is a CUDA build whose _C.so
        # needs libtorch_cuda: it fails beside torch 2.13.0+cpu)
        pytest.skip(f'timm is not importable ({type(e).__name__}: '
                    f'{str(e)[:80]}); tools/check_stack.sh cuda-torch runs '
                    'this test')
    for path in [p for p in CONFIGS if 'effb4' in p]:
        cfg = load(path).copy()
        bb = cfg.model.backbone
        bb.pretrained = False  # no download: only the shapes are checked
        backbone = MODELS.build(bb).eval()
        with torch.no_grad():
            feats = backbone(torch.randn(1, 3, 64, 64))
        assert tuple(f.shape[1] for f in feats) == TIMM_CHANNELS[bb.model_name]
        assert [f.shape[-1] for f in feats] == [16, 8, 8, 8]  # stride 4, 8
