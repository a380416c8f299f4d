import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.models.utils import flow_warp


def test_zero_flow_is_align_corners_resize():
    torch.manual_seed(0)
    feat = torch.randn(2, 5, 7, 9)
    for size in [(13, 17), (14, 18), (7, 9), (4, 5)]:
        flow = torch.zeros(2, 2, *size)
        out = flow_warp(feat, flow, size)
        ref = F.interpolate(
            feat, size=size, mode='bilinear', align_corners=True)
        assert out.shape == (2, 5, *size)
        torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_constant_flow_shifts_by_half_pixel_units():
    # feature = x coordinate (in pixels) of each column, same size in and out
    h, w = 6, 11
    feat = torch.arange(w, dtype=torch.float32).expand(1, 1, h, w).clone()
    fx = 2.0
    flow = torch.zeros(1, 2, h, w)
    flow[:, 0] = fx
    out = flow_warp(feat, flow, (h, w))
    # grid moves by fx / w in [-1, 1] units = fx / w * (w - 1) / 2 pixels
    shift = fx / w * (w - 1) / 2
    interior = out[0, 0, :, :w - 2]
    expected = (torch.arange(w - 2, dtype=torch.float32) + shift).expand(h, -1)
    torch.testing.assert_close(interior, expected, atol=1e-5, rtol=0)
    # the y channel moves rows: a row ramp shifted by fy / h * (h - 1) / 2
    feat_y = torch.arange(
        h, dtype=torch.float32).view(1, 1, h, 1).expand(1, 1, h, w).clone()
    flow = torch.zeros(1, 2, h, w)
    flow[:, 1] = -1.0
    out = flow_warp(feat_y, flow, (h, w))
    shift_y = -1.0 / h * (h - 1) / 2
    expected = (torch.arange(1, h, dtype=torch.float32) + shift_y)
    torch.testing.assert_close(out[0, 0, 1:, 0], expected, atol=1e-5, rtol=0)


def test_samples_outside_read_zero():
    feat = torch.ones(1, 1, 4, 4)
    flow = torch.full((1, 2, 4, 4), 100.0)  # far outside
    assert flow_warp(feat, flow, (4, 4)).abs().max() == 0


def test_gradients_reach_flow_and_feature():
    torch.manual_seed(1)
    feat = torch.randn(1, 3, 5, 6, requires_grad=True)
    flow = (0.3 * torch.randn(1, 2, 9, 11)).requires_grad_()
    flow_warp(feat, flow, (9, 11)).square().sum().backward()
    assert flow.grad is not None and flow.grad.abs().sum() > 0
    assert feat.grad is not None and feat.grad.abs().sum() > 0


def test_bad_flow_shape_names_expected_shape():
    with pytest.raises(ValueError, match=r'\(1, 2, 8, 8\)'):
        flow_warp(torch.randn(1, 3, 4, 4), torch.zeros(1, 2, 4, 4), (8, 8))
