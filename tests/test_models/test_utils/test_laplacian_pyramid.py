"""Laplacian pyramid (ISDNet shallow-branch input) as pure functions."""
import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.models.utils.laplacian_pyramid import (conv_gauss, gauss_kernel,
                                                      laplacian_pyramid,
                                                      laplacian_residual_input,
                                                      pyr_downsample,
                                                      pyr_upsample)

pytestmark = pytest.mark.usefixtures('one_thread')


def _img(*shape, dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dtype)


def test_gauss_kernel_is_normalised_binomial():
    k = gauss_kernel(3, dtype=torch.float64)
    assert k.shape == (3, 1, 5, 5) and k.dtype == torch.float64
    b = torch.tensor([1., 4., 6., 4., 1.], dtype=torch.float64)
    for c in range(3):
        torch.testing.assert_close(k[c, 0], torch.outer(b, b) / 256.)
    assert torch.allclose(k.sum(dim=(1, 2, 3)), torch.ones(3, dtype=k.dtype))
    assert gauss_kernel(2, device='meta', dtype=torch.bfloat16).device.type \
        == 'meta'


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-12),
                                       (torch.float32, 1e-6)])
def test_separable_blur_is_the_official_depthwise_conv(dtype, tol):
    img = _img(2, 3, 9, 13, dtype=dtype)
    for scale in (1., 4.):
        ref = F.conv2d(
            F.pad(img, (2, 2, 2, 2), mode='reflect'),
            scale * gauss_kernel(3, dtype=dtype),
            groups=3)
        out = conv_gauss(img, scale)
        assert out.dtype == dtype and out.shape == img.shape
        assert (out - ref).abs().max() < tol


def test_upsample_inserts_zeros_then_blurs_with_four_times_the_kernel():
    x = _img(1, 2, 4, 5)
    up = torch.zeros(1, 2, 8, 10)
    up[:, :, ::2, ::2] = x
    torch.testing.assert_close(
        pyr_upsample(x), conv_gauss(up, 4.), rtol=0, atol=0)
    # the x4 restores the brightness: away from the border a constant
    # image stays constant
    const = torch.full((1, 1, 6, 6), 3.0)
    out = pyr_upsample(const)
    torch.testing.assert_close(out[..., 2:-2, 2:-2],
                               torch.full((1, 1, 8, 8), 3.0))
    assert pyr_downsample(_img(1, 1, 7, 4)).shape[2:] == (4, 2)


@pytest.mark.parametrize('size,num_high,expected', [
    ((32, 48), 2, [(32, 48), (16, 24)]),
    ((37, 50), 2, [(37, 50), (19, 25)]),
    ((45, 61), 3, [(45, 61), (23, 31), (12, 16)]),
    ((5, 7), 2, [(5, 7), (3, 4)]),
])
def test_pyramid_shapes_on_odd_sizes(size, num_high, expected):
    pyr = laplacian_pyramid(_img(2, 3, *size), num_high)
    assert [tuple(r.shape[2:]) for r in pyr] == expected
    assert all(r.shape[:2] == (2, 3) for r in pyr)


def test_residual_is_image_minus_blurred_reconstruction():
    img = _img(1, 3, 37, 50, dtype=torch.float64)
    down = pyr_downsample(conv_gauss(img))
    up = F.interpolate(pyr_upsample(down), size=(37, 50))  # odd: nearest
    torch.testing.assert_close(laplacian_pyramid(img, 1)[0], img - up)
    # a constant image has no high frequencies away from the border
    flat = laplacian_pyramid(torch.full((1, 3, 32, 32), 0.7), 2)
    assert flat[0][..., 4:-4, 4:-4].abs().max() < 1e-6


@pytest.mark.parametrize('dtype,tol', [(torch.float64, 1e-6),
                                       (torch.bfloat16, 0.1)])
def test_dtype_follows_input(dtype, tol):
    img = _img(1, 3, 33, 40)
    ref = laplacian_pyramid(img, 2)
    out = laplacian_pyramid(img.to(dtype), 2)
    for o, r in zip(out, ref):
        assert o.dtype == dtype
        assert (o.float() - r).abs().max() < tol


def test_pyramid_runs_on_the_input_device():
    # no kernel tensor pinned to a device (the official one is built on
    # 'cuda' in __init__): meta tensors go through and keep their shapes
    pyr = laplacian_pyramid(torch.empty(2, 3, 40, 56, device='meta'), 2)
    assert [r.device.type for r in pyr] == ['meta', 'meta']
    assert [tuple(r.shape) for r in pyr] == [(2, 3, 40, 56), (2, 3, 20, 28)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_matches_cpu():
    img = _img(1, 3, 37, 50)
    for o, r in zip(
            laplacian_pyramid(img.cuda(), 2), laplacian_pyramid(img, 2)):
        assert o.is_cuda
        torch.testing.assert_close(o.cpu(), r, rtol=1e-5, atol=1e-5)


def test_residual_input_stacks_levels_at_full_resolution():
    img = _img(2, 3, 37, 50)
    r1, r2 = laplacian_pyramid(img, 2)
    x = laplacian_residual_input(img, 2)
    assert x.shape == (2, 6, 37, 50)
    torch.testing.assert_close(x[:, :3], r1, rtol=0, atol=0)
    torch.testing.assert_close(
        x[:, 3:],
        F.interpolate(r2, size=(37, 50), mode='bilinear', align_corners=False),
        rtol=0,
        atol=0)


def test_bad_inputs():
    with pytest.raises(ValueError, match='floating'):
        laplacian_pyramid(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        laplacian_pyramid(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match='num_high'):
        laplacian_pyramid(torch.zeros(1, 3, 8, 8), 0)
    with pytest.raises(ValueError, match='level 0 is 2x9'):
        laplacian_pyramid(torch.zeros(1, 3, 2, 9))
    # 5 -> 3 -> 2: the third level is too small
    with pytest.raises(ValueError, match='level 2 is 2x2'):
        laplacian_pyramid(torch.zeros(1, 3, 5, 5), 3)
