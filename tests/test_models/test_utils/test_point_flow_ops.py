"""PointFlow's pure point functions: selection, coordinates, scatter."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.ops import point_sample

from mmseg_ext.models.utils import (coarse_to_fine_indices,
                                    point_affinity_fuse, scatter_points,
                                    topk_grid_points)


def test_topk_grid_points_indices_and_cell_centres():
    score = torch.zeros(2, 1, 3, 4)
    score[0, 0, 2, 1] = 5.0  # flat 9
    score[0, 0, 0, 3] = 4.0  # flat 3
    score[1, 0, 1, 0] = 1.0  # flat 4
    score[1, 0, 2, 3] = 2.0  # flat 11
    idx, coords = topk_grid_points(score, 2)
    assert idx.tolist() == [[9, 3], [11, 4]]
    assert idx.dtype == torch.int64 and coords.dtype == torch.float32
    # (x + 0.5) / w, (y + 0.5) / h
    assert torch.allclose(
        coords[0], torch.tensor([[1.5 / 4, 2.5 / 3], [3.5 / 4, 0.5 / 3]]))
    assert torch.allclose(
        coords[1], torch.tensor([[3.5 / 4, 2.5 / 3], [0.5 / 4, 1.5 / 3]]))


def test_topk_grid_points_centres_sample_cells_exactly():
    """At the centres, align_corners=False bilinear sampling reads the cell."""
    score = torch.randn(1, 1, 5, 7)
    feat = torch.randn(1, 3, 5, 7)
    idx, coords = topk_grid_points(score, 10)
    sampled = point_sample(feat, coords)
    assert torch.allclose(sampled, feat.flatten(2)[:, :, idx[0]], atol=1e-6)


def test_topk_grid_points_caps_at_grid_size_and_handles_ties():
    idx, coords = topk_grid_points(torch.zeros(2, 1, 3, 3), 128)
    assert idx.shape == (2, 9) and coords.shape == (2, 9, 2)
    # all tied: every cell exactly once
    assert sorted(idx[0].tolist()) == list(range(9))
    score = torch.tensor([[[[1., 3., 3.], [0., 3., 2.]]]])
    idx, _ = topk_grid_points(score, 3)
    assert sorted(idx[0].tolist()) == [1, 2, 4]  # the three tied maxima


def test_topk_grid_points_rejects_bad_input():
    with pytest.raises(ValueError, match=r'\(N, 1, h, w\)'):
        topk_grid_points(torch.zeros(1, 2, 3, 3), 4)
    with pytest.raises(ValueError, match='num_points'):
        topk_grid_points(torch.zeros(1, 1, 3, 3), 0)


def test_coarse_to_fine_indices_top_left_of_block():
    # coarse 3x4 -> fine 6x8: cell (x, y) -> pixel (2x, 2y)
    coarse = torch.tensor([[0, 5, 11]])  # (0,0) (1,1) (3,2)
    fine = coarse_to_fine_indices(coarse, (3, 4), (6, 8))
    assert fine.tolist() == [[0, 2 * 8 + 2, 4 * 8 + 6]]
    # 4x ratio
    assert coarse_to_fine_indices(torch.tensor([5]), (3, 4),
                                  (12, 16)).tolist() == [4 * 16 + 4]


def test_coarse_to_fine_indices_non_integer_ratio_uses_heights():
    """Official: r = H / h for both axes, the float sum truncated."""
    # coarse 7x9 -> fine 13x17: r = 13/7
    r = 13 / 7
    cells = torch.arange(63)
    fine = coarse_to_fine_indices(cells, (7, 9), (13, 17))
    x, y = cells % 9, cells // 9
    expected = (x.float() * r + (y.float() * r) * 17).long()
    assert torch.equal(fine, expected)
    assert fine.max() < 13 * 17 and fine.min() >= 0
    # (8, 6): 8 r + 6 r * 17 = 14.86 + 189.43 = 204.29 -> 204, not
    # 11 * 17 + 14 = 201 from truncating each axis
    assert fine[62].item() == 204


def test_point_affinity_fuse_is_softmax_weighted_sum_plus_fine():
    torch.manual_seed(0)
    coarse, fine = torch.randn(2, 6, 5), torch.randn(2, 6, 5)
    out = point_affinity_fuse(coarse, fine)
    for n in range(2):
        aff = torch.softmax(
            fine[n].t() @ coarse[n], dim=1)  # (P_fine, P_coarse)
        assert torch.allclose(
            out[n], (aff @ coarse[n].t()).t() + fine[n], atol=1e-6)


def test_point_affinity_fuse_backpropagates_to_both():
    coarse = torch.randn(1, 4, 3, requires_grad=True)
    fine = torch.randn(1, 4, 3, requires_grad=True)
    point_affinity_fuse(coarse, fine).sum().backward()
    assert coarse.grad.abs().sum() > 0 and fine.grad.abs().sum() > 0


def test_scatter_points_writes_only_indices_and_keeps_input():
    feat = torch.zeros(1, 2, 3, 4)
    values = torch.tensor([[[1., 2.], [3., 4.]]])
    out = scatter_points(feat, torch.tensor([[5, 11]]), values)
    assert feat.abs().sum() == 0  # input untouched
    assert out[0, :, 1, 1].tolist() == [1., 3.]
    assert out[0, :, 2, 3].tolist() == [2., 4.]
    assert out.abs().sum() == 10.0


def test_max_pool_indices_map_pooled_grid_to_fine_grid():
    """adaptive_max_pool2d's flat indices are into the coarse map; mapped to
    the fine grid they land on the top-left pixel of the argmax's block."""
    certainty = torch.rand(1, 1, 8, 8)
    _, idx = F.adaptive_max_pool2d(certainty, 4, return_indices=True)
    flat = idx.flatten(1)
    assert torch.equal(
        certainty.flatten(1).gather(1, flat),
        F.adaptive_max_pool2d(certainty, 4).flatten(1))
    fine = coarse_to_fine_indices(flat, (8, 8), (16, 16))
    assert torch.equal(fine // 16, (flat // 8) * 2)
    assert torch.equal(fine % 16, (flat % 8) * 2)
