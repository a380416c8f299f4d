"""PFNet's boundary target (``GenerateBoundary``) on real converted iSAID
labels, against the official ``datasets/iSAID.py:get_boundary`` (golden), and
the PFNet iSAID base config read by mmseg's ``iSAIDDataset``.

Golden (``tests/data/pfnet_isaid_data_golden.pth``), made by running the
official lxtGH/PFSegNets code on the sample: ``val_patch`` is
``get_boundary(MaskToTensor(label), thicky=8)`` of the converted patch
P0003_127_1023_251_1147; ``train_resized`` / ``val_resized`` are the official
``joint_transforms.Resize(896)`` of the whole-kept P0005 / P0004 (pixel
hashes) and, for P0005, ``get_boundary`` of the resized label.

Regenerate the golden file (:mod:`tools.fidelity.golden.pfnet_isaid_data`)
with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden \\
        pfnet_isaid_data --out tests/data/pfnet_isaid_data_golden.pth
"""
import hashlib
import os.path as osp
import zlib

import numpy as np
import pytest
import torch
from conftest import REPO
from mmcv.transforms import Compose
from mmengine.config import Config
from mmseg.datasets import iSAIDDataset
from mmseg.datasets.transforms import GenerateEdge, PackSegInputs
from mmseg.utils import stack_batch

from mmseg_ext.datasets.preparation import isaid
from mmseg_ext.datasets.transforms import GenerateBoundary, boundary_from_label

GOLDEN = osp.join(REPO, 'tests', 'data', 'pfnet_isaid_data_golden.pth')
BASE_CFG = osp.join(REPO, 'configs', '_base_', 'datasets',
                    'isaid_pfnet-896x896.py')


def _sha(array):
    array = np.ascontiguousarray(array)
    return (hashlib.sha256(array.tobytes()).hexdigest() +
            f'|{array.dtype}|{array.shape}')


def _unpack(entry):
    bits = np.frombuffer(
        zlib.decompress(entry['edge'].numpy().tobytes()), np.uint8)
    h, w = entry['shape']
    return np.unpackbits(bits)[:h * w].reshape(h, w)


@pytest.fixture(scope='module')
def golden():
    return torch.load(GOLDEN, weights_only=True)


@pytest.fixture(scope='module')
def out(data_root, tmp_path_factory):
    """The real sample converted by tools/dataset_converters/isaid.py."""
    out = str(tmp_path_factory.mktemp('isaid_data_root'))
    isaid.convert(osp.join(data_root, 'isaid'), out)
    return out


@pytest.fixture(scope='module')
def pipelines():
    cfg = Config.fromfile(BASE_CFG)
    return cfg


def _load(out, split, stem, steps):
    results = dict(
        img_path=osp.join(out, 'img_dir', split, stem + '.png'),
        seg_map_path=osp.join(out, 'ann_dir', split,
                              stem + '_instance_color_RGB.png'),
        reduce_zero_label=False,
        seg_fields=[])
    return Compose(steps)(results)


def test_real_patch_matches_official_get_boundary(out, golden):
    entry = golden['val_patch']
    results = _load(
        out, 'val', entry['name'],
        [dict(type='LoadAnnotations'),
         dict(type='GenerateBoundary')])
    label = results['gt_seg_map']
    assert _sha(label) == entry['label_sha']  # the official converted label
    edge = results['gt_edge_map']
    assert edge.dtype == np.uint8 and edge.shape == (896, 896)
    np.testing.assert_array_equal(edge, _unpack(entry))
    assert set(np.unique(edge)) == {0, 1}
    # a real boundary map: a few % of the patch, around the vehicles/tanks
    assert 0.005 < edge.mean() < 0.3
    assert edge[label > 0].mean() > edge[label == 0].mean()


