#!/usr/bin/env python
"""Convert official SFNet (lxtGH/SFSegNets) ResNet checkpoints to mmseg_ext.

Maps the state dict of the official ``AlignNetResNet`` (``DeepR18_SF_deeply``,
``DeepR50_SF_deeply``, ``DeepR101_SF_deeply`` and the R-18 DSN variant,
``network/sfnet_resnet.py``) onto an mmseg ``EncoderDecoder`` built from
``configs/sfnet``.

Official key (``module.`` stripped)  ->  mmseg_ext key::

    layer0.0.{0,1,3,4,6}          -> backbone.stem.{0,1,3,4,6}  (deep stem)
    layer0.1                      -> backbone.stem.7            (stem's BN)
    layer{1-4}.*                  -> backbone.layer{1-4}.*      (same names)
    head.ppm.stages.{i}.1 / .2    -> neck.ppm.{i}.1.conv / .bn
    head.ppm.bottleneck.0 / .1    -> neck.ppm_bottleneck.0.conv / .bn
    head.fpn_in.{i}.0 / .1        -> neck.lateral_convs.{i}.conv / .bn
    head.fpn_out_align.{i}.*      -> neck.fams.{i}.*  (down_h/down_l/flow_make)
    head.fpn_out.{i}.0.0 / .0.1   -> neck.fpn_convs.{i}.conv / .bn
    head.conv_last.0.0 / .0.1     -> decode_head.fusion_conv.conv / .bn
    head.conv_last.1              -> decode_head.conv_seg
    head.dsn.{i}.0 / .1           -> auxiliary_head.{i}.convs.0.conv / .bn
    head.dsn.{i}.4                -> auxiliary_head.{i}.conv_seg

DSN heads: the official ``dsn[i]`` is applied to FPN level ``i`` (``dsn[0]``
on the 1/4 level), so it becomes ``auxiliary_head.{i}``, whose config reads
neck output ``4 + i`` (the raw fused level ``i``). Its 3x3 conv has a bias
while mmseg's ``FCNHead`` conv (followed by BN) has none. The bias is folded
into the BN exactly: ``BN(conv(x) + b)`` with running mean ``m`` equals
``BN(conv(x))`` with running mean ``m - b`` in eval mode, and in training the
batch statistics cancel a per-channel constant, so nothing changes there
either.

A ``state_dict`` wrapper (the official ``utils/misc.py`` snapshots) and a
``module.`` prefix (DataParallel / DDP) are removed. ``criterion.*`` entries
(loss buffers, not part of the network) are dropped and listed. Every other
key that is not recognised is kept under its original name and reported, so
that loading it into a model lists it as unexpected instead of losing it.

Usage::

    python tools/model_converters/sfnet2mmseg.py SRC DST [--config CFG]
        [--keep-unknown] [--trust-pickle]

    # e.g. the released R-18 model, checked against its config
    python tools/model_converters/sfnet2mmseg.py sfnet_r18.pth \\
        sfnet_r18_mmseg.pth \\
        --config configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py

``DST`` receives ``{'state_dict': ..., 'meta': {...}}`` (written to a
temporary file, then renamed). With ``--config`` the model is built
(SyncBN reverted to BN) and the converted weights are loaded with
``strict=False``; missing keys are printed as a warning, unexpected keys or
shape mismatches are printed and make the script exit with status 1 without
writing ``DST``. Unknown source keys also fail the conversion (without
``--config`` they can be kept with ``--keep-unknown``). ``SRC`` is loaded with
``weights_only=True``; official training snapshots that also pickle
non-tensor objects need ``--trust-pickle`` (only for files you trust).
"""
import argparse
import os
import os.path as osp
import re
import sys
import tempfile
import warnings
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

