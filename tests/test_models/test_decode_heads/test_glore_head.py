"""GloRe unit and head: golden parity with the official unit, init, configs.

``tests/data/glore_golden.pth`` holds outputs of the official
``GloRe_Unit_2D`` (facebookresearch/GloRe ``network/global_reasoning_unit.py``,
commit 9c6a734, CPU float32, one torch thread), every parameter drawn from
N(0, 0.1^2) and the blocker BN's running statistics randomised:

* ``unit``: ``GloRe_Unit_2D(32, 8)`` on (2, 32, 13, 17), outputs in eval
  mode and in train mode (batch statistics) plus the state after the train
  step (running-stat update);
* ``unit_normalize``: ``GloRe_Unit_2D(32, 8, normalize=True)``;
* ``unit_wide``: ``GloRe_Unit_2D(64, 16)`` on (1, 64, 9, 11).

:mod:`tools.fidelity.golden.glore` rebuilds it (tensor-equal) from a
checkout of the official repository::

    PYTHONPATH=/path/to/GloRe python -m tools.misc.make_golden glore \\
        --out tests/data/glore_golden.pth

The parity tests run with one thread, as the fixture was made: measured max
abs diff 0.0 in eval mode (all three units) and in train mode.
"""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from conftest import REPO
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.engine.hooks.label_check_hook import check_batch_labels
from mmseg_ext.models.decode_heads.glore_head import (GloReGCN, GloReHead,
                                                      GloReUnit)

GOLDEN = osp.join(REPO, 'tests', 'data', 'glore_golden.pth')
CFG = osp.join(REPO, 'configs', 'glore')
R50_CS = osp.join(CFG, 'glore_r50-d8_4xb2-80k_cityscapes-512x1024.py')
R101_CS = osp.join(CFG, 'glore_r101-d8_4xb2-30k_cityscapes-769x769.py')
R101_PC59 = osp.join(CFG,
                     'glore_r101-d8_4xb4-25k_pascal-context-59-480x480.py')
R101_PC60 = osp.join(CFG, 'glore_r101-d8_4xb4-25k_pascal-context-480x480.py')
TOL = 1e-5


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, map_location='cpu', weights_only=True)


