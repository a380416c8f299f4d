"""Pictures of what a trained model segments: image | ground truth |
prediction, one row per image, in the dataset's palette with a legend.

The colouring is mmseg's (``SegLocalVisualizer``'s palette from the
dataset's ``metainfo``); the grid and the legend are matplotlib's, drawn on
a ``Figure`` without pyplot state, so the same inputs give the same PNG.
"""
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmseg.apis import inference_model
from PIL import Image

#: Colour of ignored pixels (255) in the ground-truth panels.
IGNORE_COLOUR = (0, 0, 0)


def predict_label_maps(model, images: Sequence[str]) -> List[np.ndarray]:
    """Class-index maps of ``model`` for ``images``, each (H, W) int64 at
    the image's own size (mmseg 1.2.2 ``inference_model``: the config's
    test pipeline, the model's ``test_cfg``).

    Args:
        model: An mmseg segmentor with ``cfg`` (``mmseg_ext.apis.
            build_model``).
        images: Image files.

    Raises:
        FileNotFoundError: If an image does not exist (naming it).
    """
    maps = []
    for path in images:
        if not osp.isfile(path):
            raise FileNotFoundError(f'image {path} does not exist')
        sample = inference_model(model, path)
        maps.append(sample.pred_sem_seg.data[0].cpu().numpy())
    return maps


def colourise(label: np.ndarray,
              palette: Sequence[Sequence[int]]) -> np.ndarray:
    """(H, W) class ids -> (H, W, 3) uint8 RGB; ids outside the palette
    (255, ignored) get :data:`IGNORE_COLOUR`."""
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = IGNORE_COLOUR
    lut[:len(palette)] = np.asarray(palette, np.uint8)
    return lut[np.clip(label, 0, 255).astype(np.uint8)]


def save_prediction_panels(images: Sequence[str],
                           predictions: Sequence[np.ndarray],
                           out: str,
                           classes: Sequence[str],
                           palette: Sequence[Sequence[int]],
                           ground_truths: Optional[Sequence[str]] = None,
                           title: Optional[str] = None,
                           label_map: Optional[dict] = None) -> str:
    """Write a PNG with one row per image: image | ground truth |
    prediction, and a legend of ``classes`` in ``palette``.

    Args:
        images: Image files (RGB or BGR on disk; shown as stored, RGB).
        predictions: (H, W) class-index maps, one per image, at the image's
            size (:func:`predict_label_maps`).
        out: The PNG to write (written whole: a temporary name, then a
            rename).
        classes / palette: The dataset's ``metainfo`` (RGB triplets).
        ground_truths: Label-map files, one per image, or None (two
            columns).
        title: Figure title (e.g. the checkpoint and its mIoU).
        label_map: ``{stored id: class id}`` applied to the ground truth
            (the dataset's ``label_map``, e.g. CamVid's Void 11 -> 255).

    Returns:
        str: ``out``.

    Raises:
        ValueError: If the counts differ or a prediction's size is not its
            image's (naming the image).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    from mmseg_ext.utils.atomic_io import atomic_file

    if len(predictions) != len(images) or (ground_truths is not None and
                                           len(ground_truths) != len(images)):
        raise ValueError(f'{len(images)} images, {len(predictions)} '
                         'predictions and '
                         f'{len(ground_truths or [])} ground truths: one '
                         'of each per image')
    cols = 3 if ground_truths is not None else 2
    fig = Figure(figsize=(4.0 * cols, 3.1 * len(images) + 0.9))
    axes = fig.subplots(len(images), cols, squeeze=False)
    heads = (['image', 'ground truth', 'prediction']
             if cols == 3 else ['image', 'prediction'])
    for row, (path, pred) in enumerate(zip(images, predictions)):
        img = np.asarray(Image.open(path).convert('RGB'))
        if pred.shape != img.shape[:2]:
            raise ValueError(f'prediction of {path} is {pred.shape}, the '
                             f'image {img.shape[:2]} (H, W)')
        panels = [img]
        if ground_truths is not None:
            stored = np.asarray(Image.open(ground_truths[row]))
            gt = stored.copy()
            for old, new in (label_map or {}).items():
                gt[stored == old] = new
            panels.append(colourise(gt, palette))
        panels.append(colourise(pred, palette))
        for col, panel in enumerate(panels):
            ax = axes[row][col]
            ax.imshow(panel)
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(heads[col])
        axes[row][0].set_ylabel(osp.basename(path), fontsize=8)
    handles = [
        Patch(color=np.asarray(c) / 255.0, label=name)
        for name, c in zip(classes, palette)
    ] + [Patch(color=np.asarray(IGNORE_COLOUR) / 255.0, label='ignored')]
    fig.legend(
        handles=handles,
        loc='lower center',
        ncol=min(6, len(handles)),
        fontsize=8,
        frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97 if title else 1))
    with atomic_file(out, 'wb') as f:
        fig.savefig(f, format='png', dpi=80, metadata={'Software': None})
    return out


def image_pairs(data_root: str,
                split: str,
                names: Sequence[str],
                ann_suffix: str = 'annot') -> Tuple[List[str], List[str]]:
    """``(images, label maps)`` of frames ``names`` in a CamVid-style
    layout: ``data_root/<split>/<name>`` and
    ``data_root/<split><ann_suffix>/<name>``."""
    images = [osp.join(data_root, split, n) for n in names]
    labels = [osp.join(data_root, split + ann_suffix, n) for n in names]
    return images, labels