def test_config_resize_and_boundary_match_official_train_transforms(
        out, golden, pipelines):
    """Resize of the base config = official joint_transforms.Resize(896)
    (PIL bicubic image, nearest label, aspect not kept), and the boundary of
    the resized label = official get_boundary, on the whole-kept P0005."""
    entry = golden['train_resized']
    steps = pipelines.train_pipeline
    assert [s['type'] for s in steps
            ][:3] == ['LoadImageFromFile', 'LoadAnnotations', 'Resize']
    results = _load(out, 'train', 'P0005',
                    steps[:3] + [dict(type='GenerateBoundary', thickness=8)])
    assert results['img'].shape == (896, 896, 3)
    assert _sha(results['img'][..., ::-1]) == entry['img_sha']  # BGR -> RGB
    assert _sha(results['gt_seg_map']) == entry['label_sha']
    np.testing.assert_array_equal(results['gt_edge_map'], _unpack(entry))


def test_config_test_resize_matches_official_eval_resize(
        out, golden, pipelines):
    entry = golden['val_resized']
    steps = pipelines.test_pipeline
    results = _load(out, 'val', 'P0004', steps[:2])
    assert _sha(results['img'][..., ::-1]) == entry['img_sha']
    # the label is loaded after Resize: kept at its own size (mmseg scores
    # there; the official code scores the nearest-resized label)
    results = _load(out, 'val', 'P0004', steps[:3])
    assert results['gt_seg_map'].shape == (1464, 824)


def test_thickness_and_what_counts_as_boundary():
    label = np.zeros((64, 64), np.uint8)
    label[16:48, 16:48] = 3
    # the 8-px line is centred on the object's outermost pixels (col 16 and
    # 47): 4 px outside, the contour pixel and 4 px inside
    assert np.nonzero(boundary_from_label(label)[32])[0].tolist() == \
        list(range(12, 21)) + list(range(43, 52))
    assert np.nonzero(boundary_from_label(label, thickness=1)[32])[0] \
        .tolist() == [16, 47]
    # two touching foreground classes: no boundary between them (the
    # official findContours binarises the label)
    two = label.copy()
    two[16:48, 32:48] = 9
    np.testing.assert_array_equal(
        boundary_from_label(two), boundary_from_label(label))
    # mmseg's GenerateEdge (CE2P) marks that border: the rules differ
    ce2p = GenerateEdge(edge_width=3)(dict(
        img_shape=two.shape, gt_seg_map=two))['gt_edge_map']
    assert ce2p[32, 31:33].all() and not boundary_from_label(two)[32, 31:33] \
        .any()
    # a hole is traced too (RETR_TREE)
    ring = label.copy()
    ring[28:36, 28:36] = 0
    assert boundary_from_label(ring)[32, 32] == 1
    assert boundary_from_label(label)[32, 32] == 0


def test_constant_labels():
    assert not boundary_from_label(np.zeros((40, 50), np.uint8)).any()
    # constant foreground: its contour runs along the image border, as in
    # the official code (outside the image counts as background)
    edge = boundary_from_label(np.full((40, 50), 5, np.uint8))
    assert edge[0].all() and edge[:, -1].all() and edge[4].all()
    assert not edge[5:-5, 5:-5].any()


def test_ignored_pixels():
    label = np.zeros((64, 64), np.uint8)
    label[16:48, 16:48] = 3
    padded = label.copy()
    padded[:, 56:] = 255  # e.g. padding
    edge = boundary_from_label(padded)
    assert (edge[:, 56:] == 255).all()
    np.testing.assert_array_equal(edge[:, :56],
                                  boundary_from_label(label)[:, :56])
    assert set(np.unique(edge)) == {0, 1, 255}
    # foreground next to ignored pixels: traced as if they were outside
    fg = np.full((32, 32), 2, np.uint8)
    fg[:, 24:] = 255
    edge = boundary_from_label(fg)
    assert edge[16, 23] == 1 and edge[16, 12] == 0
    # ignore_index=None: the literal official call (255 is foreground)
    edge = boundary_from_label(padded, ignore_index=None)
    assert set(np.unique(edge)) == {0, 1} and edge[5, 52] == 1


def test_bad_inputs():
    with pytest.raises(ValueError, match=r'\(H, W\)'):
        boundary_from_label(np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r'\[0, 255\]'):
        boundary_from_label(np.full((4, 4), 300, np.int64))
    with pytest.raises(ValueError, match='thickness'):
        GenerateBoundary(thickness=0)
    with pytest.raises(KeyError, match='LoadAnnotations'):
        GenerateBoundary()(dict(img_path='x.png'))


