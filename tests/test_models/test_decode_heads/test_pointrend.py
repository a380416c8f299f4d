"""PointRend through mmseg's own PointHead / CascadeEncoderDecoder.

Nothing here is reimplemented: the tests pin what ``mmcv.ops.point_sample``
(from our compiled mmcv, on CPU) and mmseg 1.2.2's ``PointHead`` do, and that
our configs build them with the published inference budget.

Inference subdivision (detectron2 ``projects/PointRend/point_rend/
semantic_seg.py`` and mmseg ``decode_heads/point_head.py`` agree): each step
upsamples the current logits x2 (bilinear, ``align_corners=False``), takes
the ``min(N, H*W)`` cells with the highest uncertainty ``top2[1] - top2[0]``,
samples fine (P2) and *original* coarse features at the cell centres
``((j + 0.5) / W, (i + 0.5) / H)`` and scatters the point head's logits into
those cells.
"""
import os.path as osp

import mmcv.ops
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.models.decode_heads import point_head as mmseg_point_head
from mmseg.models.decode_heads.point_head import calculate_uncertainty
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

R50 = osp.join(REPO, 'configs', 'pointrend',
               'pointrend_r50_4xb4-80k_cityscapes-512x1024.py')


@pytest.fixture(scope='module')
def r50_cfg():
    return Config.fromfile(R50)


def make_point_head(num_classes=3, in_channels=4, channels=8):
    return MODELS.build(
        dict(
            type='PointHead',
            in_channels=[in_channels],
            in_index=[0],
            channels=channels,
            num_fcs=3,
            coarse_pred_each_layer=True,
            dropout_ratio=-1,
            num_classes=num_classes,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)))


# ---------------------------------------------------------------- point_sample
def test_point_sample_comes_from_compiled_mmcv():
    assert mmcv.ops.point_sample.__module__ == 'mmcv.ops.point_sample'
    # mmseg falls back to None (and PointHead raises) without mmcv's ops
    assert mmseg_point_head.point_sample is mmcv.ops.point_sample


def test_point_sample_equals_grid_sample_of_2p_minus_1():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 7, 9)
    p = torch.rand(2, 11, 2)  # (N, P, 2), [0, 1] x [0, 1], (x, y) order
    out = mmcv.ops.point_sample(x, p, align_corners=False)
    ref = F.grid_sample(
        x, 2 * p.unsqueeze(2) - 1, mode='bilinear',
        align_corners=False).squeeze(3)
    assert out.shape == (2, 5, 11)
    torch.testing.assert_close(out, ref, rtol=0, atol=0)


def test_point_sample_at_cell_centres_returns_cells():
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).view(1, 2, 3, 4)
    ij = [(0, 0), (1, 2), (2, 3)]  # (row, col)
    p = torch.tensor([[((j + 0.5) / 4, (i + 0.5) / 3) for i, j in ij]])
    out = mmcv.ops.point_sample(x, p, align_corners=False)
    expect = torch.stack([x[0, :, i, j] for i, j in ij], dim=1)
    torch.testing.assert_close(out[0], expect)
    # labels are sampled the same way, nearest (PointHead.loss_by_feat)
    labels = torch.tensor([[[0., 1., 2., 3.], [4., 5., 6., 7.],
                            [8., 9., 10., 11.]]]).unsqueeze(0)
    near = mmcv.ops.point_sample(
        labels, p + 0.05, mode='nearest', align_corners=False)
    assert near.flatten().tolist() == [0., 6., 11.]


# ------------------------------------------------------ inference subdivision
def test_uncertain_cells_hand_checked():
    """2 classes, coarse logit difference d = [[3, -1], [1, 2]], budget 3.

    x2 bilinear (align_corners=False) samples rows/cols at -0.25 (clamped to
    0), 0.25, 0.75, 1.25 (clamped to 1): row 0 of d becomes [3, 2, 0, -1],
    row 1 = 0.75 * row 0 + 0.25 * [1, 1.25, 1.75, 2] =
    [2.5, 1.8125, 0.4375, -0.25]. The smallest |d| are 0 (cell 2),
    0.25 (cell 7), 0.4375 (cell 6).
    """
    d = torch.tensor([[3., -1.], [1., 2.]])
    coarse = torch.stack([d, torch.zeros(2, 2)])[None]
    up = F.interpolate(
        coarse, scale_factor=2, mode='bilinear', align_corners=False)
    torch.testing.assert_close(up[0, 0, 1],
                               torch.tensor([2.5, 1.8125, 0.4375, -0.25]))
    head = make_point_head(num_classes=2)
    idx, coords = head.get_points_test(
        up, calculate_uncertainty, cfg=Config(dict(subdivision_num_points=3)))
    assert idx.tolist() == [[2, 7, 6]]
    # cell centres (x, y) = ((col + 0.5) / 4, (row + 0.5) / 4)
    torch.testing.assert_close(
        coords, torch.tensor([[[0.625, 0.125], [0.875, 0.375], [0.625,
                                                                0.375]]]))


@pytest.mark.parametrize('budget,expected', [(5, 5), (8192, 16)])
def test_point_budget_is_capped_by_cells(budget, expected):
    head = make_point_head()
    idx, coords = head.get_points_test(
        torch.randn(2, 3, 4, 4),
        calculate_uncertainty,
        cfg=Config(dict(subdivision_num_points=budget)))
    assert idx.shape == (2, expected) and coords.shape == (2, expected, 2)
    assert all(len(set(row)) == expected for row in idx.tolist())


