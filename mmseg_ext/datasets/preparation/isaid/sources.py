"""The iSAID download: images and colour masks, loose or zipped, paired by
name."""
import os
import os.path as osp
import zipfile
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

IMG_SUFFIX = '.png'
ANN_SUFFIX = '_instance_color_RGB.png'  # iSAIDDataset's seg_map_suffix
# split_iSAID.py: `if file_ == 'P1527' or file_ == 'P1530': continue`
OFFICIAL_EXCLUDE = ('P1527', 'P1530')


class Source(NamedTuple):
    """A file of the download: a path, or a member of a zip archive."""
    path: str
    member: Optional[str] = None

    def __str__(self) -> str:
        return f'{self.path}:{self.member}' if self.member else self.path

    def read(self, size: int = -1) -> bytes:
        if self.member is None:
            with open(self.path, 'rb') as f:
                return f.read(size)
        with zipfile.ZipFile(self.path) as archive:
            with archive.open(self.member) as f:
                return f.read(size)


class Pair(NamedTuple):
    """One source image, its colour mask (None for test) and its outputs."""
    split: str
    stem: str
    image: Source
    mask: Optional[Source]


def _classify(name: str) -> Tuple[Optional[str], Optional[str]]:
    """(kind, stem) of a file name: 'image', 'mask' or None."""
    if name.endswith(ANN_SUFFIX):
        return 'mask', name[:-len(ANN_SUFFIX)]
    # split_iSAID.py: images are the .png files without '_' in their name
    if name.endswith(IMG_SUFFIX) and '_' not in name:
        return 'image', name[:-len(IMG_SUFFIX)]
    return None, None


def _scan(folders: Sequence[str],
          kinds: Sequence[str]) -> Dict[str, Dict[str, Source]]:
    """Images/masks under ``folders`` (loose files and zip members, any depth).

    Returns ``{kind: {stem: Source}}``; a loose file wins over a zipped one
    of the same name (a download unzipped in place).

    Raises:
        ValueError: If one name occurs twice among the loose files, or twice
            among the zip members, naming both places.
    """
    loose: Dict[str, Dict[str, Source]] = {k: {} for k in kinds}
    zipped: Dict[str, Dict[str, Source]] = {k: {} for k in kinds}

    def add(table, kind, stem, source):
        if stem in table[kind] and table[kind][stem] != source:
            raise ValueError(f'{kind} {stem} occurs twice in the download: '
                             f'{table[kind][stem]} and {source}')
        table[kind][stem] = source

    for folder in folders:
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = osp.join(root, name)
                if name.lower().endswith('.zip'):
                    with zipfile.ZipFile(path) as archive:
                        members = archive.namelist()
                    for member in sorted(members):
                        base = member.rsplit('/', 1)[-1]
                        if member.startswith('__MACOSX/') \
                                or base.startswith('.'):
                            continue
                        kind, stem = _classify(base)
                        if kind in kinds:
                            add(zipped, kind, stem, Source(path, member))
                elif not name.startswith('.'):
                    kind, stem = _classify(name)
                    if kind in kinds:
                        add(loose, kind, stem, Source(path))
    return {k: {**zipped[k], **loose[k]} for k in kinds}


def find_pairs(src: str,
               split: str,
               exclude: Sequence[str] = OFFICIAL_EXCLUDE) -> List[Pair]:
    """Match the images and colour masks of one split of the download.

    Images and masks are looked for under ``SRC/<split>/images`` and
    ``SRC/<split>/Semantic_masks``, as loose ``.png`` files (any depth) or
    members of ``.zip`` archives there; a file is an image if its name has
    no ``_`` (as ``split_iSAID.py`` decides), a mask if it ends with
    ``_instance_color_RGB.png``; other files are ignored.

    Args:
        src (str): The download folder (``SRC``).
        split (str): 'train', 'val' or 'test' (test has no masks).
        exclude (Sequence[str]): Image stems to skip. Default: the official
            P1527 and P1530.

    Returns:
        list[Pair]: One per image, sorted by stem.

    Raises:
        FileNotFoundError: If ``SRC/<split>/images`` is missing or holds no
            image.
        ValueError: If an image has no mask or a mask no image (train/val),
            naming them, or a name occurs twice.
    """
    folder = osp.join(src, split)
    image_dir = osp.join(folder, 'images')
    mask_dir = osp.join(folder, 'Semantic_masks')
    if not osp.isdir(image_dir):
        raise FileNotFoundError(
            f'{image_dir} does not exist: SRC must hold <split>/images with '
            'the DOTA images (part*.zip or .png files)')
    with_masks = split != 'test'
    kinds = ('image', 'mask') if with_masks else ('image', )
    found = _scan([image_dir, mask_dir], kinds)
    images = found['image']
    if not images:
        raise FileNotFoundError(
            f'no image (P*.png, loose or in a .zip) found under {image_dir}')
    skip = set(exclude)
    if with_masks:
        masks = found['mask']
        no_mask = sorted(set(images) - set(masks) - skip)
        no_image = sorted(set(masks) - set(images) - skip)
        if no_mask or no_image:
            raise ValueError(
                f'{folder}: images without a colour mask (*{ANN_SUFFIX} '
                f'under {mask_dir} or {image_dir}): {no_mask[:10]}'
                f'{" ..." if len(no_mask) > 10 else ""}; masks without an '
                f'image: {no_image[:10]}'
                f'{" ..." if len(no_image) > 10 else ""}')
    return [
        Pair(split, stem, images[stem], masks[stem] if with_masks else None)
        for stem in sorted(images) if stem not in skip
    ]