def test_packed_into_data_sample_and_padded_as_ignore():
    label = np.zeros((30, 40), np.uint8)
    label[5:20, 10:30] = 8
    results = GenerateBoundary()(
        dict(
            img=np.zeros((30, 40, 3), np.uint8),
            gt_seg_map=label,
            img_shape=(30, 40),
            ori_shape=(30, 40),
            seg_fields=['gt_seg_map']))
    packed = PackSegInputs()(results)['data_samples']
    edge = packed.gt_edge_map.data
    assert edge.shape == (1, 30, 40) and edge.dtype == torch.int64
    np.testing.assert_array_equal(edge[0].numpy(), boundary_from_label(label))
    # mmseg's batching pads gt_edge_map with seg_pad_val: > 1 = ignored by
    # the official bce2d, as our ignore value
    _, samples = stack_batch([torch.zeros(3, 30, 40)], [packed],
                             size=(32, 48),
                             seg_pad_val=255)
    padded = samples[0].gt_edge_map.data
    assert padded.shape == (1, 32, 48) and (padded[0, 30:] == 255).all()


def test_isaid_dataset_reads_converted_sample_with_config(out, pipelines):
    cfg = pipelines
    train = cfg.train_dataloader.dataset.copy()
    train.pop('type')
    train.update(data_root=out)
    dataset = iSAIDDataset(**train)
    assert len(dataset) == 1
    np.random.seed(0)
    item = dataset[0]
    sample = item['data_samples']
    assert item['inputs'].shape == (3, 896, 896)
    label = sample.gt_sem_seg.data[0].numpy()
    edge = sample.gt_edge_map.data[0].numpy()
    assert set(np.unique(label)) == {0, 8, 9}
    assert set(np.unique(edge)) == {0, 1}
    # computed after the flips/rotations, on the label that is trained on
    np.testing.assert_array_equal(edge, boundary_from_label(label))

    val = cfg.val_dataloader.dataset.copy()
    val.pop('type')
    val.update(data_root=out)
    dataset = iSAIDDataset(**val)
    names = [
        osp.basename(dataset.get_data_info(i)['img_path'])
        for i in range(len(dataset))
    ]
    assert names == [
        'P0003_0_896_0_896.png', 'P0003_0_896_251_1147.png',
        'P0003_127_1023_0_896.png', 'P0003_127_1023_251_1147.png', 'P0004.png'
    ]
    item = dataset[names.index('P0004.png')]  # kept whole
    assert item['inputs'].shape == (3, 896, 896)
    assert item['data_samples'].gt_sem_seg.data.shape == (1, 1464, 824)
    assert 'gt_edge_map' not in item['data_samples']


def test_config_draws_the_8_square_symmetries_uniformly(pipelines):
    """Official: hflip(0.5), vflip(0.5), rotate k*90 (k uniform): each of the
    8 symmetries of the square with probability 1/8. The config's
    RandomFlip + RandomRotFlip must draw the same distribution."""
    import random
    steps = pipelines.train_pipeline
    assert [s['type'] for s in steps[3:5]] == ['RandomFlip', 'RandomRotFlip']
    flips = Compose(steps[3:5])
    square = np.arange(9, dtype=np.uint8).reshape(3, 3)
    symmetries = set()
    for k in range(4):
        for m in (square, square.T):
            symmetries.add(np.rot90(m, k).tobytes())
    assert len(symmetries) == 8
    random.seed(0)
    np.random.seed(0)
    counts = {}
    n = 4000
    for _ in range(n):
        out = flips(
            dict(
                img=square.copy(),
                gt_seg_map=square.copy(),
                seg_fields=['gt_seg_map']))
        assert (out['img'] == out['gt_seg_map']).all()
        key = np.ascontiguousarray(out['img']).tobytes()
        counts[key] = counts.get(key, 0) + 1
    assert set(counts) == symmetries
    # binomial(4000, 1/8): sd 21; 5 sd from 500
    assert all(abs(c - n / 8) < 105 for c in counts.values()), counts
