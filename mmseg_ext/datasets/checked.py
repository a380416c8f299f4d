"""Datasets that check their samples as they load them.

Why the dataset and not a pipeline entry or a hook: two faults are only
visible where the dataset works. An empty image folder breaks mmengine's
``BaseDataset`` at construction (``need at least one array to
concatenate``), before any hook runs; and a label map with a 1-px side is
squeezed by mmseg's ``LoadAnnotations`` into an array that crashes the next
transform, inside the dataloader, before a hook sees the batch. A dataset
owns its pipeline, so it inserts :class:`CheckLoadedSample` right after the
loading steps of whatever pipeline the config gives, and the shipped
pipelines (mmseg's bases included) stay as they are. The label *values*
need the model's ``num_classes`` / ``ignore_index`` and are checked by
:class:`~mmseg_ext.engine.hooks.LabelCheckHook`.

The shipped configs use the ``Checked*`` twins of mmseg's datasets through
``configs/_base_/datasets/`` (same arguments, same results), and our own
datasets (:class:`~.converted_tiles.ConvertedTilesDataset`) mix the checks
in directly.
"""
import os.path as osp
from typing import List

from mmseg.datasets import (CityscapesDataset, PascalContextDataset,
                            PascalContextDataset59, iSAIDDataset)
from mmseg.registry import DATASETS

from .transforms.sample_check import MIN_SIZE, CheckLoadedSample


def _is_loader(transform) -> bool:
    return type(transform).__name__.startswith('Load')


class SampleCheckMixin:
    """Dataset mixin: refuse an empty split and bad samples, naming files.

    Put it before the dataset base: ``class X(SampleCheckMixin,
    BaseSegDataset)``. After the base's ``__init__``, a
    :class:`CheckLoadedSample` is inserted after the last ``Load*`` step of
    the pipeline (none is added when the pipeline already has one).

    Class attributes:
        MIN_SIZE (int): Smallest image side accepted, px (32).

    Raises:
        FileNotFoundError: (at construction) if no image is found, naming
            the folder, the suffix and the split (the split list's name and
            path, or the folder's last part, e.g. ``'train'``).
        ValueError: (when a sample loads) see :func:`check_loaded_sample`.
    """
    MIN_SIZE = MIN_SIZE

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        steps = self.pipeline.transforms
        if not any(isinstance(t, CheckLoadedSample) for t in steps):
            loaders = [i for i, t in enumerate(steps) if _is_loader(t)]
            if loaders:
                steps.insert(loaders[-1] + 1,
                             CheckLoadedSample(min_size=self.MIN_SIZE))

    def empty_hint(self) -> str:
        """What the empty-split error tells the user to do."""
        return 'check data_root, data_prefix.img_path and img_suffix'

    def load_data_list(self) -> List[dict]:
        """The base's sample list; raise if it is empty (class doc)."""
        data_list = super().load_data_list()
        if not data_list:
            img_dir = self.data_prefix.get('img_path', '')
            if self.ann_file:
                split = (
                    f"split '{osp.splitext(osp.basename(self.ann_file))[0]}'"
                    f' listed in {self.ann_file}')
            else:
                split = f"split '{osp.basename(osp.normpath(img_dir))}'"
            raise FileNotFoundError(
                f'no *{self.img_suffix} image in {img_dir}; '
                f'{self.empty_hint()} ({type(self).__name__}, {split})')
        return data_list


@DATASETS.register_module()
class CheckedCityscapesDataset(SampleCheckMixin, CityscapesDataset):
    """mmseg's ``CityscapesDataset`` with :class:`SampleCheckMixin`."""


@DATASETS.register_module()
class CheckedPascalContextDataset(SampleCheckMixin, PascalContextDataset):
    """mmseg's ``PascalContextDataset`` with :class:`SampleCheckMixin`."""


@DATASETS.register_module()
class CheckedPascalContextDataset59(SampleCheckMixin, PascalContextDataset59):
    """mmseg's ``PascalContextDataset59`` with :class:`SampleCheckMixin`."""


@DATASETS.register_module()
class CheckediSAIDDataset(SampleCheckMixin, iSAIDDataset):
    """mmseg's ``iSAIDDataset`` with :class:`SampleCheckMixin`."""
