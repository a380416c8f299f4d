"""Result files of ``docs/en/results/`` and their metadata.

A result's kind is its name's suffix:

- ``<name>.fps.json``: ``tools/fps_test.py --out`` (``{"args": {...},
  "rows": [...]}``, :mod:`mmseg_ext.benchmark.table`);
- ``<name>.scalars.json``: mmengine's ``<work_dir>/<timestamp>/vis_data/
  scalars.json`` (one JSON record a line; training records carry ``lr``);
- ``<name>.same_loop.json``: ``tools/misc/same_loop_compare.py --out``
  (``{"args": {...}, "results": {variant: {"losses": [...], "summary":
  {...}, "val": {...}}}}``, :mod:`tools.fidelity.same_loop`);
- ``<name>.int8.json``: ``tools/benchmarks/int8_table.py`` (an fps result
  with ``accuracy``: the checkpoint, what it was trained on, and the
  accuracy gate of every reduced precision).

Its metadata (:data:`META_KEYS`) is read from the result's own ``meta``
object where the format has one, the gaps filled from the sidecar
``<name>.<kind>.meta.json`` that :mod:`tools.docs.record` writes; a sidecar
``sha256`` must match the result (a result edited after its run is refused).
Every missing key raises :class:`ResultError` naming the file and the key.
"""
import glob
import hashlib
import json
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

KINDS = {
    '.fps.json': 'fps',
    '.scalars.json': 'scalars',
    '.same_loop.json': 'same_loop',
    '.int8.json': 'int8'
}
META_SUFFIX = '.meta.json'
META_KEYS = ('date', 'cpu_model', 'isa_flags', 'torch_version', 'command')
# the flags that decide which CPU kernels torch, oneDNN and OpenVINO pick
ISA_FLAGS = ('avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_bf16',
             'amx_int8', 'amx_tile')
FPS_ROW_KEYS = ('config', 'input', 'batch', 'device', 'backend', 'dtype')


class ResultError(ValueError):
    """A result (or metadata) file that the pages cannot be made from."""

    def __init__(self, path: str, message: str):
        super().__init__(f'{path}: {message}')
        self.path = path


@dataclass
class Result:
    """One result file: ``kind`` (a value of :data:`KINDS`), ``name`` (the
    file name without the kind suffix), ``meta`` (:data:`META_KEYS` and
    whatever else the metadata holds) and the parsed ``data``."""
    path: str
    kind: str
    name: str
    meta: Dict[str, Any]
    data: Any


def meta_path(result_path: str) -> str:
    """The sidecar of ``result_path``: ``X.json`` -> ``X.meta.json``."""
    stem = result_path[:-len('.json')] if result_path.endswith(
        '.json') else result_path
    return stem + META_SUFFIX


def result_kind(path: str) -> str:
    """The kind of ``path`` from its suffix.

    Raises:
        ResultError: If the name ends with no suffix of :data:`KINDS`.
    """
    for suffix, kind in KINDS.items():
        if path.endswith(suffix):
            return kind
    raise ResultError(
        path, f'unknown kind of result: the name must end with one of '
        f'{", ".join(KINDS)}')


def find_results(folder: str) -> List[str]:
    """The result files in ``folder``, sorted (sidecars excluded).

    Raises:
        ResultError: For a ``*.json`` of no known kind, or a sidecar
            without its result.
    """
    paths = sorted(glob.glob(osp.join(folder, '*.json')))
    results = [p for p in paths if not p.endswith(META_SUFFIX)]
    for path in results:
        result_kind(path)
    for path in paths:
        if path.endswith(META_SUFFIX) and not any(
                meta_path(r) == path for r in results):
            raise ResultError(path, 'metadata of no result file in '
                              f'{folder}')
    return results


def sha256_of(path: str) -> str:
    """Hex SHA-256 of the bytes of ``path``."""
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def require(mapping: Any,
            keys: Sequence[str],
            path: str,
            where: str = '') -> None:
    """Raise :class:`ResultError` naming ``path`` and the first of ``keys``
    that ``mapping`` lacks (``where`` says which part of the file)."""
    if not isinstance(mapping, dict):
        raise ResultError(path, f'{where or "the file"} is not a JSON object')
    for key in keys:
        if key not in mapping:
            place = f' in {where}' if where else ''
            raise ResultError(path, f'missing key {key!r}{place}')


def load_json(path: str) -> Any:
    """``path`` parsed as one JSON document.

    Raises:
        ResultError: If it is not valid JSON.
    """
    with open(path) as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as e:
            raise ResultError(path, f'not valid JSON ({e})') from None