# (pattern on the official key without ``module.``, replacement) in order;
# the first full match wins. ``\g<p>`` keeps the parameter/buffer name.
_P = r'(?P<p>weight|bias|running_mean|running_var|num_batches_tracked)'
# rules of the FPN skeleton shared with PFNet (lxtGH/PFSegNets keeps the
# same names): deep-stem backbone, PPM, laterals, fpn_out, fusion head
SKELETON_RULES: List[Tuple[re.Pattern, str]] = [
    (re.compile(p), r) for p, r in [
        (r'layer0\.0\.(?P<i>[01346])\.' + _P, r'backbone.stem.\g<i>.\g<p>'),
        (r'layer0\.1\.' + _P, r'backbone.stem.7.\g<p>'),
        (r'(?P<l>layer[1-4]\.\d+\.(?:conv[1-3]|bn[1-3]|downsample\.[01]))\.' +
         _P, r'backbone.\g<l>.\g<p>'),
        (r'head\.ppm\.stages\.(?P<i>\d+)\.1\.' + _P,
         r'neck.ppm.\g<i>.1.conv.\g<p>'),
        (r'head\.ppm\.stages\.(?P<i>\d+)\.2\.' + _P,
         r'neck.ppm.\g<i>.1.bn.\g<p>'),
        (r'head\.ppm\.bottleneck\.0\.' + _P,
         r'neck.ppm_bottleneck.0.conv.\g<p>'),
        (r'head\.ppm\.bottleneck\.1\.' + _P,
         r'neck.ppm_bottleneck.0.bn.\g<p>'),
        (r'head\.fpn_in\.(?P<i>\d+)\.0\.' + _P,
         r'neck.lateral_convs.\g<i>.conv.\g<p>'),
        (r'head\.fpn_in\.(?P<i>\d+)\.1\.' + _P,
         r'neck.lateral_convs.\g<i>.bn.\g<p>'),
        (r'head\.fpn_out\.(?P<i>\d+)\.0\.0\.' + _P,
         r'neck.fpn_convs.\g<i>.conv.\g<p>'),
        (r'head\.fpn_out\.(?P<i>\d+)\.0\.1\.' + _P,
         r'neck.fpn_convs.\g<i>.bn.\g<p>'),
        (r'head\.conv_last\.0\.0\.' + _P,
         r'decode_head.fusion_conv.conv.\g<p>'),
        (r'head\.conv_last\.0\.1\.' + _P, r'decode_head.fusion_conv.bn.\g<p>'),
        (r'head\.conv_last\.1\.' + _P, r'decode_head.conv_seg.\g<p>'),
    ]
]
_RULES: List[Tuple[re.Pattern, str]] = SKELETON_RULES + [
    (re.compile(p), r) for p, r in [
        (r'head\.fpn_out_align\.(?P<i>\d+)\.(?P<m>down_h|down_l|flow_make)\.' +
         _P, r'neck.fams.\g<i>.\g<m>.\g<p>'),
        (r'head\.dsn\.(?P<i>\d+)\.0\.' + _P,
         r'auxiliary_head.\g<i>.convs.0.conv.\g<p>'),
        (r'head\.dsn\.(?P<i>\d+)\.1\.' + _P,
         r'auxiliary_head.\g<i>.convs.0.bn.\g<p>'),
        (r'head\.dsn\.(?P<i>\d+)\.4\.' + _P,
         r'auxiliary_head.\g<i>.conv_seg.\g<p>'),
    ]
]
# official keys that are not network weights: dropped, but listed
_IGNORED = re.compile(r'criterion\..*')
_DSN_BIAS = re.compile(r'head\.dsn\.(?P<i>\d+)\.0\.bias')


class ConversionError(ValueError):
    """Raised when the input is not a convertible official state dict.

    Shared by the converters that reuse this module (pfnet2mmseg,
    isdnet2mmseg).
    """


def unwrap_state_dict(
    checkpoint,
    source: str = '<state dict>',
    wrappers: Tuple[str, ...] = ('state_dict', )
) -> Dict:
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
    out = OrderedDict()
    for k, v in checkpoint.items():
        out[k[len('module.'):] if k.startswith('module.') else k] = v
    return out


def map_key(key: str, rules: List[Tuple[re.Pattern, str]] = None):
    """Map one official key (without ``module.``) to its mmseg_ext name.

    Args:
        key (str): Official key, e.g. ``'head.fpn_in.0.0.weight'``.
        rules (list | None): ``(pattern, replacement)`` pairs tried in order;
            the first full match wins. Default: SFNet's.

    Returns:
        str | None: The new key, or None if no rule matches.
    """
    for pattern, repl in _RULES if rules is None else rules:
        if pattern.fullmatch(key):
            return pattern.sub(repl, key)
    return None


