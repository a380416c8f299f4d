"""``RandomGaussianBlur`` against the official PFNet blur on a real image.

Golden ``blur`` (``tests/data/pfnet_isaid_data_golden.pth``): the body of
lxtGH/PFSegNets ``transforms/transforms.py:RandomGaussianBlur``
(``gaussian(img, sigma, multichannel=True) * 255`` then ``astype(uint8)``,
with scikit-image 0.26 where ``multichannel=True`` is spelled
``channel_axis=-1``) on a 64x64 RGB crop of the val patch
P0003_0_896_0_896, for three sigmas.

Regenerate the golden file (:mod:`tools.fidelity.golden.pfnet_isaid_data`)
with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden \\
        pfnet_isaid_data --out tests/data/pfnet_isaid_data_golden.pth
"""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO

from mmseg_ext.datasets.transforms import RandomGaussianBlur
from mmseg_ext.datasets.transforms.gaussian_blur import gaussian_blur

GOLDEN = osp.join(REPO, 'tests', 'data', 'pfnet_isaid_data_golden.pth')


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, weights_only=True)['blur']


@pytest.fixture(scope='module')
def crop(data_root, golden):
    # the val patch P0003_0_896_0_896 is the source's top-left 896x896
    _, y1, y2, x1, x2 = golden['crop']
    bgr = cv2.imread(
        osp.join(data_root, 'isaid', 'val', 'images', 'P0003.png'))
    return np.ascontiguousarray(bgr[y1:y2, x1:x2])


def test_matches_official_blur_on_real_image(crop, golden):
    rgb = np.ascontiguousarray(crop[..., ::-1])
    assert golden['outputs']
    for sigma, expected in golden['outputs'].items():
        ours = gaussian_blur(rgb, sigma)
        np.testing.assert_array_equal(ours, expected.numpy())
        assert (ours != rgb).any()
        # channels are blurred independently: BGR gives the same pixels
        np.testing.assert_array_equal(
            gaussian_blur(crop, sigma)[..., ::-1], ours)


def test_transform_samples_sigma_in_range(crop, monkeypatch):
    blur = RandomGaussianBlur()  # official range and prob 1
    for u, sigma in ((0.0, 0.15), (0.5, 0.725)):
        monkeypatch.setattr(np.random, 'rand', lambda u=u: u)
        out = blur(dict(img=crop.copy()))['img']
        np.testing.assert_array_equal(out, gaussian_blur(crop, sigma))
    # larger sigma blurs more
    weak = gaussian_blur(crop, 0.15).astype(float)
    strong = gaussian_blur(crop, 1.3).astype(float)
    assert np.abs(np.diff(strong, axis=1)).mean() < \
        np.abs(np.diff(weak, axis=1)).mean()


def test_prob_and_bad_inputs(crop):
    out = RandomGaussianBlur(prob=0.0)(dict(img=crop.copy()))['img']
    np.testing.assert_array_equal(out, crop)
    with pytest.raises(ValueError, match='sigma_range'):
        RandomGaussianBlur(sigma_range=(1.3, 0.15))
    with pytest.raises(ValueError, match='prob'):
        RandomGaussianBlur(prob=1.5)
    with pytest.raises(ValueError, match='uint8'):
        RandomGaussianBlur()(dict(img=crop.astype(np.float32)))
