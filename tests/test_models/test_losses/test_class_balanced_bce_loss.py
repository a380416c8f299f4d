"""Class-balanced BCE (PFNet's bce2d): weights, ignore, degenerate input."""
import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.models.losses import class_balanced_bce


def test_weights_balance_the_batch_and_ignore_above_one():
    logits = torch.tensor([[[0.5, -1.0], [2.0, 0.0]]])
    target = torch.tensor([[[1, 0], [0, 255]]])
    # P=1, M=2 over the batch: positive weight 2/3, negatives 1/3, ignored 0,
    # mean over all 4 pixels
    per_pixel = F.binary_cross_entropy_with_logits(
        logits.flatten(), torch.tensor([1., 0., 0., 255.]), reduction='none')
    expected = (per_pixel[0] * 2 / 3 + (per_pixel[1] + per_pixel[2]) / 3) / 4
    torch.testing.assert_close(class_balanced_bce(logits, target), expected)


def test_all_ignored_gives_zero_with_graph():
    logits = torch.randn(1, 1, 3, 3, requires_grad=True)
    loss = class_balanced_bce(logits, torch.full((1, 3, 3), 255))
    assert loss.item() == 0.0
    loss.backward()
    assert logits.grad is not None


def test_pixel_count_mismatch_is_an_error():
    with pytest.raises(ValueError, match='16 pixels.*9'):
        class_balanced_bce(torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 3))