def convert_sfnet_with_report(
        state_dict: Dict) -> Tuple[Dict, List[str], List[str]]:
    """Convert an official SFNet ResNet state dict and report leftovers.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        tuple: ``(converted, unknown, ignored)``: the mmseg_ext state dict
        (unknown keys kept under their original names), the official keys
        no rule matched, and the ``criterion.*`` keys that were dropped.

    Raises:
        ConversionError: If the input is not a state dict, or a DSN conv bias
            has no matching BN running mean to fold into.
    """
    src = unwrap_state_dict(state_dict)
    converted = OrderedDict()
    unknown, ignored = [], []
    for key, value in src.items():
        if _IGNORED.fullmatch(key):
            ignored.append(key)
            continue
        m = _DSN_BIAS.fullmatch(key)
        if m:  # folded into the BN below
            mean_key = f'head.dsn.{m["i"]}.1.running_mean'
            if mean_key not in src:
                raise ConversionError(
                    f'cannot fold {key}: {mean_key} is missing')
            continue
        new_key = map_key(key)
        if new_key is None:
            unknown.append(key)
            converted[key] = value
            continue
        m = re.fullmatch(r'head\.dsn\.(?P<i>\d+)\.1\.running_mean', key)
        bias_key = f'head.dsn.{m["i"]}.0.bias' if m else None
        if bias_key is not None and bias_key in src:
            bias = src[bias_key]
            if bias.shape != value.shape:
                raise ConversionError(
                    f'cannot fold {bias_key} {tuple(bias.shape)} into '
                    f'{key} {tuple(value.shape)}')
            # BN(conv(x) + b; mean m) == BN(conv(x); mean m - b)
            value = (value.double() - bias.double()).to(value.dtype)
        converted[new_key] = value
    return converted, unknown, ignored


def convert_sfnet(state_dict: Dict) -> Dict:
    """Convert an official SFNet ResNet state dict to the mmseg_ext layout.

    See the module docstring for the key mapping and the DSN bias folding.
    Unknown keys are kept under their original names (so loading reports
    them as unexpected) and a warning lists them; ``criterion.*`` keys are
    dropped with a warning.

    Args:
        state_dict (dict): Official state dict, possibly under
            ``'state_dict'`` and/or with ``module.`` prefixes.

    Returns:
        OrderedDict: ``backbone.*``, ``neck.*``, ``decode_head.*`` and
        ``auxiliary_head.{0,1,2}.*`` tensors.
    """
    converted, unknown, ignored = convert_sfnet_with_report(state_dict)
    if unknown:
        warnings.warn(f'sfnet2mmseg: {len(unknown)} unknown official keys '
                      f'kept unconverted: {unknown}')
    if ignored:
        warnings.warn(f'sfnet2mmseg: dropped non-network keys: {ignored}')
    return converted


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
    converted: Dict,
    config: str,
    no_init: Tuple[str, ...] = ('backbone', 'refine_head.shallow_net')
) -> Tuple[List[str], List[str], List[str]]:
    """Build the model of ``config`` and load ``converted`` non-strictly.

    SyncBN layers are reverted to BN so that this runs on CPU without a
    process group; pretraining (``model.pretrained`` and the ``init_cfg`` of
    the ``no_init`` sub-models) is disabled.

    Args:
        converted (dict): Converted state dict.
        config (str): mmseg config path.
        no_init (tuple[str]): Dotted paths under ``model`` whose
            ``init_cfg`` is cleared when present. Default: the backbone and
            ISDNet's STDC shallow net.

    Returns:
        tuple: ``(missing, unexpected, mismatched)`` key lists; mismatched
        entries read ``'key: checkpoint (..) vs model (..)'``.
    """
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.utils import import_modules_from_strings
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    cfg = Config.fromfile(config)
    register_all_modules()
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    else:
        import mmseg_ext  # noqa: F401
    cfg.model.pretrained = None
    for path in no_init:
        part = cfg.model
        for name in path.split('.'):
            part = part.get(name) if part is not None else None
        if part is not None:
            part.init_cfg = None
    model = revert_sync_batchnorm(MODELS.build(cfg.model))
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