class _Sentinel:
    """Stand-in for PointHead.forward: logits no interpolation produces."""

    def __init__(self, num_classes):
        self.calls = 0
        self.num_classes = num_classes

    def __call__(self, fine, coarse):
        self.calls += 1
        out = torch.full((fine.shape[0], self.num_classes, fine.shape[2]),
                         -1000.0 * self.calls)
        out[:, 0] = 1000.0 * self.calls
        return out


def _predict(head, coarse, feats, steps, budget):
    test_cfg = Config(
        dict(
            subdivision_steps=steps,
            scale_factor=2,
            subdivision_num_points=budget))
    h, w = coarse.shape[2] * 2**steps, coarse.shape[3] * 2**steps
    meta = [dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w))]
    return head.predict([feats], coarse, meta, test_cfg)


def test_each_step_replaces_exactly_the_top_uncertain_cells():
    """Config budget (8192) on a 64x96 coarse map: 128x192 = 24576 cells."""
    torch.manual_seed(0)
    k = 3
    coarse = torch.randn(1, k, 64, 96)
    head = make_point_head(num_classes=k).eval()
    head.forward = _Sentinel(k)
    out = _predict(head, coarse, torch.randn(1, 4, 64, 96), 1, 8192)
    replaced = (out[0, 0] == 1000.0)
    assert out.shape == (1, k, 128, 192)
    assert int(replaced.sum()) == 8192
    up = F.interpolate(
        coarse, scale_factor=2, mode='bilinear', align_corners=False)
    top = calculate_uncertainty(up).flatten().topk(8192).indices
    expect = torch.zeros(128 * 192, dtype=torch.bool)
    expect[top] = True
    assert torch.equal(replaced.flatten(), expect)
    # the other cells keep the bilinear upsampling
    torch.testing.assert_close(out[0][:, ~replaced], up[0][:, ~replaced])


def test_two_steps_reach_4x_with_budget_per_step():
    torch.manual_seed(1)
    k = 3
    head = make_point_head(num_classes=k).eval()
    head.forward = _Sentinel(k)
    out = _predict(head, torch.randn(1, k, 64, 96), torch.randn(1, 4, 64, 96),
                   2, 8192)
    assert head.forward.calls == 2
    assert out.shape == (1, k, 256, 384)  # the 1/4 logits at full size
    assert int((out[0, 0] == 2000.0).sum()) == 8192  # step 2's points
    # small map: every cell is refined at both steps (min(8192, H*W))
    head.forward = _Sentinel(k)
    out = _predict(head, torch.randn(1, k, 4, 6), torch.randn(1, 4, 4, 6), 2,
                   8192)
    assert out.shape == (1, k, 16, 24)
    assert bool((out[0, 0] == 2000.0).all())


def test_point_head_samples_original_coarse_logits():
    """Coarse point features come from the coarse map at every step."""
    torch.manual_seed(2)
    k = 3
    head = make_point_head(num_classes=k).eval()
    coarse = torch.randn(1, k, 4, 6)
    seen = []

    def spy(fine, coarse_feats):
        seen.append(coarse_feats.clone())
        return torch.zeros(1, k, fine.shape[2])

    head.forward = spy
    idx_steps = []
    orig = head.get_points_test

    def record(seg_logits, fn, cfg):
        idx, pts = orig(seg_logits, fn, cfg)
        idx_steps.append(pts)
        return idx, pts

    head.get_points_test = record
    _predict(head, coarse, torch.randn(1, 4, 4, 6), 2, 8192)
    for pts, feats in zip(idx_steps, seen):
        torch.testing.assert_close(
            feats, mmcv.ops.point_sample(coarse, pts, align_corners=False))


# ------------------------------------------------- model from our R50 config
def test_config_keeps_published_inference_budget(r50_cfg):
    assert r50_cfg.model.type == 'CascadeEncoderDecoder'
    assert [h.type
            for h in r50_cfg.model.decode_head] == ['FPNHead', 'PointHead']
    assert r50_cfg.model.test_cfg.subdivision_num_points == 8192
    assert r50_cfg.model.test_cfg.subdivision_steps == 2
    assert r50_cfg.model.train_cfg.num_points == 2048
    assert r50_cfg.model.backbone.norm_cfg.type == 'SyncBN'


def test_cascade_model_from_config_loss_and_predict(r50_cfg):
    cfg = r50_cfg.copy()
    cfg.model.pretrained = None
    cfg.model.backbone.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.decode_head[0].norm_cfg = dict(type='BN', requires_grad=True)
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    h, w = 64, 128
    x = torch.randn(2, 3, h, w)
    samples = []
    for _ in range(2):
        s = SegDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, h, w)))
        samples.append(s)
    model.train()
    losses = model.loss(x, samples)
    for key in ('decode_0.loss_ce', 'decode_1.pointloss_ce'):
        assert torch.isfinite(losses[key]) and losses[key] > 0
    sum(losses[k] for k in losses if 'loss' in k).backward()
    grad = model.decode_head[1].fc_seg.weight.grad
    assert grad is not None and grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        out = model.predict(x, samples)
    assert out[0].seg_logits.data.shape == (19, h, w)
    assert out[0].pred_sem_seg.data.shape == (1, h, w)
