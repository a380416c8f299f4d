"""Command-line pieces the package's entry points share."""
import argparse

from mmengine.config import DictAction


def add_cfg_options(parser: argparse.ArgumentParser,
                    example: str = 'model.decode_head.num_classes=2') -> None:
    """Add mmseg's ``--cfg-options key=value ...`` (``DictAction``) to
    ``parser``; ``example`` goes into the help text."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help=f'override config settings, key=value pairs, e.g. {example}')
