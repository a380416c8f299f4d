"""ISDNetEncoderDecoder: configs, losses, gradients, full-resolution predict
and a few optimisation steps on a real Cityscapes image."""
import copy
import functools
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmseg_ext.apis import build_model

CFG_DIR = osp.join(REPO, 'configs', 'isdnet')
DEEPGLOBE = osp.join(CFG_DIR, 'isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py')
INRIA = osp.join(CFG_DIR, 'isdnet_r18-d8_4xb1-40k_inria-2000x2000.py')
CITYSCAPES = osp.join(CFG_DIR, 'isdnet_r18-d8_4xb2-80k_cityscapes-512x1024.py')
DEEPLAB = osp.join(CFG_DIR, 'deeplabv3_r18-d8_4xb2-80k_deepglobe-1224x1224.py')

pytestmark = pytest.mark.usefixtures('one_thread')


@functools.lru_cache(maxsize=None)
def _cfg(path):
    return Config.fromfile(path)


def _build(path, crop_size=None):
    cfg = copy.deepcopy(_cfg(path))
    if crop_size:
        cfg.model.data_preprocessor.size = crop_size
    cfg.model.pretrained = None
    cfg.model.refine_head.shallow_net.init_cfg = None
    torch.manual_seed(0)
    model = build_model(cfg)
    model.init_weights()
    return model


def _samples(labels):
    out = []
    for label in labels:
        s = SegDataSample(
            metainfo=dict(
                img_shape=label.shape,
                ori_shape=label.shape,
                pad_shape=label.shape,
                seg_map_path='synthetic'))
        s.gt_sem_seg = PixelData(data=label[None])
        out.append(s)
    return out


# ------------------------------------------------------------ configs ----
@pytest.mark.parametrize(
    'path,dataset,classes,crop,batch,iters',
    [(DEEPGLOBE, 'DeepGlobeDataset', 7, (1224, 1224), 2, 80000),
     (INRIA, 'InriaAerialDataset', 2, (2000, 2000), 1, 40000),
     (CITYSCAPES, 'CheckedCityscapesDataset', 19, (512, 1024), 2, 80000)])
def test_published_settings(path, dataset, classes, crop, batch, iters):
    cfg = _cfg(path)
    assert cfg.custom_imports.imports == ['mmseg_ext']
    model = cfg.model
    assert model.type == 'ISDNetEncoderDecoder' and model.down_ratio == 4
    assert (model.backbone.type, model.backbone.depth) == ('ResNetV1c', 18)
    assert model.backbone.strides == (1, 2, 1, 1)
    assert model.backbone.dilations == (1, 1, 2, 4)
    assert model.decode_head.channels == 128
    assert model.decode_head.dilations == (1, 12, 24, 36)
    assert (model.refine_head.recon_loss_weight,
            model.refine_head.affinity_loss_weight) == (0.1, 1.0)
    assert model.auxiliary_head.loss_decode.loss_weight == 0.4
    assert model.auxiliary_head.in_index == 2
    assert {
        model[h].num_classes
        for h in ('decode_head', 'refine_head', 'auxiliary_head')
    } == {classes}
    assert {
        model.backbone.norm_cfg.type, model.decode_head.norm_cfg.type,
        model.refine_head.norm_cfg.type,
        model.refine_head.shallow_net.norm_cfg.type
    } == {'SyncBN'}
    assert model.refine_head.shallow_net.init_cfg.type == 'Pretrained'
    assert model.pretrained == 'open-mmlab://resnet18_v1c'
    assert model.data_preprocessor.size == crop
    assert model.test_cfg.mode == 'whole'
    # the official code's lr, not the paper's 0.001 (cedricgsh/ISDNet#18)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.01,
                                                                  0.9, 0.0005)
    (poly, ) = cfg.param_scheduler
    assert (poly.type, poly.power, poly.eta_min, poly.end) == ('PolyLR', 0.9,
                                                               1e-4, iters)
    assert cfg.train_cfg.max_iters == iters
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.train_dataloader.dataset.type == dataset


def test_deeplab_baseline_is_the_deep_branch_on_the_full_image():
    cfg = _cfg(DEEPLAB)
    assert cfg.model.type == 'EncoderDecoder'
    assert cfg.model.backbone.depth == 18
    assert cfg.model.decode_head.type == 'ASPPHead'
    assert cfg.model.decode_head.channels == 128
    assert cfg.model.decode_head.num_classes == 7
    assert cfg.train_dataloader.dataset.type == 'DeepGlobeDataset'


# ---------------------------------------------------- loss / backward ----
def test_loss_keys_and_gradients_reach_both_branches():
    model = _build(DEEPGLOBE)
    model.train()
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(
        0, 7, (2, 64, 96), generator=torch.Generator().manual_seed(1))
    labels[0, :8] = 255  # ignored
    losses = model.loss(x, _samples(labels))
    assert set(losses) == {
        'decode.loss_ce', 'decode.acc_seg', 'refine.loss_ce', 'refine.acc_seg',
        'refine.aux8.loss_ce', 'refine.aux8.acc_seg', 'refine.aux16.loss_ce',
        'refine.aux16.acc_seg', 'refine.loss_recon', 'refine.loss_affinity',
        'aux.loss_ce', 'aux.acc_seg'
    }
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    total.backward()
    grads = {
        name: p.grad.abs().sum().item()
        for name, p in model.named_parameters() if p.grad is not None
    }
    for name in ('backbone.stem.0.weight',
                 'decode_head.aspp_modules.1.conv.weight',
                 'decode_head.conv_seg.weight',
                 'refine_head.shallow_net.stages.0.conv.weight',
                 'refine_head.fuse16.spatial_gate',
                 'refine_head.fuse8.context_att.conv_1x1.conv.weight',
                 'refine_head.sr_decoder.convs.0.conv.weight',
                 'refine_head.sr_decoder.conv_sr.conv_out.weight',
                 'refine_head.aux_head_8.conv_out.weight',
                 'refine_head.aux_head_16.conv_out.weight',
                 'auxiliary_head.conv_seg.weight'):
        assert grads.get(name, 0) > 0, name
    # the deep branch also learns from the refine losses alone (through
    # the context feature); the residual BN gammas start at zero in mmseg's
    # ResNet, so their gradient is the one that shows
    model.zero_grad()
    context = model.decode_head(model.extract_feat(x))[1]
    model.refine_head.loss((x, context), _samples(labels),
                           {})['loss_ce'].backward()
    assert model.decode_head.bottleneck.conv.weight.grad.abs().sum() > 0
    assert model.decode_head.conv_seg.weight.grad is None
    assert model.backbone.layer4[1].bn2.weight.grad.abs().sum() > 0


