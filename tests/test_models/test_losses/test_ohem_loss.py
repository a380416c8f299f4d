from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmseg_ext.engine.hooks.label_check_hook import check_batch_labels
from mmseg_ext.models.decode_heads import SFHead
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


def test_out_of_range_label_is_a_clear_error_before_the_loss():
    """LabelCheckHook checks the labels (once, before the iteration); the
    head and the loss do not, as mmseg's."""
    head = SFHead([8],
                  8,
                  in_index=[0],
                  num_classes=4,
                  loss_decode=dict(type='OhemCrossEntropyLoss'))
    sample = SegDataSample(metainfo=dict(seg_map_path='l.png'))
    sample.gt_sem_seg = PixelData(data=torch.tensor([[[0, 1], [40, 255]]]))
    with pytest.raises(
            ValueError, match=r'outside \[0, 4\).*l\.png: values \[40\]'):
        check_batch_labels(SimpleNamespace(decode_head=head), [sample])


def test_per_pixel_weight_is_refused():
    """A sampler's seg_weight would be silently dropped: refuse it."""
    loss = OhemCrossEntropyLoss()
    logits, label = torch.randn(1, 4, 2, 2), torch.zeros(1, 2, 2).long()
    with pytest.raises(ValueError, match='takes no per-pixel weight'):
        loss(logits, label, weight=torch.ones(1, 2, 2))
    torch.testing.assert_close(
        loss(logits, label, weight=None), loss(logits, label))
