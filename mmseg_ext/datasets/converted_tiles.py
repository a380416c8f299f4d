"""Base of the datasets that a ``tools/dataset_converters`` script lays out."""
from typing import List

from mmseg.datasets import BaseSegDataset


class ConvertedTilesDataset(BaseSegDataset):
    """:class:`mmseg.datasets.BaseSegDataset` that fails early on an empty
    image folder, naming the converter that fills it.

    mmseg already raises FileNotFoundError for a missing folder; an existing
    but empty one would otherwise give an empty dataloader much later.

    Subclasses set ``CONVERTER`` (the converter's path in the repository).

    Raises:
        FileNotFoundError: (at initialisation) if the image folder holds no
            ``img_suffix`` file, naming the folder and ``CONVERTER``.
    """
    CONVERTER = ''

    def load_data_list(self) -> List[dict]:
        """List the samples; raise if there are none (see the class doc)."""
        data_list = super().load_data_list()
        if not data_list:
            raise FileNotFoundError(
                f'no *{self.img_suffix} image in '
                f'{self.data_prefix.get("img_path", "")}; convert the '
                f'download with {self.CONVERTER}')
        return data_list
