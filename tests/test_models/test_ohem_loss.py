import pytest
import torch
import torch.nn.functional as F

from mmseg_ext.models.losses import OhemCrossEntropyLoss, ohem_keep_mask


def _reference(logits, label, thresh, min_kept, ignore=255):
    """Direct transcription of the official selection rule, pixel by pixel."""
    prob = F.softmax(logits, 1)
    n, c, h, w = logits.shape
    label_flat = label.reshape(-1)
    probs = prob.permute(0, 2, 3, 1).reshape(-1, c)
    valid = label_flat != ignore
    if min_kept > int(valid.sum()):
        kept = valid
    else:
        p = torch.ones(label_flat.numel())
        p[valid] = probs[valid, label_flat[valid]]
        t = max(thresh, float(p.sort().values[min_kept - 1]))
        kept = valid & (p <= t)
    target = label_flat.clone()
    target[~kept] = ignore
    return F.cross_entropy(logits, target.view(n, h, w), ignore_index=ignore)


@pytest.mark.parametrize('min_kept', [5, 50, 200, 10**6])
def test_matches_official_rule(min_kept):
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 6, 7) * 3
    label = torch.randint(0, 4, (2, 6, 7))
    label[0, :2] = 255
    loss = OhemCrossEntropyLoss(thresh=0.7, min_kept=min_kept)(logits, label)
    torch.testing.assert_close(loss, _reference(logits, label, 0.7, min_kept))


def test_mean_over_kept_pixels_not_all_pixels():
    logits = torch.zeros(1, 2, 1, 4)
    logits[0, 0] = torch.tensor([10., 10., 10., -10.])  # 3 easy, 1 hard
    label = torch.zeros(1, 1, 4, dtype=torch.long)
    keep = ohem_keep_mask(logits, label, 0.7, 1, 255)
    assert keep.tolist() == [[[False, False, False, True]]]
    loss = OhemCrossEntropyLoss(thresh=0.7, min_kept=1)(logits, label)
    # only the hard pixel counts: CE = log(1 + e^10), not a quarter of it
    torch.testing.assert_close(loss, torch.tensor(10.0), atol=1e-3, rtol=0)


def test_out_of_range_label_is_a_clear_error():
    with pytest.raises(ValueError, match=r'\[40\].*outside \[0, 4\)'):
        OhemCrossEntropyLoss()(torch.randn(1, 4, 2, 2),
                               torch.tensor([[[0, 1], [40, 255]]]))
