"""Inria Aerial Image Labeling (Maggiori et al., IGARSS 2017), as ISDNet uses
it."""
from mmseg.registry import DATASETS

from .converted_tiles import ConvertedTilesDataset


@DATASETS.register_module()
class InriaAerialDataset(ConvertedTilesDataset):
    """Inria Aerial building footprints, 5000x5000 GeoTIFF tiles at 30 cm.

    Reproduces ``InriaAerialDataset`` of ISDNet (cedricgsh/ISDNet
    ``mmseg/datasets/inria_aerial.py``): classes ``background`` (0) and
    ``building`` (1), images ``<tile>_sat.tif`` (3-band uint8 GeoTIFF, read by
    mmseg's ``LoadImageFromFile`` through OpenCV's libtiff like any image; the
    geo-referencing tags are ignored, so no GDAL is needed) and annotations
    ``<tile>_mask.png`` holding 0/1, ``reduce_zero_label=False``.

    The released ground truth is 0/255 GeoTIFF; convert it and lay the tiles
    out by FCtL's split (``txt_1/``: 126 train / 27 val / 27 test tiles, all
    from the official ``train/`` folder, the only one with ground truth) with
    ``tools/dataset_converters/inria.py``, which writes::

        data_root/img_dir/{train,val,test}/<tile>_sat.tif
        data_root/ann_dir/{train,val,test}/<tile>_mask.png

    The published Inria figure (ISDNet README: 74.39) is the ``building``
    IoU, not the mean over both classes.

    Arguments and errors as :class:`ConvertedTilesDataset`, with
    ``img_suffix='_sat.tif'``, ``seg_map_suffix='_mask.png'`` and
    ``reduce_zero_label=False``: a missing or empty image folder
    raises FileNotFoundError naming the folder and the converter.
    """
    IMG_SUFFIX = '_sat.tif'
    CONVERTER = 'tools/dataset_converters/inria.py'
    METAINFO = dict(
        classes=('background', 'building'),
        palette=[[0, 0, 0], [255, 255, 255]])
