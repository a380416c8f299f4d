"""Unit tests of the ISDNet modules: shallow net, RAF, SR decoder, losses."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.models.backbones import STDCNet
from mmseg.structures import SegDataSample

from mmseg_ext.engine.hooks.label_check_hook import check_batch_labels
from mmseg_ext.models.backbones.stdc_shallow_net import (STDCShallowNet,
                                                         checkpoint_filter_fn)
from mmseg_ext.models.ckpt_convert.stdc import (expand_first_conv,
                                                stdc_official_to_stages)
from mmseg_ext.models.decode_heads.isd_head import ISDHead
from mmseg_ext.models.losses.isdnet_losses import (feature_affinity_loss,
                                                   image_recon_loss,
                                                   spatial_affinity)
from mmseg_ext.models.utils.relation_aware_fusion import (
    RelationAwareFusion, grouped_channel_affinity)
from mmseg_ext.models.utils.sr_decoder import SRDecoder

BN = dict(type='BN', requires_grad=True)

pytestmark = pytest.mark.usefixtures('one_thread')


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------- shallow net ----
def test_shallow_net_shapes_and_mmseg_stdc_layout():
    net = STDCShallowNet(6, norm_cfg=BN).eval()
    with torch.no_grad():
        f8, f16 = net(_randn(2, 6, 50, 70))
    # every stride-2 3x3 conv (padding 1) gives ceil(H / 2)
    assert f8.shape == (2, 256, 7, 9) and f16.shape == (2, 512, 4, 5)
    # same keys and shapes as the first four stages of mmseg's STDCNet1, so
    # mmseg's STDC1 ImageNet checkpoint loads without renaming
    ref = STDCNet('STDCNet1', 6, (32, 64, 256, 512, 1024), 'cat', BN,
                  dict(type='ReLU')).state_dict()
    ref = {k: v.shape for k, v in ref.items() if not k.startswith('stages.4.')}
    assert {k: v.shape for k, v in net.state_dict().items()} == ref


def test_stdc_official_keys_to_stages():
    sd = {
        'features.0.conv.weight': 0,
        'features.3.conv_list.2.bn.running_var': 1,
        'features.4.avd_layer.0.weight': 2,
        'features.4.avd_layer.1.bias': 3,
        'features.7.conv_list.0.conv.weight': 4,
        'fc.weight': 5,
        'stages.1.conv.weight': 6,
    }
    assert list(stdc_official_to_stages(sd).items()) == [
        ('stages.0.conv.weight', 0),
        ('stages.2.1.layers.2.bn.running_var', 1),
        ('stages.3.0.downsample.conv.weight', 2),
        ('stages.3.0.downsample.bn.bias', 3),
        ('stages.4.1.layers.0.conv.weight', 4),
        ('fc.weight', 5),
        ('stages.1.conv.weight', 6),
    ]


def test_expand_first_conv_duplicates_and_validates():
    w = _randn(32, 3, 3, 3)
    out = expand_first_conv({'stages.0.conv.weight': w}, 6)
    assert torch.equal(out['stages.0.conv.weight'], torch.cat([w, w], 1))
    assert expand_first_conv({'stages.0.conv.weight': w},
                             3)['stages.0.conv.weight'] is w
    with pytest.raises(ValueError, match='cannot tile'):
        expand_first_conv({'stages.0.conv.weight': w}, 4)
    with pytest.raises(KeyError, match='stages.0.conv.weight'):
        expand_first_conv({'stages.1.conv.weight': w}, 6)


def test_shallow_net_pretrained_needs_a_tileable_stem(tmp_path):
    ckpt = tmp_path / 'bad.pth'
    torch.save({'state_dict': {
        'stages.0.conv.weight': _randn(32, 4, 3, 3)
    }}, ckpt)
    net = STDCShallowNet(
        6, norm_cfg=BN, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    with pytest.raises(ValueError, match='4 input channels over 6'):
        net.init_weights()


def test_filter_reads_mmseg_stdc1_with_its_aliases(tmp_path):
    """mmseg's ``stdc2mmseg.py`` keeps the third stage and the ``x*``
    aliases whose keys hold ``conv_list``/``avd_layer`` (renamed): the one
    filter drops both (no unknown key), for the converter and for
    ``init_weights`` alike."""
    mmseg = STDCNet('STDCNet1', 3, (32, 64, 256, 512, 1024), 'cat', BN,
                    dict(type='ReLU')).state_dict()
    sd = {
        k: _randn(*v.shape, seed=i)
        for i, (k, v) in enumerate(mmseg.items()) if v.is_floating_point()
    }
    aliases = {
        'x8.0.2.layers.0.conv.weight': 'stages.2.0.layers.0.conv.weight',
        'x16.0.4.downsample.bn.bias': 'stages.3.0.downsample.bn.bias',
        'x32.0.6.layers.1.bn.weight': 'stages.4.0.layers.1.bn.weight',
    }
    sd.update({alias: sd[key] for alias, key in aliases.items()})
    converted, unknown, dropped = checkpoint_filter_fn({'state_dict': sd})
    net = STDCShallowNet(6, norm_cfg=BN)
    own = {k for k, v in net.state_dict().items() if v.is_floating_point()}
    assert unknown == [] and set(converted) == own
    assert set(dropped) == set(aliases) | {
        k
        for k in sd if k.startswith('stages.4.')
    }
    stem = sd['stages.0.conv.weight']
    assert torch.equal(converted['stages.0.conv.weight'],
                       torch.cat([stem, stem], 1))
    ckpt = tmp_path / 'stdc1_mmseg.pth'
    torch.save(sd, ckpt)
    net = STDCShallowNet(
        6, norm_cfg=BN, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt)))
    net.init_weights()
    for k, v in net.state_dict().items():
        if v.is_floating_point():
            assert torch.equal(v, converted[k]), k
    sd['x4.0.1.bn.weight'] = sd['stages.1.bn.weight'] + 1
    with pytest.raises(ValueError, match='x4.0.1.bn.weight should alias'):
        checkpoint_filter_fn(sd)


def test_shallow_net_default_init_is_kaiming_fan_out():
    net = STDCShallowNet(6, norm_cfg=BN)
    net.init_weights()
    w = net.stages[3][0].layers[1].conv.weight  # 256 -> 128, 3x3
    fan_out = w.shape[0] * 9
    assert abs(w.std().item() - (2 / fan_out)**0.5) < 0.1 * (2 / fan_out)**0.5
    assert torch.equal(net.stages[2][1].layers[3].bn.weight, torch.ones(32))


# ---------------------------------------------------------------- RAF ----
def test_grouped_affinity_is_blockwise_inner_product():
    a, b = _randn(2, 128, 1, 1, seed=1), _randn(2, 128, 1, 1, seed=2)
    aff = grouped_channel_affinity(a, b, 16)
    ref = torch.einsum('nik,njk->nij', a.view(2, 16, 8), b.view(2, 16, 8))
    assert aff.shape == (2, 256)
    torch.testing.assert_close(aff, ref.reshape(2, 256))
    with pytest.raises(ValueError, match='16 groups do not divide 120'):
        grouped_channel_affinity(
            _randn(1, 120, 1, 1), _randn(1, 120, 1, 1), 16)
    with pytest.raises(ValueError, match='groups do not divide'):
        RelationAwareFusion(120, 240, 16)


def test_raf_gates_start_at_zero_and_switch_on_the_relational_term():
    raf = RelationAwareFusion(128, 256, norm_cfg=BN).eval()
    assert raf.spatial_gate.item() == 0 and raf.context_gate.item() == 0
    sp, co = _randn(2, 256, 6, 8, seed=3), _randn(2, 128, 3, 4, seed=4)
    with torch.no_grad():
        ref = raf(sp, co)
        for mlp in (raf.spatial_mlp, raf.context_mlp):
            mlp[2].bias.add_(5.0)  # big relational term, still gated off
        same = raf(sp, co)
        raf.spatial_gate.fill_(1.0)
        changed = raf(sp, co)
    assert [t.shape for t in ref] == [(2, 128, 6, 8)] * 3
    for r, s in zip(ref, same):
        torch.testing.assert_close(r, s, rtol=0, atol=0)
    assert (changed[0] - ref[0]).abs().max() > 1e-3
    torch.testing.assert_close(changed[1], ref[1], rtol=0, atol=0)


def test_raf_gradients_at_init_reach_the_gates_not_the_mlps():
    raf = RelationAwareFusion(128, 256, norm_cfg=BN)
    s, c, out = raf(_randn(2, 256, 6, 8, seed=5), _randn(2, 128, 3, 4, seed=6))
    (out.square().mean() + c.mean()).backward()
    assert raf.spatial_gate.grad.abs().item() > 0
    assert raf.context_gate.grad.abs().item() > 0
    # g * MLP(r) with g = 0: the MLPs only learn once the gates move
    assert raf.spatial_mlp[0].weight.grad.abs().max().item() == 0
    assert raf.spatial_att.conv_bn_relu.conv.weight.grad.abs().max() > 0


# ------------------------------------------------- SR and the losses ----
def test_sr_decoder_upsamples_by_sixteen():
    sr = SRDecoder(128, norm_cfg=BN).eval()
    with torch.no_grad():
        feats, img = sr(_randn(1, 128, 3, 5))
    assert feats.shape == (1, 128, 48, 80) and img.shape == (1, 3, 48, 80)
    with pytest.raises(ValueError, match='3 scales'):
        SRDecoder(128, (4, 4))


def test_spatial_affinity_and_losses():
    f = _randn(2, 8, 3, 4)
    aff = spatial_affinity(f)
    assert aff.shape == (2, 12, 12)
    torch.testing.assert_close(aff, aff.transpose(1, 2))
    # identical features: zero affinity loss; the SR side is detached
    deep = f.clone().requires_grad_()
    sr = torch.nn.functional.interpolate(
        f, scale_factor=4, mode='bilinear').requires_grad_()
    loss = feature_affinity_loss(deep, sr, 1.0)
    loss.backward()
    assert sr.grad is None and deep.grad is not None
    assert feature_affinity_loss(f, f, 1.0).item() == 0
    pred, target = _randn(1, 3, 8, 8), _randn(1, 3, 16, 16, seed=1)
    up = torch.nn.functional.interpolate(
        pred, size=(16, 16), mode='bilinear', align_corners=False)
    torch.testing.assert_close(
        image_recon_loss(pred, target, 0.1),
        0.1 * torch.nn.functional.mse_loss(up, target))


# ----------------------------------------------------------- ISDHead ----
def _head(**kwargs):
    return ISDHead(
        num_classes=5,
        norm_cfg=BN,
        shallow_net=dict(type='STDCShallowNet', norm_cfg=BN),
        **kwargs)


def test_isd_head_rejects_a_shallow_net_of_the_wrong_width():
    with pytest.raises(ValueError, match='must be 6'):
        ISDHead(
            num_classes=5,
            norm_cfg=BN,
            shallow_net=dict(type='STDCShallowNet', in_channels=3))


def test_isd_head_official_init_of_the_classifier():
    """mmseg's Normal(std=0.01) override on conv_seg covers the whole
    SegmentationHead, BN weight included (as in the official code)."""
    head = _head()
    head.init_weights()
    bn_w = head.conv_seg.conv_bn_relu.bn.weight
    assert 0.002 < bn_w.std().item() < 0.03 and bn_w.abs().max() < 0.1
    assert torch.equal(head.aux_head_8.conv_bn_relu.bn.weight, torch.ones(64))


def test_isd_head_bad_label_file_is_named_before_the_loss():
    """LabelCheckHook's check with the head's classes (the head does not
    check again)."""
    head = _head()
    sample = SegDataSample(metainfo=dict(seg_map_path='bad_labelIds.png'))
    sample.gt_sem_seg = PixelData(data=torch.full((1, 64, 64), 7))
    with pytest.raises(ValueError, match=r'bad_labelIds.png: values \[7\]'):
        check_batch_labels(SimpleNamespace(decode_head=head), [sample])
