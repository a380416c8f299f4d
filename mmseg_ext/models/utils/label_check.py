"""Fail fast, naming the file, on label maps with out-of-range values.

The one label check function of the package. It runs in one place:
:class:`~mmseg_ext.engine.hooks.LabelCheckHook` (in every config's
``custom_hooks``) calls it before each train/val/test iteration, whatever
the heads (ours and mmseg's) and evaluator, so each batch is checked once
(one host sync). The heads and losses do not check, as mmseg's do not;
sizes and empty splits are checked where the samples load
(:mod:`mmseg_ext.datasets.checked`).
"""
from typing import Sequence

import torch
from mmseg.structures import SegDataSample


def check_seg_labels(batch_data_samples: Sequence[SegDataSample],
                     num_classes: int, ignore_index: int) -> None:
    """Raise if a ground-truth map holds a value that is no class id.

    Cross-entropy on such a value either raises an index error that names no
    file (CPU) or a device-side assert / NaN (CUDA); this names the label map.

    Args:
        batch_data_samples: Samples with ``gt_sem_seg`` (1, H, W) and the
            ``seg_map_path`` meta key (mmseg's loaders set it).
        num_classes (int): Valid ids are ``0 .. num_classes - 1``.
        ignore_index (int): The void id, also allowed.

    Raises:
        ValueError: Naming the label file(s) and the offending values.
    """
    problems = []
    for sample in batch_data_samples:
        label = sample.gt_sem_seg.data
        bad = (label != ignore_index) & ((label < 0) | (label >= num_classes))
        if bool(bad.any()):
            values = torch.unique(label[bad]).tolist()[:10]
            path = sample.metainfo.get('seg_map_path', '<unknown file>')
            problems.append(f'{path}: values {values}')
    if problems:
        raise ValueError(
            f'label maps hold ids outside [0, {num_classes}) that are not '
            f'ignore_index={ignore_index} (wrong label files, e.g. labelIds '
            'instead of labelTrainIds, or reduce_zero_label?): ' +
            '; '.join(problems))
