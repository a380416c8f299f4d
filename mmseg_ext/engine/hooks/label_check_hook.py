"""Check every batch's label values against the model's classes.

Why a hook: the check needs the model's ``num_classes`` and
``ignore_index`` (the dataset does not know them) and must cover every
config, whatever its heads and evaluator. mmseg's heads (PSPNet, DeepLabv3,
PointRend) fail on a value outside the classes with ``IndexError: Target
200 is out of bounds`` naming no file (CPU) or a device-side assert (CUDA);
mmseg's ``IoUMetric`` silently drops such pixels, so ``mim test`` prints a
lower mIoU and exits 0. One entry in ``configs/_base_/default_runtime.py``'s
``custom_hooks`` runs
:func:`~mmseg_ext.models.utils.label_check.check_seg_labels` before each
training, validation and test iteration: the one label-value check (the
heads and losses, ours as mmseg's, do not check again). Code that calls
``model.loss`` without a Runner checks its batch the same way with
:func:`check_batch_labels`.

Sizes and empty splits are checked where the samples load
(:mod:`mmseg_ext.datasets.checked`).
"""
from typing import Optional, Sequence, Tuple

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmseg.registry import HOOKS
from torch import nn

from ...models.utils.label_check import check_seg_labels


def model_label_space(model: nn.Module) -> Optional[Tuple[int, int]]:
    """``(num_classes, ignore_index)`` of ``model``'s decode head, or None.

    A cascade's list of decode heads (PointRend) gives its first head's;
    every head of a cascade predicts the same classes. Model wrappers (DDP)
    and mmengine's ``BaseTTAModel`` (``--tta``) are unwrapped; a model
    without a head of its own that states ``num_classes`` itself (the
    backend segmentor of ``--backend``) gives that, with ``ignore_index``
    255 unless it states one.
    """
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    head = getattr(model, 'decode_head', None)
    if isinstance(head, (nn.ModuleList, list, tuple)):
        head = head[0] if len(head) else None
    if head is None or not hasattr(head, 'num_classes'):
        head = model
    if not hasattr(head, 'num_classes'):
        return None
    return int(head.num_classes), int(getattr(head, 'ignore_index', 255))


def _flat_samples(samples: Sequence) -> list:
    """``data_samples`` as one list: a ``--tta`` batch nests one list of
    augmented samples per image."""
    flat = []
    for s in samples:
        if isinstance(s, (list, tuple)):
            flat.extend(_flat_samples(s))
        else:
            flat.append(s)
    return flat


def _label_space(model: nn.Module) -> Tuple[int, int]:
    """:func:`model_label_space`, or TypeError when there is none."""
    space = model_label_space(model)
    if space is None:
        raise TypeError(
            f'LabelCheckHook: {type(model).__name__} has no decode_head '
            'with num_classes; remove the hook from custom_hooks for such a '
            'model')
    return space


def _check_samples(samples: Sequence, space: Tuple[int, int]) -> None:
    labelled = [s for s in _flat_samples(samples) if 'gt_sem_seg' in s]
    if labelled:
        check_seg_labels(labelled, *space)


def check_batch_labels(model: nn.Module, data_samples: Sequence) -> None:
    """Check a batch against ``model``'s classes, as
    :class:`LabelCheckHook` does before each iteration (for ``model.loss``
    called without a Runner: the heads do not check).

    Args:
        model (nn.Module): A segmentor (see :func:`model_label_space`).
        data_samples (Sequence[SegDataSample]): The batch's samples; those
            without ``gt_sem_seg`` are skipped, ``--tta`` lists flattened.

    Raises:
        TypeError: If ``model`` has no decode head with ``num_classes``.
        ValueError: As
            :func:`~mmseg_ext.models.utils.label_check.check_seg_labels`,
            naming each file and its offending values.
    """
    _check_samples(data_samples, _label_space(model))


@HOOKS.register_module()
class LabelCheckHook(Hook):
    """Refuse a batch whose label maps hold ids that are no class.

    Runs before each train, val and test iteration on the batch's
    ``data_samples`` that carry ``gt_sem_seg`` (a test split without
    annotations is skipped). The error names each file
    (``metainfo['seg_map_path']``) and its offending values.

    Raises:
        ValueError: (before the iteration) as
            :func:`~mmseg_ext.models.utils.label_check.check_seg_labels`.
        TypeError: (before the run) if the model has no decode head with
            ``num_classes``.
    """
    priority = 'HIGH'

    def before_run(self, runner) -> None:
        self._space = _label_space(runner.model)

    def _check(self, data_batch) -> None:
        _check_samples((data_batch or {}).get('data_samples') or [],
                       self._space)

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(data_batch)

    def before_val_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(data_batch)

    def before_test_iter(self, runner, batch_idx, data_batch=None) -> None:
        self._check(data_batch)
