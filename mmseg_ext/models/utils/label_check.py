"""Fail fast, naming the file, on label maps with out-of-range values.

The one label check function of the package, used in two places with one
message: :class:`~mmseg_ext.engine.hooks.LabelCheckHook` (in every config's
``custom_hooks``) runs it before each train/val/test iteration, whatever the
heads (mmseg's PSPNet/DeepLabv3/PointRend heads included) and evaluator; and
every decode head of ``mmseg_ext``
(``SFHead``, ``PFHead``, ``GloReHead``, ``GINetHead``, ``RefineASPPHead``,
``ISDHead``) mixes in :class:`LabelCheckMixin`, so each training batch is
checked once (one host sync), in the decode head's :meth:`loss`, before any
loss reads the labels. The losses (e.g. ``OhemCrossEntropyLoss``) and the
auxiliary heads do not check again. The head-level check stays for direct
``model.loss`` calls without a Runner (scripts, tests, benchmarks); under a
Runner the hook reports first, with the same text.
"""
from typing import Sequence

import torch
from mmseg.structures import SegDataSample
from mmseg.utils import ConfigType, SampleList
from torch import Tensor


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


class LabelCheckMixin:
    """Decode-head mixin: :meth:`loss` runs :func:`check_seg_labels` first.

    Put it before the head base:
    ``class SFHead(LabelCheckMixin, BaseDecodeHead)``. mmseg's
    ``EncoderDecoder`` calls the decode head's ``loss`` before the auxiliary
    heads', so the check precedes every cross-entropy of the batch.
    """

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: SampleList,
             train_cfg: ConfigType) -> dict:
        """As :meth:`BaseDecodeHead.loss`, after checking the label values.

        Raises:
            ValueError: If a label map holds ids outside the classes and
                ``ignore_index``; the message names the file.
        """
        check_seg_labels(batch_data_samples, self.num_classes,
                         self.ignore_index)
        return super().loss(inputs, batch_data_samples, train_cfg)
