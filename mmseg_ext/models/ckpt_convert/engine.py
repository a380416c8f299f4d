"""The checkpoint-conversion engine shared by every model's key map.

An official checkpoint is converted in four steps, each a function here:

1. :func:`load_source` reads the file (``weights_only=True`` unless the
   user trusts it) and :func:`unwrap_state_dict` finds the flat
   ``{name: Tensor}`` dict inside (``state_dict``/``model`` wrappers,
   ``module.`` prefixes of DataParallel / DDP);
2. :func:`apply_rules` renames every key with a model's rule table
   (``(pattern, replacement)`` pairs, the first full match wins), keeping
   unmatched keys under their own names and listing them;
3. :func:`check_against_config` builds the model of an mmseg config and
   reports the missing, unexpected and mis-shaped keys;
4. :func:`save_checkpoint` writes ``{'state_dict', 'meta'}`` through
   :func:`mmseg_ext.utils.atomic_io.atomic_file`.

:func:`mmseg_ext.models.ckpt_convert.cli.run` chains them into the
converters' command line. Its functions build no model: a model is built
only when a config is checked.
"""
import os.path as osp
import re
import warnings
from collections import OrderedDict
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple, Union

import torch

from ...utils.atomic_io import atomic_file

# parameter / buffer names at the end of a key; ``\g<p>`` keeps them
PARAM = r'(?P<p>weight|bias|running_mean|running_var|num_batches_tracked)'

Replacement = Union[str, Callable[[re.Match], str]]
Rule = Tuple[re.Pattern, Replacement]


class ConversionError(ValueError):
    """Raised when the input is not a convertible official state dict."""


class ConversionResult(NamedTuple):
    """What a conversion returns (unpacks as a 3-tuple).

    Attributes:
        converted (OrderedDict): The mmseg_ext state dict; unknown keys are
            kept under their original names, so that loading it into a
            model lists them as unexpected instead of losing them.
        unknown (list[str]): Source keys that no rule matched.
        dropped (list[str]): Source keys left out on purpose (loss buffers,
            aliases of other keys).
    """
    converted: Dict
    unknown: List[str]
    dropped: List[str]


def compile_rules(pairs) -> List[Rule]:
    """``[(regex, replacement), ...]`` -> compiled rule table.

    A replacement is a ``re.sub`` template (``\\g<name>``) or a function of
    the match.
    """
    return [(re.compile(pattern), repl) for pattern, repl in pairs]


def map_key(key: str, rules: List[Rule]) -> Optional[str]:
    """Map one source key with the first rule whose pattern fully matches.

    Args:
        key (str): Source key (``module.`` already stripped).
        rules (list[Rule]): ``(pattern, replacement)`` pairs tried in order.

    Returns:
        str | None: The new key, or None if no rule matches.
    """
    for pattern, repl in rules:
        if pattern.fullmatch(key):
            return pattern.sub(repl, key)
    return None


def apply_rules(state_dict: Dict,
                rules: List[Rule],
                ignore: Optional[re.Pattern] = None) -> ConversionResult:
    """Rename every key of a flat state dict with a rule table.

    Args:
        state_dict (dict): Flat source state dict (see
            :func:`unwrap_state_dict`).
        rules (list[Rule]): The model's rule table (see :func:`map_key`).
        ignore (re.Pattern, optional): Keys that fully match it are dropped
            and listed (e.g. ``criterion.*`` loss buffers).

    Returns:
        ConversionResult: Converted dict (source order), unknown and
        dropped keys.
    """
    converted = OrderedDict()
    unknown, dropped = [], []
    for key, value in state_dict.items():
        if ignore is not None and ignore.fullmatch(key):
            dropped.append(key)
            continue
        new_key = map_key(key, rules)
        if new_key is None:
            unknown.append(key)
            new_key = key
        converted[new_key] = value
    return ConversionResult(converted, unknown, dropped)


def warn_leftovers(result: ConversionResult,
                   tool: str,
                   dropped_note: Optional[str] = None) -> 'OrderedDict':
    """Warn about the unknown (and dropped) keys; return the converted dict.

    Args:
        result (ConversionResult): A conversion's result.
        tool (str): Name the warnings start with (e.g. ``'sfnet2mmseg'``).
        dropped_note (str, optional): Text of the dropped-keys warning; no
            warning for them when None.

    Returns:
        OrderedDict: ``result.converted``.
    """
    if result.unknown:
        warnings.warn(f'{tool}: {len(result.unknown)} unknown official keys '
                      f'kept unconverted: {result.unknown}')
    if dropped_note and result.dropped:
        warnings.warn(f'{tool}: {dropped_note}: {result.dropped}')
    return result.converted


def strip_module_prefix(state_dict: Dict) -> 'OrderedDict':
    """Remove a leading ``module.`` (DataParallel / DDP) from every key."""
    return OrderedDict(
        (k[len('module.'):] if k.startswith('module.') else k, v)
        for k, v in state_dict.items())


