"""GINet's SC loss: class-presence targets and the BCE value."""
import numpy as np
import pytest
import torch
from mmseg.registry import MODELS

from mmseg_ext.models.losses import SCLoss, class_presence


def test_class_presence_ignores_void_and_out_of_range_ids():
    label = torch.tensor([[[0, 2, 255], [2, 2, 7]],
                          [[255, 255, 255], [255, 255, 255]],
                          [[4, 4, 1], [1, 3, -1]]])
    presence = class_presence(label, num_classes=5, ignore_index=255)
    assert presence.dtype == torch.float32 and presence.shape == (3, 5)
    torch.testing.assert_close(
        presence,
        torch.tensor([[1., 0., 1., 0., 0.], [0., 0., 0., 0., 0.],
                      [0., 1., 0., 1., 1.]]))
    # (N, 1, H, W) as mmseg stacks gt_sem_seg
    torch.testing.assert_close(class_presence(label[:, None], 5), presence)
    # a different ignore index in range is excluded too
    assert class_presence(
        label, 5, ignore_index=2)[0].tolist() == [1., 0., 0., 0., 0.]


def _numpy_bce(logits, target):
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    return -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean()


def test_loss_is_weighted_mean_bce_against_presence():
    loss_fn = MODELS.build(dict(type='SCLoss', loss_weight=0.2))
    assert isinstance(loss_fn, SCLoss) and loss_fn.loss_name == 'loss_sc'
    torch.manual_seed(0)
    logits = torch.randn(2, 6, requires_grad=True)
    label = torch.randint(0, 6, (2, 8, 8))
    label[0][label[0] == 3] = 255
    target = class_presence(label, 6).numpy()
    loss = loss_fn(logits, label, ignore_index=255)
    ref = 0.2 * _numpy_bce(logits.detach().numpy(), target)
    assert loss.item() == pytest.approx(ref, rel=1e-6)
    loss.backward()
    # d/ds mean BCE = (sigmoid(s) - t) / (N K)
    grad = 0.2 * (torch.sigmoid(logits.detach()) - torch.from_numpy(target))
    torch.testing.assert_close(logits.grad, grad / 12)


def test_fully_ignored_image_counts_with_all_zero_target():
    """Paddle's mask-and-renormalise leaves the batch mean BCE unchanged."""
    loss_fn = SCLoss(loss_weight=1.0)
    logits = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, -3.0]])
    label = torch.stack(
        [torch.tensor([[0, 2], [2, 2]]),
         torch.full((2, 2), 255)])
    target = np.array([[1., 0., 1.], [0., 0., 0.]])
    assert loss_fn(logits, label).item() == pytest.approx(
        _numpy_bce(logits.numpy(), target), rel=1e-6)


def test_all_ignored_batch_gives_zero_with_a_graph():
    loss_fn = SCLoss()
    logits = torch.randn(2, 4, requires_grad=True)
    loss = loss_fn(logits, torch.full((2, 5, 5), 255))
    assert loss.item() == 0.0
    loss.backward()
    assert torch.count_nonzero(logits.grad) == 0


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match=r'\(N, K\).*\(3, 4\).*\(2, 5, 5\)'):
        SCLoss()(torch.randn(3, 4), torch.zeros(2, 5, 5, dtype=torch.long))
    with pytest.raises(ValueError, match='class logits'):
        SCLoss()(torch.randn(2, 4, 1), torch.zeros(2, 5, 5, dtype=torch.long))