def _unit(case):
    unit = GloReUnit(
        case['num_in'], case['num_mid'], normalize=case['normalize'])
    # the official key layout loads unchanged
    result = unit.load_state_dict(case['state_dict'], strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    return unit


@pytest.mark.usefixtures('one_thread')
@pytest.mark.parametrize('name', ['unit', 'unit_normalize', 'unit_wide'])
def test_unit_matches_official_in_eval(golden, name):
    case = golden[name]
    unit = _unit(case).eval()
    with torch.no_grad():
        out = unit(case['input'])
    ref = case['output_eval']
    diff = (out - ref).abs().max().item()
    print(f'{name}: max abs diff {diff:.3e} (|ref| max '
          f'{ref.abs().max().item():.3f})')
    assert out.shape == ref.shape
    assert diff <= TOL
    # the graph branch carries real signal in the fixture
    assert (ref - case['input']).abs().max() > 0.1


@pytest.mark.usefixtures('one_thread')
def test_unit_matches_official_in_train_mode(golden):
    case = golden['unit']
    unit = _unit(case).train()
    with torch.no_grad():
        out = unit(case['input'])
    assert (out - case['output_train']).abs().max().item() <= TOL
    state = unit.state_dict()
    for key, ref in case['state_dict_after_train'].items():
        if ref.dtype.is_floating_point:
            assert (state[key] - ref).abs().max().item() <= TOL, key
        else:
            assert torch.equal(state[key], ref), key


def test_gcn_relu_sits_between_the_two_convs():
    """Official: conv2(relu(conv1(x^T)^T + x)); PaddleSeg: relu(conv2(...))."""
    gcn = GloReGCN(num_state=6, num_node=4)
    with torch.no_grad():
        gcn.conv1.weight.zero_()
        gcn.conv1.bias.fill_(0.5)
        gcn.conv2.weight.copy_(-torch.eye(6).unsqueeze(-1))
    x = torch.randn(3, 6, 4)
    out = gcn(x)
    torch.testing.assert_close(out, -torch.relu(x + 0.5))
    assert (out <= 0).all() and (out < 0).any()
    assert gcn.conv1.bias is not None and gcn.conv2.bias is None


def test_normalize_divides_node_features_by_hw():
    torch.manual_seed(0)
    plain = GloReUnit(16, 4, normalize=False).eval()
    norm = GloReUnit(16, 4, normalize=True).eval()
    norm.load_state_dict(plain.state_dict())
    seen = {}
    plain.gcn.register_forward_hook(
        lambda m, i, o: seen.__setitem__('plain', i[0]))
    norm.gcn.register_forward_hook(
        lambda m, i, o: seen.__setitem__('norm', i[0]))
    x = torch.randn(2, 16, 5, 7)
    plain(x)
    norm(x)
    assert seen['plain'].shape == (2, 8, 4)  # (n, num_state=2*mid, nodes)
    torch.testing.assert_close(seen['norm'] * 35, seen['plain'])


def test_zero_initialised_blocker_makes_the_unit_an_identity_that_learns():
    unit = GloReUnit(
        16, 4, init_cfg=dict(type='Constant', val=1.0, layer='BatchNorm2d'))
    unit.init_weights()  # an init_cfg must not undo the official zero init
    assert unit.blocker.eps == pytest.approx(1e-4)
    assert torch.count_nonzero(unit.blocker.weight) == 0
    x = torch.randn(2, 16, 6, 6, requires_grad=True)
    out = unit(x)
    torch.testing.assert_close(out, x)
    out.pow(2).sum().backward()
    assert unit.blocker.weight.grad.abs().sum() > 0
    kept = GloReUnit(16, 4, zero_init_norm=False)
    assert torch.all(kept.blocker.weight == 1)


def _head(**kwargs):
    cfg = dict(
        in_channels=32,
        channels=16,
        num_classes=5,
        in_index=0,
        num_mid=4,
        norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return GloReHead(**cfg)


def test_head_shapes_for_both_reduction_kernels():
    x = [torch.randn(2, 32, 9, 11)]
    head = _head().eval()
    assert head(x).shape == (2, 5, 9, 11)
    assert head.reduce.conv.kernel_size == (1, 1)
    assert head.reduce.conv.bias is None  # conv-BN-ReLU without bias
    assert head.glore.num_state == 8 and head.glore.num_node == 4
    # element-wise dropout as fluid's, not mmseg's channel Dropout2d
    assert type(head.dropout) is nn.Dropout and head.dropout.p == 0.1
    assert _head(dropout_ratio=0).dropout is None
    # SemSegPaddle's unpadded 3x3 (Pascal Context) trims a pixel per side
    head3 = _head(kernel_size=3, padding=0).eval()
    assert head3(x).shape == (2, 5, 7, 9)
    assert _head(kernel_size=3, padding=1).eval()(x).shape == (2, 5, 9, 11)
    # without a norm for the convs the unit keeps its official BN
    bare = _head(norm_cfg=None).eval()
    assert isinstance(bare.glore.blocker, nn.BatchNorm2d)
    assert bare(x).shape == (2, 5, 9, 11)


def test_bad_label_file_is_named_before_the_loss():
    """LabelCheckHook's check with the head's classes (the head does not
    check again)."""
    head = _head()
    sample = SegDataSample()
    sample.gt_sem_seg = PixelData(data=torch.full((1, 16, 16), 7))
    sample.set_metainfo(
        dict(seg_map_path='bad_labelIds.png', img_shape=(16, 16)))
    with pytest.raises(ValueError, match=r'bad_labelIds.png: values \[7\]'):
        check_batch_labels(SimpleNamespace(decode_head=head), [sample])


def test_head_loss_gradients_reach_the_unit():
    head = _head()
    samples = []
    for _ in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 5, (1, 16, 16)))
        s.set_metainfo(dict(img_shape=(16, 16)))
        samples.append(s)
    losses = head.loss([torch.randn(2, 32, 4, 4)], samples, dict())
    assert set(losses) == {'loss_ce', 'acc_seg'}
    losses['loss_ce'].backward()
    assert head.glore.blocker.weight.grad.abs().sum() > 0


