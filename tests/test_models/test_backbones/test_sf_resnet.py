import torch

from mmseg_ext.models.backbones import SFResNet


def test_r18_strides_widths_and_dilation_on_conv2_only():
    model = SFResNet(depth=18)
    model.eval()  # mmseg's ResNet.train() returns None: no chaining
    outs = model(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 64, 16, 24), (1, 128, 8, 12),
                                              (1, 256, 4, 6),
                                              (1, 512, 2, 3)]  # OS 32
    # deep stem 3-64-64-128, so layer1 needs a projection shortcut
    assert model.stem[6].out_channels == 128
    assert model.layer1[0].downsample is not None
    first3 = model.layer3[0]
    assert first3.conv1.stride == (2, 2) and first3.conv1.dilation == (1, 1)
    assert first3.conv2.dilation == (2, 2) and first3.conv2.padding == (2, 2)
    assert all(b.conv2.dilation == (4, 4) for b in model.layer4)
    assert all(b.conv1.dilation == (1, 1) for b in model.layer4)


def test_r50_keeps_stride_with_dilated_conv2():
    model = SFResNet(depth=50)
    model.eval()
    outs = model(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [256, 512, 1024, 2048]
    assert outs[-1].shape[-2:] == (2, 2)
    assert model.layer3[0].conv2.stride == (2, 2)
    assert model.layer3[0].conv2.dilation == (2, 2)
    assert model.layer3[1].conv2.dilation == (2, 2)
