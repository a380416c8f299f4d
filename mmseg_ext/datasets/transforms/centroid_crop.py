"""Random crop covering a class centroid (official class-uniform crops)."""
import numpy as np
from mmseg.datasets.transforms import RandomCrop
from mmseg.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CentroidRandomCrop(RandomCrop):
    """mmseg's ``RandomCrop``, but covering ``crop_centroid`` when set.

    The crop of lxtGH/SFSegNets ``transforms/joint_transforms.py``
    (``RandomSizeAndCrop`` -> ``RandomCrop`` with a centroid): the centroid
    (x, y) of the original image is scaled by the resize factor
    (``int(c * scale)``), the crop's left edge is drawn uniformly from
    ``[x - crop_w, x]`` (top edge likewise) and clamped into the image, so
    the crop holds the centroid. Samples without a centroid (``None`` or
    key absent) are cropped as ``RandomCrop`` does. Where the image is
    smaller than the crop the crop is the image (the data preprocessor pads
    it bottom/right; the official code pads both sides before cropping).

    Required keys: ``img``, ``gt_seg_map``; optional ``crop_centroid``,
    ``scale_factor`` (w, h) from a preceding resize.

    Args:
        crop_size (tuple[int, int]): (h, w) of the crop.
        cat_max_ratio (float): As ``RandomCrop``, used only without a
            centroid. Default: 1.0 (off, as the official crop).
        ignore_index (int): As ``RandomCrop``. Default: 255.
    """

    def crop_bbox(self, results: dict) -> tuple:
        centroid = results.get('crop_centroid')
        if centroid is None:
            return super().crop_bbox(results)
        sw, sh = results.get('scale_factor', (1.0, 1.0))
        cx, cy = int(centroid[0] * sw), int(centroid[1] * sh)
        h, w = results['img'].shape[:2]
        th, tw = self.crop_size
        x1 = min(max(w - tw, 0), max(0, np.random.randint(cx - tw, cx + 1)))
        y1 = min(max(h - th, 0), max(0, np.random.randint(cy - th, cy + 1)))
        return y1, y1 + th, x1, x1 + tw
