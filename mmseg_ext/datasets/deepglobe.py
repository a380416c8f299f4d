"""DeepGlobe Land Cover (Demir et al., CVPRW 2018), as ISDNet uses it."""
from mmseg.registry import DATASETS

from .converted_tiles import ConvertedTilesDataset


@DATASETS.register_module()
class DeepGlobeDataset(ConvertedTilesDataset):
    """DeepGlobe Land Cover Classification dataset, 2448x2448 tiles at 50 cm.

    Reproduces ``DeepGlobeDataset`` of ISDNet (cedricgsh/ISDNet
    ``mmseg/datasets/deepglobe.py``): 7 classes with ``unknown`` first as
    class 0, the official colour palette, images ``<id>_sat.jpg`` and
    annotations ``<id>_mask.png`` holding class ids 0-6 (one uint8 channel),
    ``reduce_zero_label=False`` so ``unknown`` is trained and evaluated like
    any other class.

    The released masks are RGB colour codes; turn them into id maps (each
    channel binarised at 128, the challenge's rule) and lay the tiles out by
    the FCtL/GLNet split (454 train / 207 val / 142 test tiles, all from the
    official ``train/`` folder, the only one with masks) with
    ``tools/dataset_converters/deepglobe.py``, which writes::

        data_root/img_dir/{train,val,test}/<id>_sat.jpg
        data_root/ann_dir/{train,val,test}/<id>_mask.png

    Note on the metric: the published DeepGlobe mIoU (ISDNet 73.30) is the mean
    over the six land-cover classes without ``unknown`` (GLNet/FCtL
    ``np.mean(iou[1:])``; the per-class IoUs in ISDNet's README average to
    73.3), while mmseg's ``IoUMetric`` averages all seven. Read the
    per-class table to compare.

    Arguments and errors as :class:`ConvertedTilesDataset`, with
    ``img_suffix='_sat.jpg'``, ``seg_map_suffix='_mask.png'`` and
    ``reduce_zero_label=False`` (``unknown`` is class 0, trained and
    evaluated): a missing or empty image folder raises FileNotFoundError
    naming the folder and the converter.
    """
    IMG_SUFFIX = '_sat.jpg'
    CONVERTER = 'tools/dataset_converters/deepglobe.py'
    METAINFO = dict(
        classes=('unknown', 'urban', 'agriculture', 'rangeland', 'forest',
                 'water', 'barren'),
        palette=[[0, 0, 0], [0, 255, 255], [255, 255, 0], [255, 0, 255],
                 [0, 255, 0], [0, 0, 255], [255, 255, 255]])
