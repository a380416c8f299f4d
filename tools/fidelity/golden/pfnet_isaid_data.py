"""``tests/data/pfnet_isaid_data_golden.pth``: the official PFNet iSAID data.

Official code: https://github.com/lxtGH/PFSegNets, commit ``e613a59``:
``tools/split_iSAID.py``, ``tools/convert_iSAID_mask2graymask.py``,
``datasets/iSAID.py`` (``ISAIDDataset``, ``get_boundary``),
``transforms/joint_transforms.py:Resize``,
``transforms/transforms.py:MaskToTensor`` / ``RandomGaussianBlur``; run on
the real iSAID sample (``data/isaid``: ``{train,val}/images/*.png`` and
``{train,val}/Semantic_masks/images/*_instance_color_RGB.png``). Regenerate
with::

    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden \\
        pfnet_isaid_data --out tests/data/pfnet_isaid_data_golden.pth

The official scripts need ``natsort``, the blur needs ``scikit-image``
(the fixture was made with 0.26.0): ``pip install natsort scikit-image``.

The fixture holds (SHA-256 of decoded pixels as ``'<hex>|<dtype>|<shape>'``;
boundary maps as zlib-compressed ``np.packbits`` with their ``shape``)

* ``converter``: ``{'<split>/<stem>.png': (image sha, gray label sha)}``
  of every output of ``split_iSAID.py --set train,val --patch_width 896
  --patch_height 896 --overlap_area 384`` then
  ``convert_iSAID_mask2graymask.py`` (``cv2.IMREAD_UNCHANGED`` reads);
* ``val_patch``: ``get_boundary(MaskToTensor(label), thicky=8)`` of the
  converted patch P0003_127_1023_251_1147 (``ISAIDDataset(edge_map=True)``)
  and its label's sha;
* ``train_resized`` / ``val_resized``: ``ISAIDDataset`` with
  ``joint_transforms.Resize(896)`` on the whole-kept P0005 / P0004 (RGB
  image and label shas) and, for P0005, the boundary of the resized label;
* ``blur``: ``RandomGaussianBlur`` on a 64x64 RGB crop (``crop``: patch,
  y1, y2, x1, x2) of the val patch P0003_0_896_0_896, for three sigmas
  (``outputs``: sigma -> uint8 image).

The scripts run as the user would run them (subprocesses of this
interpreter). Their input folder is the sample linked into the layout they
read (masks next to the images); ``convert_iSAID_mask2graymask.py`` reads
``<root>/<split>/masks``, linked to what ``split_iSAID.py`` wrote.

Stand-ins (only inside :func:`build`): ``torchvision``
(:func:`~.common.torchvision_stub`) if it is not installed; ``numpy.float``
(the alias of ``float`` NumPy 1.24 removed; ``get_boundary`` ends with
``astype(np.float)``); scikit-image's ``gaussian(..., multichannel=True)``
spelled ``channel_axis=-1`` where scikit-image no longer has
``multichannel`` (0.19 renamed it); the transform's ``random.random()``
returning the draw that gives each sigma (``0.15 + u * 1.15``).
"""
import hashlib
import os
import os.path as osp
import subprocess
import sys
import tempfile
import types
import zlib
from unittest import mock

import numpy as np
import torch

from .common import OfficialCode, save_golden, torchvision_stub

REPO, COMMIT = 'lxtGH/PFSegNets', 'e613a59'
SPLITS = ('train', 'val')
SIGMAS = (0.15, 0.7, 1.2999)
BLUR_CROP = ('val/P0003_0_896_0_896.png', 400, 464, 300, 364)


def sha(array: np.ndarray) -> str:
    """``'<sha256 of the bytes>|<dtype>|<shape>'`` of ``array``."""
    array = np.ascontiguousarray(array)
    return (hashlib.sha256(array.tobytes()).hexdigest() +
            f'|{array.dtype}|{array.shape}')


def pack_edge(edge: np.ndarray) -> dict:
    """A 0/1 map as ``{'edge': uint8 tensor, 'shape': (H, W)}`` (packed
    bits, zlib level 9)."""
    bits = np.packbits(np.asarray(edge).astype(np.uint8).ravel())
    data = bytearray(zlib.compress(bits.tobytes(), 9))
    return dict(
        edge=torch.frombuffer(data, dtype=torch.uint8).clone(),
        shape=tuple(edge.shape))


def _run(script: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, script, *args],
                          capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f'{script} failed ({proc.returncode}):\n'
                           f'{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}')


def _link(src: str, dst: str) -> None:
    os.makedirs(osp.dirname(dst), exist_ok=True)
    os.symlink(osp.abspath(src), dst)


def _prepare(root: str, data_root: str, work: str) -> str:
    """Run the two official scripts on the sample; return the dataset root
    ``ISAIDDataset`` reads (``<split>/images``, ``<split>/masks``)."""
    src, tar, gray, dataset = (
        osp.join(work, d) for d in ('src', 'tar', 'gray', 'dataset'))
    for split in SPLITS:
        for folder in ('images', osp.join('Semantic_masks', 'images')):
            for name in sorted(os.listdir(osp.join(data_root, split, folder))):
                _link(
                    osp.join(data_root, split, folder, name),
                    osp.join(src, split, 'images', name))
    _run(
        osp.join(root, 'tools', 'split_iSAID.py'), '--src', src, '--tar', tar,
        '--set', ','.join(SPLITS), '--patch_width', '896', '--patch_height',
        '896', '--overlap_area', '384')
    for split in SPLITS:
        # split_iSAID.py writes <tar>/<split>/images/{images,masks}
        _link(osp.join(tar, split, 'images'), osp.join(gray, split))
        _run(
            osp.join(root, 'tools', 'convert_iSAID_mask2graymask.py'),
            '--root_path', gray, '--save_file_name', 'gray', '--phase', split)
        _link(
            osp.join(tar, split, 'images', 'images'),
            osp.join(dataset, split, 'images'))
        _link(
            osp.join(tar, split, 'images', 'gray'),
            osp.join(dataset, split, 'masks'))
    return dataset


