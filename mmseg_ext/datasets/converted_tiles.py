"""Base of the datasets that a ``tools/dataset_converters`` script lays out."""
from typing import Optional

from mmseg.datasets import BaseSegDataset

from .checked import SampleCheckMixin


class ConvertedTilesDataset(SampleCheckMixin, BaseSegDataset):
    """:class:`mmseg.datasets.BaseSegDataset` with the sample checks of
    :class:`~.checked.SampleCheckMixin`; an empty image folder names the
    converter that fills it.

    mmseg already raises FileNotFoundError for a missing folder; an existing
    but empty one would otherwise fail in mmengine with no folder named.

    Subclasses set ``CONVERTER`` (the converter's path in the repository)
    and ``IMG_SUFFIX`` (the default ``img_suffix``).

    Args:
        img_suffix (str, optional): Image file suffix. Default: None, the
            class's ``IMG_SUFFIX``.
        seg_map_suffix (str): Annotation file suffix. Default:
            ``'_mask.png'``.
        reduce_zero_label (bool): Default: False (class 0 is trained and
            evaluated like any other).
        **kwargs: Passed to :class:`mmseg.datasets.BaseSegDataset`.

    Raises:
        FileNotFoundError: (at initialisation) if the image folder holds no
            ``img_suffix`` file, naming the folder and ``CONVERTER``.
    """
    CONVERTER = ''
    IMG_SUFFIX = ''

    def __init__(self,
                 img_suffix: Optional[str] = None,
                 seg_map_suffix: str = '_mask.png',
                 reduce_zero_label: bool = False,
                 **kwargs) -> None:
        super().__init__(
            img_suffix=self.IMG_SUFFIX if img_suffix is None else img_suffix,
            seg_map_suffix=seg_map_suffix,
            reduce_zero_label=reduce_zero_label,
            **kwargs)

    def empty_hint(self) -> str:
        """Name the converter that fills the image folder."""
        return f'convert the download with {self.CONVERTER}'