def test_configs_follow_the_published_recipes():
    r50 = Config.fromfile(R50_CS)
    head, aux = r50.model.decode_head, r50.model.auxiliary_head
    assert head.type == 'GloReHead' and head.num_mid == 64
    assert head.channels == 512 and head.kernel_size == 1
    assert aux.type == 'FCNHead' and aux.in_index == 2
    assert aux.channels == 256 and aux.loss_decode.loss_weight == 0.4
    assert r50.model.backbone.dilations == (1, 1, 2, 4)
    assert r50.model.backbone.strides == (1, 2, 1, 1)
    assert r50.model.backbone.contract_dilation is False  # as Paddle's
    assert r50.model.backbone.norm_cfg.type == 'SyncBN'
    assert r50.custom_imports.imports == ['mmseg_ext']

    r101 = Config.fromfile(R101_CS)
    assert r101.model.backbone.depth == 101
    # SemSegPaddle: layer3 dilated 2 in every block (no contraction),
    # layer4 multi-grid 4 x (1, 2, 4)
    r101.model.backbone.norm_cfg = dict(type='BN')
    backbone = MODELS.build(r101.model.backbone)
    assert {b.conv2.dilation for b in backbone.layer3} == {(2, 2)}
    assert [b.conv2.dilation for b in backbone.layer4] == [(4, 4), (8, 8),
                                                           (16, 16)]
    assert r101.crop_size == (769, 769)
    assert r101.model.test_cfg.mode == 'slide'
    assert r101.model.test_cfg.stride == (256, 256)  # int(769 / 3)
    assert r101.test_dataloader.dataset.pipeline[1].scale == (2048, 1024)
    assert r101.model.decode_head.align_corners is True
    assert r101.train_cfg.max_iters == r101.param_scheduler[0].end == 30000

    # the Checked* twins of mmseg's datasets (mmseg_ext/datasets/checked.py)
    for path, classes, dataset in ((R101_PC59, 59,
                                    'CheckedPascalContextDataset59'),
                                   (R101_PC60, 60,
                                    'CheckedPascalContextDataset')):
        pc = Config.fromfile(path)
        assert pc.model.decode_head.num_classes == classes
        assert pc.model.auxiliary_head.num_classes == classes
        assert pc.model.decode_head.kernel_size == 3
        assert pc.model.decode_head.padding == 0
        assert pc.train_dataloader.dataset.type == dataset
        assert pc.test_dataloader.dataset.type == dataset
        crop = [
            t for t in pc.train_dataloader.dataset.pipeline
            if t.type == 'RandomCrop'
        ][0]
        assert crop.crop_size == (480, 480)
        assert pc.optimizer.lr == 0.005
        assert pc.model.test_cfg.stride == (160, 160)  # int(480 / 3)


def test_r50_config_builds_and_runs():
    cfg = Config.fromfile(R50_CS)
    cfg.model.pretrained = None
    for key in ('backbone', 'decode_head', 'auxiliary_head'):
        cfg.model[key].norm_cfg = dict(type='BN', requires_grad=True)
    model = MODELS.build(cfg.model)
    # the configs follow SemSegPaddle's unit: last BN at gamma 1
    assert torch.all(model.decode_head.glore.blocker.weight == 1)
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 32, 32), mode='tensor')
    assert out.shape == (1, 19, 4, 4)
    assert isinstance(model.decode_head.glore.blocker, nn.BatchNorm2d)
