import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_ext.models.necks import FAM, SFNeck

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R18_DSN = 'configs/sfnet/sfnet_r18-d32-dsn_4xb2-50k_cityscapes-512x1024.py'


def _inputs(widths=(64, 128, 256, 512), size=(64, 128)):
    torch.manual_seed(0)
    h, w = size
    return [
        torch.randn(2, c, h // s, w // s)
        for c, s in zip(widths, (4, 8, 16, 32))
    ]


def test_fam_output_is_fine_sized_warp_of_coarse():
    fam = FAM(16, 8)
    fine, coarse = torch.randn(1, 16, 10, 14), torch.randn(1, 16, 5, 7)
    out = fam(fine, coarse)
    assert out.shape == fine.shape
    # with a zero flow conv the FAM is exactly an align_corners resize
    torch.nn.init.zeros_(fam.flow_make.weight)
    ref = torch.nn.functional.interpolate(
        coarse, size=(10, 14), mode='bilinear', align_corners=True)
    torch.testing.assert_close(fam(fine, coarse), ref, atol=1e-5, rtol=0)


def test_neck_shapes_ppm_without_relu_and_dsn_outputs():
    neck = SFNeck([64, 128, 256, 512], 128).eval()
    outs = neck(_inputs())
    assert [tuple(o.shape) for o in outs] == [(2, 128, 16, 32),
                                              (2, 128, 8, 16), (2, 128, 4, 8),
                                              (2, 128, 2, 4)]
    assert all(not stage[1].with_activation for stage in neck.ppm)
    assert neck.ppm_bottleneck[0].conv.kernel_size == (1, 1)
    assert neck.lateral_convs[0].conv.bias is not None
    dsn = SFNeck([64, 128, 256, 512], 128, return_dsn=True).eval()
    dsn.load_state_dict(neck.state_dict())
    outs_dsn = dsn(_inputs())
    assert len(outs_dsn) == 7
    for a, b in zip(outs, outs_dsn[:4]):
        torch.testing.assert_close(a, b)
    assert [o.shape[-1] for o in outs_dsn[4:]] == [32, 16, 8]


def test_neck_wrong_number_of_levels():
    neck = SFNeck([64, 128, 256, 512], 128)
    try:
        neck(_inputs()[:3])
    except ValueError as e:
        assert 'expects 4 levels' in str(e)
    else:
        raise AssertionError('no error for 3 levels')


def _build(path):
    cfg = Config.fromfile(path)
    for key in ('backbone', 'neck', 'decode_head'):
        cfg.model[key].norm_cfg = dict(type='BN', requires_grad=True)
    for aux in cfg.model.get('auxiliary_head', []) or []:
        aux.norm_cfg = dict(type='BN', requires_grad=True)
    return MODELS.build(cfg.model)


def test_r18_segmentor_shapes_and_params():
    model = _build(R18)
    model.eval()
    out = model(torch.randn(1, 3, 64, 128), mode='tensor')
    assert out.shape == (1, 19, 16, 32)
    n = sum(p.numel() for p in model.parameters())
    assert 12.5e6 < n < 13.3e6  # MMSeg-SFNet reproduction: 12.87M


def test_dsn_losses_and_gradients():
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    model = _build(R18_DSN)
    model.train()
    # small batches: OHEM min_kept (1e5) exceeds the valid pixels -> plain CE
    imgs = torch.randn(2, 3, 64, 96)
    samples = []
    for i in range(2):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, 64, 96)))
        s.set_metainfo(dict(img_shape=(64, 96), pad_shape=(64, 96)))
        samples.append(s)
    losses = model(imgs, samples, mode='loss')
    keys = sorted(k for k in losses if 'loss' in k)
    assert keys == [
        'aux_0.loss_ohem_ce', 'aux_1.loss_ohem_ce', 'aux_2.loss_ohem_ce',
        'decode.loss_ohem_ce'
    ]
    total = sum(losses[k] for k in keys)
    assert torch.isfinite(total)
    total.backward()
    fam = model.neck.fams[0].flow_make.weight
    assert fam.grad is not None and fam.grad.abs().sum() > 0
