"""Epoch-by-epoch class-uniform sampler (official SFNet training)."""
import math
from typing import Iterator, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmseg.registry import DATA_SAMPLERS
from torch.utils.data import Sampler

from ..class_uniform import ClassUniformDataset, build_epoch


@DATA_SAMPLERS.register_module()
class ClassUniformSampler(Sampler):
    """Draw each epoch of a :class:`ClassUniformDataset` as the official
    ``build_epoch`` (lxtGH/SFSegNets ``datasets/uniform.py``, called before
    every epoch by ``train.py``).

    An epoch holds ``N - num_per_class * num_classes`` whole images drawn at
    random plus ``num_per_class = int(N * class_uniform_pct / num_classes)``
    centroid items per class that has centroids (N images), shuffled (the
    official loader shuffles), then split over ranks as mmengine's
    ``DefaultSampler`` does (padded by repetition to a multiple of the world
    size, rank r takes every world-size-th item from r).

    Args:
        dataset (ClassUniformDataset): The wrapped dataset.
        class_uniform_pct (float): Official ``--class_uniform_pct``, in
            [0, 1]. Default: 0.5.
        seed (int, optional): Base seed, synchronised across ranks; the
            epoch is drawn with ``seed + epoch``.

    Raises:
        TypeError: If ``dataset`` is not a :class:`ClassUniformDataset`.
        ValueError: If ``class_uniform_pct`` is outside [0, 1].
    """

    def __init__(self,
                 dataset: ClassUniformDataset,
                 class_uniform_pct: float = 0.5,
                 seed: Optional[int] = None):
        if not isinstance(dataset, ClassUniformDataset):
            raise TypeError('ClassUniformSampler needs a ClassUniformDataset '
                            f'(train_dataloader.dataset), got '
                            f'{type(dataset).__name__}')
        if not 0.0 <= class_uniform_pct <= 1.0:
            raise ValueError('class_uniform_pct must be in [0, 1], got '
                             f'{class_uniform_pct}')
        self.dataset = dataset
        self.class_uniform_pct = class_uniform_pct
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        n = dataset.num_images
        per_class = int(n * class_uniform_pct / dataset.num_classes)
        present = sum(1 for ids in dataset.class_ids.values() if ids)
        self.epoch_length = n - per_class * dataset.num_classes + \
            per_class * present
        self.num_samples = math.ceil(self.epoch_length / self.world_size)

    def epoch_items(self, epoch: int) -> list:
        """The whole (all-rank) shuffled item list of ``epoch``."""
        rng = np.random.RandomState(self.seed + epoch)
        items = build_epoch(
            list(range(self.dataset.num_images)), self.dataset.class_ids,
            self.dataset.num_classes, self.class_uniform_pct, rng)
        return [items[i] for i in rng.permutation(len(items))]

    def __iter__(self) -> Iterator[int]:
        items = self.epoch_items(self.epoch)
        total = self.num_samples * self.world_size
        items = (items * math.ceil(total / len(items)))[:total]
        return iter(items[self.rank:total:self.world_size])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Called by mmengine's train loops before each epoch."""
        self.epoch = epoch