def load_meta(path: str, embedded: Optional[dict] = None) -> Dict[str, Any]:
    """The metadata of the result at ``path``: ``embedded`` (the result's
    own) over its sidecar's.

    Raises:
        ResultError: If a key of :data:`META_KEYS` is in neither (naming
            the sidecar, or the result when it has no sidecar), or the
            sidecar's ``sha256`` is not the result's.
    """
    sidecar = meta_path(path)
    meta = {}
    if osp.isfile(sidecar):
        meta = load_json(sidecar)
        require(meta, (), sidecar)
        if 'sha256' in meta and meta['sha256'] != sha256_of(path):
            raise ResultError(
                path, f'its bytes are not those recorded in {sidecar} '
                '(sha256): a result is rewritten only by its command')
    meta = {**meta, **(embedded or {})}
    for key in META_KEYS:
        if key not in meta:
            where = sidecar if osp.isfile(sidecar) else path
            raise ResultError(
                where, f'missing key {key!r} of the metadata (the result\'s '
                f'"meta" or its sidecar {osp.basename(sidecar)}, written by '
                'python -m tools.docs.record)')
    return meta


def load_fps(path: str) -> Result:
    """A ``tools/fps_test.py`` JSON result.

    Raises:
        ResultError: Without ``args``/``rows``, with no rows, or with a
            row lacking a key of :data:`FPS_ROW_KEYS`.
    """
    data = load_json(path)
    require(data, ('args', 'rows'), path)
    require(data['args'], ('warmup', 'iters'), path, 'args')
    if not isinstance(data['rows'], list) or not data['rows']:
        raise ResultError(path, "'rows' holds no row")
    for i, row in enumerate(data['rows']):
        require(row, FPS_ROW_KEYS, path, f'rows[{i}]')
    meta = load_meta(path, data.get('meta'))
    return Result(path, 'fps', _name(path), meta, data)


def load_scalars(path: str) -> Result:
    """An mmengine ``scalars.json``: ``data`` is ``{'train': [...], 'val':
    [...]}``, the records with and without ``lr``, in file order.

    Raises:
        ResultError: For a line that is no JSON object, a record without
            ``step``, or no training record with ``loss``.
    """
    train, val = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ResultError(path,
                                  f'line {number} is not JSON ({e})') from None
            require(record, ('step', ), path, f'line {number}')
            (train if 'lr' in record else val).append(record)
    if not any('loss' in record for record in train):
        raise ResultError(
            path, "missing key 'loss': no training record (one with 'lr') "
            'logs it')
    return Result(path, 'scalars', _name(path), load_meta(path),
                  dict(train=train, val=val))


def load_same_loop(path: str) -> Result:
    """A ``tools/misc/same_loop_compare.py`` result: ``data`` is the file's
    ``{'args': {...}, 'results': {variant: {...}}}``.

    Raises:
        ResultError: Without ``args``/``results``, with no variant, or with
            a variant lacking ``losses`` (or holding none) or ``summary``.
    """
    data = load_json(path)
    require(data, ('args', 'results'), path)
    require(data['args'], ('iters', ), path, 'args')
    if not isinstance(data['results'], dict) or not data['results']:
        raise ResultError(path, "'results' holds no run")
    for variant, run in data['results'].items():
        require(run, ('losses', 'summary'), path, f'results[{variant!r}]')
        if not isinstance(run['losses'], list) or not run['losses']:
            raise ResultError(path, f"results[{variant!r}]['losses'] is empty")
    return Result(path, 'same_loop', _name(path), load_meta(path), data)


def load_int8(path: str) -> Result:
    """A ``tools/benchmarks/int8_table.py`` result: an fps result (as
    :func:`load_fps`) with ``accuracy: {checkpoint, trained, gates:
    {backend:precision: gate}}``.

    Raises:
        ResultError: As :func:`load_fps`; without ``accuracy``, or a gate
            lacking its metric, fp32 value or argmax agreement.
    """
    result = load_fps(path)
    data = result.data
    require(data, ('accuracy', ), path)
    require(data['accuracy'], ('checkpoint', 'trained', 'gates'), path,
            'accuracy')
    for row, gate in data['accuracy']['gates'].items():
        require(gate, ('metric', 'fp32', 'argmax_agreement', 'num_images',
                       'max_drop', 'passed'), path, f'accuracy.gates[{row!r}]')
    return Result(path, 'int8', result.name, result.meta, data)


LOADERS = {
    'fps': load_fps,
    'scalars': load_scalars,
    'same_loop': load_same_loop,
    'int8': load_int8
}


def load_result(path: str) -> Result:
    """The result at ``path``, read by the loader of its kind."""
    return LOADERS[result_kind(path)](path)


def _name(path: str) -> str:
    base = osp.basename(path)
    return base[:-len(next(s for s in KINDS if base.endswith(s)))]