def test_deep_branch_sees_the_nearest_downsampled_image():
    model = _build(DEEPGLOBE).eval()
    seen = []
    model.backbone.register_forward_pre_hook(
        lambda m, args: seen.append(args[0]))
    x = torch.randn(1, 3, 70, 90)
    with torch.no_grad():
        out = model(x, mode='tensor')
    assert seen[0].shape == (1, 3, 17, 22)  # H // 4, W // 4
    torch.testing.assert_close(
        seen[0],
        torch.nn.functional.interpolate(x, size=(17, 22)),
        rtol=0,
        atol=0)
    assert out.shape == (1, 7, 9, 12)  # shallow branch at 1/8 of 70x90


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_predict_at_full_resolution(mode):
    model = _build(INRIA).eval()
    if mode == 'slide':  # encode_decode also serves mmseg's slide inference
        model.test_cfg = Config(
            dict(mode='slide', crop_size=(64, 96), stride=(48, 64)))
    h, w = 100, 150  # not a multiple of 32
    samples = _samples([torch.zeros(h, w, dtype=torch.long)] * 2)
    with torch.no_grad():
        results = model.predict(torch.randn(2, 3, h, w), samples)
    for r in results:
        assert r.seg_logits.data.shape == (2, h, w)
        assert r.pred_sem_seg.data.shape == (1, h, w)
        assert set(r.pred_sem_seg.data.unique().tolist()) <= {0, 1}


def test_down_ratio_validated():
    cfg = copy.deepcopy(_cfg(DEEPGLOBE))
    cfg.model.down_ratio = 0
    with pytest.raises(ValueError, match='down_ratio'):
        MODELS.build(cfg.model)


# ---------------------------------------------------------- real data ----
def test_loss_falls_on_a_real_cityscapes_image(cityscapes_root):
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations, PackSegInputs
    stem = osp.join('val', 'frankfurt', 'frankfurt_000000_000294')
    info = dict(
        img_path=osp.join(cityscapes_root, 'leftImg8bit',
                          stem + '_leftImg8bit.png'),
        seg_map_path=osp.join(cityscapes_root, 'gtFine',
                              stem + '_gtFine_labelTrainIds.png'),
        reduce_zero_label=False,
        seg_fields=[])
    packed = PackSegInputs()(LoadAnnotations()(LoadImageFromFile()(info)))
    flipped = copy.deepcopy(packed)  # batch of 2: pooled BN needs it
    flipped['inputs'] = flipped['inputs'].flip(-1)
    flipped['data_samples'].gt_sem_seg.data = \
        flipped['data_samples'].gt_sem_seg.data.flip(-1)
    model = _build(CITYSCAPES, crop_size=(128, 256))
    model.train()
    data = model.data_preprocessor(
        dict(
            inputs=[packed['inputs'], flipped['inputs']],
            data_samples=[packed['data_samples'], flipped['data_samples']]),
        training=True)
    assert data['inputs'].shape == (2, 3, 128, 256)  # real 256x128 image
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    history = []
    for _ in range(6):
        optim.zero_grad()
        losses = model.loss(data['inputs'], data['data_samples'])
        total, _ = model.parse_losses(losses)
        total.backward()
        optim.step()
        history.append((total.item(), losses['refine.loss_ce'].item()))
    print('ISDNet total / refine CE per step:', history)
    assert history[-1][0] < history[0][0]
    assert history[-1][1] < history[0][1]


def test_init_weights_loads_imagenet_stdc_into_the_shallow_net(tmp_path):
    """Through the segmentor's init_weights, as the Runner calls it."""
    from mmseg_ext.models.backbones.stdc_shallow_net import STDCShallowNet
    ref = STDCShallowNet(3, norm_cfg=dict(type='BN'))
    sd = {
        k:
        torch.rand_like(v, dtype=torch.float32) +
        0.5 if v.is_floating_point() else v
        for k, v in ref.state_dict().items()
    }
    sd['stages.4.0.layers.0.conv.weight'] = torch.zeros(512, 512, 1, 1)
    ckpt = tmp_path / 'stdc1_mmseg_layout.pth'
    torch.save({'state_dict': sd}, ckpt)
    cfg = copy.deepcopy(_cfg(DEEPGLOBE))
    cfg.model.pretrained = None
    cfg.model.refine_head.shallow_net.init_cfg.checkpoint = str(ckpt)
    model = build_model(cfg)
    model.init_weights()
    net = model.refine_head.shallow_net
    stem = sd['stages.0.conv.weight']
    assert torch.equal(net.stages[0].conv.weight, torch.cat([stem, stem], 1))
    assert torch.equal(net.stages[3][1].layers[3].bn.running_var,
                       sd['stages.3.1.layers.3.bn.running_var'])
    # the rest of the head keeps its own initialisation
    assert model.refine_head.fuse8.spatial_gate.item() == 0