def _converter(dataset: str) -> dict:
    import cv2
    out = {}
    for split in SPLITS:
        for name in sorted(os.listdir(osp.join(dataset, split, 'images'))):
            stem = osp.splitext(name)[0]
            img = cv2.imread(
                osp.join(dataset, split, 'images', name), cv2.IMREAD_UNCHANGED)
            ann = cv2.imread(
                osp.join(dataset, split, 'masks',
                         stem + '_instance_color_RGB.png'),
                cv2.IMREAD_UNCHANGED)
            out[f'{split}/{name}'] = (sha(img), sha(ann))
    return out


def _item(isaid, tt, split, stem, joint=None):
    """``(rgb image, uint8 label, boundary)`` of ``stem`` as the official
    ``ISAIDDataset(edge_map=True)`` returns it."""
    ds = isaid.ISAIDDataset(
        'semantic',
        split,
        joint_transform_list=joint,
        target_transform=tt.MaskToTensor(),
        edge_map=True,
        thicky=8)
    names = [osp.basename(img) for img, _ in ds.data_tokens]
    image, mask, _, boundary, _ = ds[names.index(stem + '.png')]
    return np.asarray(image), mask.numpy().astype(np.uint8), boundary


def _draw(sigma: float) -> float:
    """The ``random.random()`` value for which the official transform's
    ``0.15 + u * 1.15`` is ``sigma`` (to the last bit if one exists)."""
    u = (sigma - 0.15) / 1.15
    for _ in range(8):
        got = 0.15 + u * 1.15
        if got == sigma:
            break
        u = np.nextafter(u, np.inf if got < sigma else -np.inf)
    return float(u)


def _blur(tt, dataset):
    from PIL import Image
    patch, y1, y2, x1, x2 = BLUR_CROP
    split, name = patch.split('/')
    rgb = np.asarray(
        Image.open(osp.join(dataset, split, 'images',
                            name)).convert('RGB'))[y1:y2, x1:x2]
    gaussian = tt.gaussian

    def gaussian_compat(image, sigma, multichannel=None, **kwargs):
        if multichannel:
            kwargs['channel_axis'] = -1
        return gaussian(image, sigma=sigma, **kwargs)

    outputs = {}
    with mock.patch.object(tt, 'gaussian', gaussian_compat):
        for sigma in SIGMAS:
            u = _draw(sigma)
            draw = types.SimpleNamespace(random=lambda u=u: u)
            with mock.patch.object(tt, 'random', draw):
                blurred = tt.RandomGaussianBlur()(Image.fromarray(rgb))
            outputs[0.15 + u * 1.15] = torch.from_numpy(
                np.array(blurred, dtype=np.uint8))
    return dict(crop=BLUR_CROP, outputs=outputs)


def build(out_path: str, data_root: str = None) -> None:
    """Run the official data preparation on the sample; save the fixture.

    Args:
        out_path (str): Where to write (atomically).
        data_root (str, optional): The iSAID sample. Default:
            ``$MMSEG_EXT_DATA/isaid`` or ``data/isaid``.

    Raises:
        ImportError: If the official code is not importable (the message
            names the repository and the ``PYTHONPATH`` fix) or lacks one of
            its packages.
        FileNotFoundError: If ``data_root`` has no ``train``/``val`` split.
        RuntimeError: If an official script fails (with its output).
    """
    if data_root is None:
        data_root = osp.join(os.environ.get('MMSEG_EXT_DATA', 'data'), 'isaid')
    for split in SPLITS:
        if not osp.isdir(osp.join(data_root, split, 'images')):
            raise FileNotFoundError(
                f'{data_root}/{split}/images not found: pass the iSAID '
                'sample as data_root (--opt data_root=...)')
    with OfficialCode(REPO, COMMIT, 'pfnet_isaid_data',
                      {'torchvision': torchvision_stub}) as code, \
            tempfile.TemporaryDirectory() as work, \
            mock.patch.object(np, 'float', float, create=True):
        isaid = code.import_module('datasets.iSAID')
        joint = code.import_module('transforms.joint_transforms')
        tt = code.import_module('transforms.transforms')
        dataset = _prepare(code.root, data_root, work)
        golden = dict(converter=_converter(dataset))
        with mock.patch.object(isaid, 'root', dataset):
            _, label, edge = _item(isaid, tt, 'val', 'P0003_127_1023_251_1147')
            golden['val_patch'] = dict(
                name='P0003_127_1023_251_1147',
                label_sha=sha(label),
                **pack_edge(edge))
            img, label, edge = _item(isaid, tt, 'train', 'P0005',
                                     [joint.Resize(896)])
            golden['train_resized'] = dict(
                name='P0005',
                img_sha=sha(img),
                label_sha=sha(label),
                **pack_edge(edge))
            img, label, _ = _item(isaid, tt, 'val', 'P0004',
                                  [joint.Resize(896)])
            golden['val_resized'] = dict(
                name='P0004', img_sha=sha(img), label_sha=sha(label))
        golden['blur'] = _blur(tt, dataset)
    save_golden(golden, out_path)
