"""The converters' command line: one runner, one small spec per model.

``SRC DST [--config CFG] [--keep-unknown] [--trust-pickle]``: load ``SRC``
safely, convert it with the model's key map, print what was dropped or not
recognised, check it against ``--config`` (missing keys warn; unexpected or
mis-shaped keys fail) and write ``DST`` atomically, or nothing on failure
(exit status 1). A :class:`ConverterSpec` holds what differs between models.
"""
import argparse
import os.path as osp
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .engine import (ConversionError, ConversionResult, check_against_config,
                     load_source, save_checkpoint, unwrap_state_dict)


@dataclass(frozen=True)
class ConverterSpec:
    """What distinguishes one converter's command line from another's.

    Attributes:
        converter (str): The script, recorded as ``meta['converter']``.
        description (str): ``--help`` text.
        convert (callable): Unwrapped state dict -> :class:`ConversionResult`.
        source_layout (str): ``meta['source_layout']``.
        meta (dict): Further ``meta`` entries.
        wrappers (tuple[str]): Checkpoint keys that may hold the state dict.
        dropped_note (str): Line printed for the dropped keys (formatted with
            ``n`` and ``keys``).
        no_init (tuple[str]): Sub-models whose pretraining is disabled for
            ``--config`` (see :func:`check_against_config`).
        config_prefix (str): Where the converted weights sit in the model
            of ``--config`` (e.g. ``'backbone.'`` for ImageNet backbone
            weights): the keys are checked under it and only model keys
            under it count as missing. Default: ``''`` (whole model).
    """
    converter: str
    description: str
    convert: Callable[[Dict], ConversionResult]
    source_layout: str
    meta: Dict = field(default_factory=dict)
    wrappers: Tuple[str, ...] = ('state_dict', )
    dropped_note: str = 'dropped {n} non-network keys: {keys}'
    no_init: Tuple[str, ...] = ('backbone', )
    config_prefix: str = ''


def build_parser(spec: ConverterSpec) -> argparse.ArgumentParser:
    """``SRC DST [--config CFG] [--keep-unknown] [--trust-pickle]``.

    A converter with more options adds them to the returned parser.
    """
    parser = argparse.ArgumentParser(description=spec.description)
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


def _print_keys(title: str, keys: List[str], file=None) -> None:
    print(title, file=file)
    for k in keys:
        print(f'  {k}', file=file)


def _config_report(converted: Dict,
                   config: str,
                   no_init: Tuple[str, ...],
                   prefix: str = '') -> bool:
    """Print the missing/unexpected/mis-shaped report; True if it fails."""
    missing, unexpected, mismatched = check_against_config(
        {
            prefix + k: v
            for k, v in converted.items()
        }, config, no_init)
    missing = [k for k in missing if k.startswith(prefix)]
    if missing:
        _print_keys(
            f'WARNING: {len(missing)} model keys MISSING from the '
            'checkpoint (they keep their initialisation):', missing)
    if unexpected:
        _print_keys(
            f'UNEXPECTED keys ({len(unexpected)}) not in the model of '
            f'{config}:', unexpected, sys.stderr)
    if mismatched:
        _print_keys(f'SHAPE MISMATCHES ({len(mismatched)}):', mismatched,
                    sys.stderr)
    if not (missing or unexpected or mismatched):
        print(f'all {len(converted)} keys match the model of {config}')
    return bool(unexpected) or bool(mismatched)


def run(spec: ConverterSpec, args: argparse.Namespace) -> int:
    """Convert ``args.src`` to ``args.dst`` as ``spec`` says.

    Unknown source keys fail the conversion unless ``--keep-unknown`` is
    given without ``--config``; with ``--config``, unexpected keys or shape
    mismatches fail it too (missing keys are a warning). A failed
    conversion writes nothing.

    Args:
        spec (ConverterSpec): The converter.
        args (argparse.Namespace): Parsed by :func:`build_parser`'s parser.

    Returns:
        int: Exit status: 0 when ``DST`` was written, 1 otherwise.
    """
    try:
        checkpoint = load_source(args.src, args.trust_pickle)
        converted, unknown, dropped = spec.convert(
            unwrap_state_dict(checkpoint, args.src, spec.wrappers))
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    print(f'{args.src}: converted {len(converted) - len(unknown)} tensors')
    if dropped:
        print(spec.dropped_note.format(n=len(dropped), keys=dropped))
    failed = False
    if unknown:
        _print_keys(
            f'UNKNOWN official keys ({len(unknown)}), no mapping rule:',
            unknown, sys.stderr)
        failed = not args.keep_unknown or bool(args.config)
    if args.config:
        failed = _config_report(converted, args.config, spec.no_init,
                                spec.config_prefix) or failed
    if failed:
        print(
            f'error: conversion of {args.src} failed; {args.dst} not '
            'written',
            file=sys.stderr)
        return 1
    meta = dict(
        converter=spec.converter,
        source_layout=spec.source_layout,
        **spec.meta,
        converted_from=osp.basename(args.src))
    if args.config:
        meta['config'] = args.config
    save_checkpoint(converted, meta, args.dst)
    print(f'saved {args.dst}')
    return 0


def main(spec: ConverterSpec, argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` with :func:`build_parser` and :func:`run` ``spec``."""
    return run(spec, build_parser(spec).parse_args(argv))
