"""PFNeck / PFHead behaviour: outputs, edge supervision, gradients, errors."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.engine.hooks.label_check_hook import check_batch_labels
from mmseg_ext.models.decode_heads import PFHead
from mmseg_ext.models.necks import PFNeck, PointFlowModule

WIDTHS = (16, 32, 48, 64)


def _inputs(size=(64, 96)):
    torch.manual_seed(0)
    h, w = size
    return [
        torch.randn(2, c, h // s, w // s)
        for c, s in zip(WIDTHS, (4, 8, 16, 32))
    ]


def _samples(size=(64, 96), edge=True, label_value=None):
    torch.manual_seed(1)
    samples = []
    for i in range(2):
        label = torch.randint(0, 5, (1, *size))
        if label_value is not None:
            label[0, 0, 0] = label_value
        ds = SegDataSample(
            metainfo=dict(
                seg_map_path=f'lbl_{i}.png', img_shape=size, pad_shape=size))
        ds.gt_sem_seg = PixelData(data=label)
        if edge:
            target = (torch.rand(1, *size) > 0.9).long()
            target[0, :2] = 255  # padding, ignored
            ds.gt_edge_map = PixelData(data=target)
        samples.append(ds)
    return samples


def _model():
    neck = PFNeck(
        list(WIDTHS),
        32,
        match_dim=8,
        edge_points=16,
        maxpool_size=4,
        avgpool_size=3)
    head = PFHead(
        [32] * 4,
        32,
        num_classes=5,
        norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss'))
    return neck, head


def test_neck_outputs_fused_levels_then_edge_logits():
    neck, _ = _model()
    outs = neck.eval()(_inputs())
    assert [tuple(o.shape) for o in outs] == [(2, 32, 16, 24), (2, 32, 8, 12),
                                              (2, 32, 4, 6), (2, 32, 2, 3),
                                              (2, 1, 8, 12), (2, 1, 4, 6),
                                              (2, 1, 2, 3)]
    assert neck.point_flows[0].down_h.bias is not None  # official: with bias
    assert neck.point_flows[0].edge_final[1].bias is None
    with pytest.raises(ValueError, match='PFNeck expects 4 levels'):
        neck(_inputs()[:3])


def test_point_flow_output_equals_fine_away_from_points():
    pfm = PointFlowModule(
        8, match_dim=4, maxpool_size=2, avgpool_size=2, edge_points=3).eval()
    coarse, fine = torch.randn(1, 8, 6, 6), torch.randn(1, 8, 12, 12)
    out, edge = pfm(coarse, fine)
    changed = (out != fine).any(1).flatten()
    # at most 3 edge + 2x2 salient points replaced, all at even (top-left)
    # pixels
    assert 0 < changed.sum() <= 3 + 4
    rows, cols = changed.nonzero()[:, 0] // 12, changed.nonzero()[:, 0] % 12
    assert (rows % 2 == 0).all() and (cols % 2 == 0).all()
    assert edge.shape == (1, 1, 6, 6)


def test_head_losses_edges_and_gradients_reach_point_flow():
    neck, head = _model()
    feats = neck.train()(_inputs())
    losses = head.train().loss(feats, _samples(), train_cfg={})
    assert set(losses) == {
        'loss_ce', 'acc_seg', 'loss_edge_l0', 'loss_edge_l1', 'loss_edge_l2'
    }
    for k in ('loss_edge_l0', 'loss_edge_l1', 'loss_edge_l2'):
        assert torch.isfinite(losses[k]) and losses[k] > 0
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    for pfm in neck.point_flows:
        assert pfm.edge_final[1].weight.grad.abs().sum() > 0
        assert pfm.down_h.weight.grad.abs().sum() > 0
        assert pfm.point_matcher.match_conv.weight.grad.abs().sum() > 0


def test_edge_loss_weight_is_applied():
    neck, head = _model()
    feats = [f.detach() for f in neck.eval()(_inputs())]
    base = head.loss_by_edges(feats[4:], _samples())
    head.loss_edge.loss_weight = 50.0
    doubled = head.loss_by_edges(feats[4:], _samples())
    for k in base:
        torch.testing.assert_close(doubled[k], 2 * base[k])
    assert PFHead([32] * 4, 32, num_classes=5).loss_edge.loss_weight == 25.0


def test_head_without_boundary_targets_names_the_fix():
    neck, head = _model()
    feats = neck.eval()(_inputs())
    with pytest.raises(ValueError, match="GenerateBoundary.*lbl_0.png"):
        head.loss(feats, _samples(edge=False), train_cfg={})


def test_labels_outside_the_head_classes_are_refused_before_the_loss():
    """LabelCheckHook's check (the head does not check again), with the
    head's 5 classes: the error names the file and the value."""
    _, head = _model()
    model = SimpleNamespace(decode_head=head)
    with pytest.raises(ValueError, match=r'lbl_0.png: values \[7\]'):
        check_batch_labels(model, _samples(label_value=7))
