"""Boundary ground truth of PFNet's edge loss (contours of the label map).

PointFlow (Li et al., CVPR 2021, arXiv 2103.06564, Sec. 3.3) supervises the
edge maps predicted inside its PointFlow modules with a binary boundary map.
The official code derives that map from the label with OpenCV contours:
``datasets/iSAID.py:ISAIDDataset.get_boundary`` in lxtGH/PFSegNets (same in
the Jittor port Jittor/PFSegNets-Jittor), called in ``__getitem__`` on the
mask after all joint transforms (resize, flips, 90-degree rotations) with
``thicky=8`` (``train.py --thicky`` default). This module reproduces that rule;
:func:`boundary_from_label` is the pure function and
:class:`GenerateBoundary` the pipeline transform.
"""
from typing import Dict, Optional

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmseg.registry import TRANSFORMS


def boundary_from_label(label: np.ndarray,
                        thickness: int = 8,
                        ignore_index: Optional[int] = 255) -> np.ndarray:
    """Binary boundary map of a label map, as the official PFNet computes it.

    The official ``get_boundary`` runs ``cv2.findContours`` directly on the
    uint8 label map with ``RETR_TREE`` and ``CHAIN_APPROX_SIMPLE`` and draws
    every contour (outer borders and holes) with value 1 and line thickness
    ``thicky`` onto a zero map. Because ``findContours`` binarises its input
    (every non-zero pixel is foreground), the boundaries are those between
    background (id 0) and the foreground classes taken together: two touching
    foreground classes get no boundary between them, and a foreground region
    that touches the image border gets one along the border (OpenCV treats
    the outside as zero). A constant background label gives all zeros; a
    constant foreground label gives a band along the image border. The line
    is centred on the contour pixels, so the band reaches about
    ``thickness // 2`` pixels to either side of the class border.

    Ignored pixels (``label == ignore_index``): the official iSAID labels
    have none (ids 0-15, and its transforms never pad), so there the result
    is exactly the official one. Where a pipeline does produce them (padding,
    arbitrary-angle rotation), they are treated like the outside of the
    image (as background when tracing contours) and set to ``ignore_index``
    in the output: the official edge loss (``loss.py:
    JointEdgeSegLightLossPfnet.bce2d``) gives targets > 1 zero weight, and
    mmseg's ``stack_batch`` pads ``gt_edge_map`` with ``seg_pad_val=255`` in
    the same way. Without ignored pixels the output is exactly {0, 1}.

    Args:
        label (np.ndarray): Label map of shape (H, W), integer class ids
            in [0, 255].
        thickness (int): Contour line thickness in pixels
            (``cv2.drawContours``). Official: 8. Default: 8.
        ignore_index (int, optional): Label of ignored pixels; None traces
            them like any other id (the literal official call). Default: 255.

    Returns:
        np.ndarray: uint8 map of shape (H, W): 1 on boundaries, 0 elsewhere,
        ``ignore_index`` where the label is ignored.

    Raises:
        ValueError: If ``label`` is not 2-D, holds ids outside [0, 255]
            (the official ``astype('uint8')`` would wrap them silently), or
            ``thickness`` is not a positive integer.
    """
    label = np.asarray(label)
    if label.ndim != 2:
        raise ValueError(f'label must have shape (H, W), got {label.shape}')
    if not isinstance(thickness, (int, np.integer)) or thickness < 1:
        raise ValueError(f'thickness must be a positive int, got {thickness}')
    if label.dtype != np.uint8:
        if label.size and (label.min() < 0 or label.max() > 255):
            raise ValueError(
                f'label ids must lie in [0, 255], got [{label.min()}, '
                f'{label.max()}]')
        label = label.astype(np.uint8)
    ignored = None
    if ignore_index is not None:
        ignored = label == ignore_index
        if ignored.any():
            label = np.where(ignored, 0, label).astype(np.uint8)
        else:
            ignored = None
    # the official call: every non-zero id is foreground, outer contours and
    # holes (RETR_TREE), drawn with value 1 and the given line thickness
    contours = cv2.findContours(
        np.ascontiguousarray(label), cv2.RETR_TREE,
        cv2.CHAIN_APPROX_SIMPLE)[-2]  # [-2]: OpenCV 3 returns 3 values
    boundary = np.zeros(label.shape, dtype=np.uint8)
    cv2.drawContours(boundary, contours, -1, 1, int(thickness))
    if ignored is not None:
        boundary[ignored] = ignore_index
    return boundary


@TRANSFORMS.register_module()
class GenerateBoundary(BaseTransform):
    """Add PFNet's boundary target ``gt_edge_map`` computed from the label.

    The boundary is the official PFNet rule (:func:`boundary_from_label`):
    contours of background versus foreground traced with OpenCV on the label
    map and drawn 8 pixels thick (lxtGH/PFSegNets ``datasets/iSAID.py:
    get_boundary``). The official dataset computes it on the mask after the
    joint (geometric) transforms, so place this transform after them, just
    before ``PackSegInputs``; ``PackSegInputs`` packs ``gt_edge_map`` into
    ``data_sample.gt_edge_map`` (int64, shape (1, H, W)).

    This differs from mmseg's ``GenerateEdge`` (CE2P), which marks pixels
    whose label differs from a neighbour's (including borders between two
    foreground classes, not the image border) and dilates them with a square
    kernel of ``edge_width`` (3); PFNet's loss was trained against the
    contour rule, so that is what is reproduced here.

    Required Keys:

    - gt_seg_map (np.ndarray): (H, W) label map.

    Added Keys:

    - gt_edge_map (np.ndarray): (H, W) uint8, 1 on boundaries, 0 elsewhere,
      ``ignore_index`` on ignored label pixels.

    Args:
        thickness (int): Contour line thickness in pixels. Official
            (``--thicky``): 8. Default: 8.
        ignore_index (int, optional): Ignored label id, traced as background
            and copied to the edge map; None for the literal official call.
            Default: 255.

    Raises:
        KeyError: If ``results`` has no ``gt_seg_map`` (the transform was
            placed before ``LoadAnnotations``).
    """

    def __init__(self,
                 thickness: int = 8,
                 ignore_index: Optional[int] = 255) -> None:
        super().__init__()
        if not isinstance(thickness, int) or thickness < 1:
            raise ValueError(
                f'thickness must be a positive int, got {thickness}')
        self.thickness = thickness
        self.ignore_index = ignore_index

    def transform(self, results: Dict) -> Dict:
        if 'gt_seg_map' not in results:
            raise KeyError(
                'GenerateBoundary needs results["gt_seg_map"]: put it after '
                'LoadAnnotations (and after the geometric transforms) in the '
                f'pipeline of {results.get("img_path", "this sample")}')
        results['gt_edge_map'] = boundary_from_label(results['gt_seg_map'],
                                                     self.thickness,
                                                     self.ignore_index)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(thickness={self.thickness}, '
                f'ignore_index={self.ignore_index})')
