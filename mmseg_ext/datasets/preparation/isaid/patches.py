"""Where PFNet cuts an iSAID image: patch windows and their names."""
from typing import List, Tuple

Window = Tuple[int, int, int, int]  # (y1, y2, x1, x2), end exclusive


def patch_windows(height: int,
                  width: int,
                  patch_size: int = 896,
                  stride: int = 512) -> List[Window]:
    """Windows PFNet cuts from an image of ``height`` x ``width`` pixels.

    Reproduces ``tools/split_iSAID.py`` (lxtGH/PFSegNets, after the iSAID
    devkit): if the image is larger than ``patch_size`` on both sides,
    windows start at ``x, y`` in ``range(0, size, stride)`` (x outer, y
    inner); a window that would end past the border is shifted back to end
    on it; repeated windows (the official script rewrites the same file)
    are listed once. Otherwise the image is kept whole: one window covering
    it.

    Args:
        height (int): Image height in pixels.
        width (int): Image width in pixels.
        patch_size (int): Side of the square patch. Default: 896.
        stride (int): Step between window starts (patch_size - overlap).
            Default: 512.

    Returns:
        list[tuple[int, int, int, int]]: ``(y1, y2, x1, x2)`` per window,
        end exclusive, in the official order.

    Raises:
        ValueError: If a size is not positive or ``stride`` is not in
            [1, patch_size] (a larger stride would leave gaps).
    """
    if min(height, width, patch_size) < 1:
        raise ValueError(f'sizes must be positive, got image {height}x'
                         f'{width}, patch {patch_size}')
    if not 1 <= stride <= patch_size:
        raise ValueError(
            f'stride must lie in [1, patch_size={patch_size}], got {stride}')
    if height <= patch_size or width <= patch_size:
        return [(0, height, 0, width)]
    windows: List[Window] = []
    for x in range(0, width, stride):
        x1 = min(x, width - patch_size)
        for y in range(0, height, stride):
            y1 = min(y, height - patch_size)
            window = (y1, y1 + patch_size, x1, x1 + patch_size)
            if window not in windows:
                windows.append(window)
    return windows


def patch_stem(stem: str, window: Window, height: int, width: int) -> str:
    """Output name (without suffix) of one window of image ``stem``.

    The official ``<stem>_<y1>_<y2>_<x1>_<x2>``, or ``stem`` itself for an
    image kept whole.
    """
    if window == (0, height, 0, width):
        return stem
    return '{}_{}_{}_{}_{}'.format(stem, *window)
