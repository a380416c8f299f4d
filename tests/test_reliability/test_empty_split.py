"""An empty image folder is refused when the dataset is built, naming the
folder, the suffix looked for and the split (before: mmengine's
``ValueError: need at least one array to concatenate``)."""
import copy

import pytest
from mmseg.registry import DATASETS

from tools.main_job.options import load_config
from tools.main_job.sfnet import R18

PC59 = ('configs/pspnet/'
        'pspnet_r101-d8-mg124_4xb4-25k_pascal-context-59-480x480.py')


@pytest.mark.parametrize('loader', ['train_dataloader', 'val_dataloader'])
def test_empty_cityscapes_folder(tmp_path, loader):
    (tmp_path / 'leftImg8bit' / 'train').mkdir(parents=True)
    ds = copy.deepcopy(load_config(R18)[loader].dataset)
    ds.data_root = str(tmp_path)
    ds.data_prefix = dict(
        img_path='leftImg8bit/train', seg_map_path='gtFine/train')
    with pytest.raises(FileNotFoundError) as e:
        DATASETS.build(ds)
    assert str(e.value) == (
        f"no *_leftImg8bit.png image in {tmp_path / 'leftImg8bit/train'}; "
        'check data_root, data_prefix.img_path and img_suffix '
        "(CheckedCityscapesDataset, split 'train')")


def test_empty_split_list_named(tmp_path):
    """Pascal Context reads the names from a split file: it is named."""
    voc = tmp_path / 'VOC2010'
    (voc / 'JPEGImages').mkdir(parents=True)
    (voc / 'ImageSets' / 'SegmentationContext').mkdir(parents=True)
    (voc / 'ImageSets' / 'SegmentationContext' / 'train.txt').write_text('')
    ds = copy.deepcopy(load_config(PC59).train_dataloader.dataset)
    ds.data_root = str(voc)
    with pytest.raises(FileNotFoundError) as e:
        DATASETS.build(ds)
    msg = str(e.value)
    assert msg.startswith(f'no *.jpg image in {voc / "JPEGImages"}; ')
    assert msg.endswith(
        "(CheckedPascalContextDataset59, split 'train' listed in "
        f'{voc / "ImageSets/SegmentationContext/train.txt"})')