def unwrap_state_dict(
    checkpoint,
    source: str = '<state dict>',
    wrappers: Tuple[str, ...] = ('state_dict', )
) -> 'OrderedDict':
    """Return the flat ``{name: Tensor}`` dict inside ``checkpoint``.

    Unwraps the first ``wrappers`` entry holding a dict (official training
    snapshots keep theirs under ``'state_dict'``) and strips a leading
    ``module.`` from every key.

    Args:
        checkpoint: A state dict or a dict holding one under a ``wrappers``
            key.
        source (str): Name used in error messages (e.g. the file path).
        wrappers (tuple[str]): Keys tried in order. Default:
            ``('state_dict',)``.

    Returns:
        OrderedDict: Key -> tensor, without ``module.`` prefixes.

    Raises:
        ConversionError: If no tensor dict is found or it mixes in
            non-tensor values.
    """
    if isinstance(checkpoint, dict):
        for wrapper in wrappers:
            if isinstance(checkpoint.get(wrapper), dict):
                checkpoint = checkpoint[wrapper]
                break
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise ConversionError(
            f'{source}: not a state dict (expected a non-empty dict of '
            f'tensors, optionally under "state_dict"; got '
            f'{type(checkpoint).__name__})')
    bad = [
        k for k, v in checkpoint.items()
        if not isinstance(k, str) or not torch.is_tensor(v)
    ]
    if bad:
        raise ConversionError(
            f'{source}: not a state dict: {len(bad)} entries are not '
            f'tensors, e.g. {bad[:5]}')
    return strip_module_prefix(checkpoint)


def load_source(path: str, trust_pickle: bool = False):
    """Load a checkpoint file with a clear error naming ``path``.

    Args:
        path (str): Checkpoint path.
        trust_pickle (bool): Allow arbitrary pickled objects
            (``weights_only=False``); only for files you trust. Official
            snapshots also store ``epoch``/``mean_iu``/``optimizer``, which
            may need it.

    Returns:
        The loaded object.

    Raises:
        ConversionError: If the file is missing or cannot be loaded.
    """
    if not osp.isfile(path):
        raise ConversionError(f'{path}: no such file')
    try:
        return torch.load(
            path, map_location='cpu', weights_only=not trust_pickle)
    except Exception as e:  # noqa: BLE001 - re-raised with the path
        first_line = re.sub(r'\x1b\[[0-9;]*m', '', (str(e).splitlines()
                                                    or [''])[0])
        hint = ('' if trust_pickle else
                ' (if it is a trusted official snapshot with non-tensor '
                'entries, retry with --trust-pickle)')
        raise ConversionError(f'{path}: cannot be loaded as a checkpoint: '
                              f'{type(e).__name__}: {first_line}{hint}') from e


def check_against_config(
    converted: Dict, config: str, no_init: Tuple[str, ...] = ('backbone', )
) -> Tuple[List[str], List[str], List[str]]:
    """Build the model of ``config`` and load ``converted`` non-strictly.

    The model is built by :func:`mmseg_ext.apis.build_model` (SyncBN
    reverted to BN, so that this runs on CPU without a process group);
    pretraining (``model.pretrained`` and the ``init_cfg`` of
    the ``no_init`` sub-models) is disabled.

    Args:
        converted (dict): Converted state dict.
        config (str): mmseg config path.
        no_init (tuple[str]): Dotted paths under ``model`` whose
            ``init_cfg`` is cleared when present. Default: the backbone.

    Returns:
        tuple: ``(missing, unexpected, mismatched)`` key lists; mismatched
        entries read ``'key: checkpoint (..) vs model (..)'``.
    """
    from mmseg_ext.apis.builder import build_model, load_config

    cfg = load_config(config)
    cfg.model.pretrained = None
    for path in no_init:
        part = cfg.model
        for name in path.split('.'):
            part = part.get(name) if part is not None else None
        if part is not None:
            part.init_cfg = None
    model = build_model(cfg)
    own = model.state_dict()
    mismatched = [
        f'{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}'
        for k, v in converted.items() if k in own and v.shape != own[k].shape
    ]
    loadable = {
        k: v
        for k, v in converted.items()
        if k not in own or v.shape == own[k].shape
    }
    result = model.load_state_dict(loadable, strict=False)
    return list(result.missing_keys), list(result.unexpected_keys), mismatched


def save_checkpoint(state_dict: Dict, meta: Dict, dst: str) -> None:
    """Write ``{'state_dict': state_dict, 'meta': meta}`` to ``dst``.

    Written through :func:`mmseg_ext.utils.atomic_io.atomic_file`: a failure
    leaves no file (and any previous ``dst`` untouched).
    """
    with atomic_file(dst) as f:
        torch.save({'state_dict': state_dict, 'meta': meta}, f)