def save_atomic(obj, dst: str, prefix: str = '.sfnet2mmseg-') -> None:
    """``torch.save`` to a temp file next to ``dst``, then rename it.

    Args:
        obj: Object to save.
        dst (str): Final path; never left half-written.
        prefix (str): Name prefix of the temporary file.
    """
    dst_dir = osp.dirname(osp.abspath(dst))
    os.makedirs(dst_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix='.tmp', dir=dst_dir)
    try:
        with os.fdopen(fd, 'wb') as f:
            torch.save(obj, f)
        os.replace(tmp, dst)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def build_parser(description: str = None) -> argparse.ArgumentParser:
    """The converters' shared command line.

    ``SRC DST [--config CFG] [--keep-unknown] [--trust-pickle]``; sibling
    converters add their own options to the returned parser.
    """
    parser = argparse.ArgumentParser(
        description=description or 'Convert an official SFNet '
        '(lxtGH/SFSegNets) ResNet checkpoint to the mmseg_ext layout.')
    parser.add_argument('src', help='official checkpoint file')
    parser.add_argument('dst', help='output checkpoint path')
    parser.add_argument(
        '--config',
        help='mmseg config to build the model from and check '
        'that every converted key loads')
    parser.add_argument(
        '--keep-unknown',
        action='store_true',
        help='write unknown official keys unconverted instead of failing '
        '(not allowed together with --config, where they are unexpected)')
    parser.add_argument(
        '--trust-pickle',
        action='store_true',
        help='load SRC with weights_only=False (trusted files only)')
    return parser


def parse_args(argv=None, description: str = None):
    """Parse the command line."""
    return build_parser(description).parse_args(argv)


def main(argv=None,
         convert=None,
         description: str = None,
         meta: dict = None,
         *,
         args: argparse.Namespace = None,
         unwrap=unwrap_state_dict,
         dropped_note: str = 'dropped {n} non-network keys: {keys}') -> int:
    """Run the converter CLI; returns the exit status.

    Sibling converters reuse this CLI through the hooks: ``convert`` (state
    dict -> ``(converted, unknown, dropped)``, default
    :func:`convert_sfnet_with_report`), ``description`` and ``meta``;
    ``args`` (already parsed from ``argv`` with extra options added to
    :func:`build_parser`), ``unwrap`` (finds the state dict in ``SRC``;
    called as ``unwrap(checkpoint, path)``) and ``dropped_note`` (the line
    printed for the dropped keys, formatted with ``n`` and ``keys``).
    ``DST``'s temporary file is named after ``meta['converter']``.
    """
    args = args or parse_args(argv, description)
    convert = convert or convert_sfnet_with_report
    try:
        checkpoint = load_source(args.src, args.trust_pickle)
        converted, unknown, dropped = convert(unwrap(checkpoint, args.src))
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'{args.src}: converted {len(converted) - len(unknown)} tensors')
    if dropped:
        print(dropped_note.format(n=len(dropped), keys=dropped))
    failed = False
    if unknown:
        print(
            f'UNKNOWN official keys ({len(unknown)}), no mapping rule:',
            file=sys.stderr)
        for k in unknown:
            print(f'  {k}', file=sys.stderr)
        failed = not args.keep_unknown or bool(args.config)
    if args.config:
        missing, unexpected, mismatched = check_against_config(
            converted, args.config)
        if missing:
            print(f'WARNING: {len(missing)} model keys MISSING from the '
                  'checkpoint (they keep their initialisation):')
            for k in missing:
                print(f'  {k}')
        if unexpected:
            print(
                f'UNEXPECTED keys ({len(unexpected)}) not in the model of '
                f'{args.config}:',
                file=sys.stderr)
            for k in unexpected:
                print(f'  {k}', file=sys.stderr)
        if mismatched:
            print(f'SHAPE MISMATCHES ({len(mismatched)}):', file=sys.stderr)
            for k in mismatched:
                print(f'  {k}', file=sys.stderr)
        failed = failed or bool(unexpected) or bool(mismatched)
        if not (missing or unexpected or mismatched):
            print(f'all {len(converted)} keys match the model of '
                  f'{args.config}')
    if failed:
        print(
            f'error: conversion of {args.src} failed; {args.dst} not '
            'written',
            file=sys.stderr)
        return 1
    meta = dict(
        meta or {
            'converter':
            'tools/model_converters/sfnet2mmseg.py',
            'source_layout':
            'lxtGH/SFSegNets AlignNetResNet',
            'dsn_conv_bias':
            'folded into auxiliary_head.*.convs.0.bn.'
            'running_mean',
        },
        converted_from=osp.basename(args.src))
    if args.config:
        meta['config'] = args.config
    tool = osp.splitext(osp.basename(meta['converter']))[0]
    save_atomic({
        'state_dict': converted,
        'meta': meta
    },
                args.dst,
                prefix=f'.{tool}-')
    print(f'saved {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
