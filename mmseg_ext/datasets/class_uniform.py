"""Class-uniform sampling of the official SFNet training (centroid table).

lxtGH/SFSegNets ``datasets/uniform.py`` (from NVIDIA's semantic-segmentation
code) and ``datasets/cityscapes.py:CityScapesUniform``: every label map is cut
into whole ``tile_size`` x ``tile_size`` tiles (``H // tile`` x ``W // tile``
of them, from the top-left; a map smaller than a tile has none); for every
class present in a tile, the tile's centre of mass of that class (truncated
to int, in full-image pixels) is one *centroid*. Each epoch then holds
``len(images)`` items: ``int(len * pct / num_classes)`` centroids drawn per
class that has any, the rest whole images drawn at random; a centroid item's
crop is taken so that it covers the centroid
(:class:`~mmseg_ext.datasets.transforms.CentroidRandomCrop`).

:class:`ClassUniformDataset` holds the static table (images, then centroids)
and :class:`~mmseg_ext.datasets.samplers.ClassUniformSampler` draws the
epochs, so dataloader workers never need the epoch number.
"""
import copy
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS
from scipy import ndimage

Centroid = Tuple[int, int]  # (x, y), pixels of the full label map


def class_centroids(label: np.ndarray, num_classes: int,
                    tile_size: int) -> Dict[int, List[Centroid]]:
    """Centroids of every class in every whole tile of ``label``.

    The official ``class_centroids_image`` rule (module docstring).

    Args:
        label (np.ndarray): (H, W) train-id map (ignore value >= num_classes).
        num_classes (int): Classes 0 .. num_classes - 1 are looked for.
        tile_size (int): Tile side in pixels.

    Returns:
        dict: class id -> list of (x, y) centroids, tiles in row-major order.

    Raises:
        ValueError: If ``label`` is not 2-D or ``tile_size`` < 1.
    """
    if label.ndim != 2:
        raise ValueError(f'label must be (H, W), got shape {label.shape}')
    if tile_size < 1:
        raise ValueError(f'tile_size must be >= 1, got {tile_size}')
    out: Dict[int, List[Centroid]] = defaultdict(list)
    h, w = label.shape
    for y0 in range(0, (h // tile_size) * tile_size, tile_size):
        for x0 in range(0, (w // tile_size) * tile_size, tile_size):
            patch = label[y0:y0 + tile_size, x0:x0 + tile_size]
            for cls in np.unique(patch):
                if cls >= num_classes:
                    continue
                cy, cx = ndimage.center_of_mass(patch == cls)
                out[int(cls)].append((int(cx) + x0, int(cy) + y0))
    return dict(out)


def random_sampling(items: Sequence[int], num: int,
                    rng: np.random.RandomState) -> List[int]:
    """``num`` items of a shuffled ``items``, wrapping around when ``num`` >
    ``len(items)`` (official ``random_sampling``)."""
    order = rng.permutation(len(items))
    return [items[order[i % len(items)]] for i in range(num)]


def build_epoch(image_ids: Sequence[int], class_ids: Dict[int, Sequence[int]],
                num_classes: int, pct: float,
                rng: np.random.RandomState) -> List[int]:
    """One epoch of item ids, the official ``build_epoch`` rule.

    Args:
        image_ids: Ids of the whole-image items (one per image).
        class_ids: class -> ids of its centroid items.
        num_classes (int): Number of classes.
        pct (float): Share of class-uniform items, in [0, 1].
        rng: Random state.

    Returns:
        list[int]: ``len(image_ids) - num_per_class * num_classes`` random
        image ids, then ``num_per_class`` centroid ids per class that has
        centroids (unshuffled), ``num_per_class = int(len * pct /
        num_classes)``.
    """
    num_per_class = int(len(image_ids) * pct / num_classes)
    num_rand = len(image_ids) - num_per_class * num_classes
    items = random_sampling(image_ids, num_rand, rng)
    for cls in range(num_classes):
        if class_ids.get(cls):
            items += random_sampling(class_ids[cls], num_per_class, rng)
    return items


@DATASETS.register_module()
class ClassUniformDataset:
    """Dataset wrapper with the official class-uniform crop centroids.

    Items ``0 .. N-1`` are the N images of ``dataset`` as they are; items
    ``N ..`` are (image, class, centroid) entries, for which the sample's
    ``crop_centroid`` ((x, y) in the original image's pixels) and
    ``centroid_class`` are set before the pipeline runs (whole images get
    ``None``). Pair it with ``ClassUniformSampler``, which draws each epoch
    by the official rule; the pipeline must crop with
    ``CentroidRandomCrop``.

    The centroids are computed at construction from every label map (one
    read per image, ~0.05 s for a 2048x1024 Cityscapes map).

    Args:
        dataset (dict | BaseDataset): The wrapped segmentation dataset.
        tile_size (int): Official ``--class_uniform_tile``. Default: 1024.
        num_classes (int, optional): Default: ``len(metainfo['classes'])``.

    Raises:
        ValueError: If a label map cannot be read (naming the file).
    """

    def __init__(self,
                 dataset: Union[dict, BaseDataset],
                 tile_size: int = 1024,
                 num_classes: Optional[int] = None):
        self.dataset = DATASETS.build(dataset) if isinstance(dataset,
                                                             dict) else dataset
        self.metainfo = self.dataset.metainfo
        self.tile_size = tile_size
        self.num_classes = num_classes or len(self.metainfo['classes'])
        self.num_images = len(self.dataset)
        self.entries: List[Tuple[int, Optional[int], Optional[Centroid]]] = [
            (i, None, None) for i in range(self.num_images)
        ]
        self.class_ids: Dict[int, List[int]] = defaultdict(list)
        for i in range(self.num_images):
            for cls, points in sorted(self._centroids(i).items()):
                for point in points:
                    self.class_ids[cls].append(len(self.entries))
                    self.entries.append((i, cls, point))
        self.class_ids = dict(self.class_ids)

    def _centroids(self, index: int) -> Dict[int, List[Centroid]]:
        info = self.dataset.get_data_info(index)
        path = info['seg_map_path']
        try:
            label = mmcv.imread(path, flag='unchanged', backend='pillow')
        except Exception as err:  # noqa: BLE001 - re-raised with the path
            raise ValueError(f'cannot read label map {path}: {err}') from err
        if label is None or label.ndim != 2:
            raise ValueError(f'label map {path} is not a single-channel '
                             'image')
        label = label.astype(np.int64)
        if info.get('reduce_zero_label'):
            label[label == 0] = 256
            label = label - 1
        for old, new in (info.get('label_map') or {}).items():
            label[label == old] = new
        return class_centroids(label, self.num_classes, self.tile_size)

    def __len__(self) -> int:
        return len(self.entries)

    def get_data_info(self, idx: int) -> dict:
        """The wrapped dataset's info of the item's image, with
        ``crop_centroid`` and ``centroid_class`` set."""
        image, cls, point = self.entries[idx]
        info = copy.deepcopy(self.dataset.get_data_info(image))
        info['crop_centroid'] = point
        info['centroid_class'] = cls
        return info

    def __getitem__(self, idx: int) -> dict:
        return self.dataset.pipeline(self.get_data_info(idx))
