#!/usr/bin/env python
"""Rebuild a golden fixture of ``tests/data/`` from the official code.

``NAME`` selects ``tools.fidelity.golden.NAME`` (``sfnet``, ``pfnet``,
``pfnet_isaid_data``, ...), whose ``build(out_path, **opts)`` runs the
official code of the model; put its checkout on ``PYTHONPATH`` (see the
module's docstring for the repository, the commit and what else it needs)::

    PYTHONPATH=/path/to/SFSegNets python -m tools.misc.make_golden sfnet \\
        --out tests/data/sfnet_golden.pth
    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden pfnet \\
        --out tests/data/pfnet_golden.pth
    PYTHONPATH=/path/to/PFSegNets python -m tools.misc.make_golden \\
        pfnet_isaid_data --out tests/data/pfnet_isaid_data_golden.pth \\
        --opt data_root=data/isaid

The training-step fixtures (``sfnet_train``, ...) go to
``tests/data/golden/``::

    PYTHONPATH=/path/to/SFSegNets python -m tools.misc.make_golden \\
        sfnet_train --out tests/data/golden/sfnet_train_golden.pth
    ISDNET_ROOT=/path/to/ISDNet python -m tools.misc.make_golden \\
        isdnet_train --out tests/data/golden/isdnet_train_golden.pth

(ISDNet's checkout goes in ``ISDNET_ROOT``, not on ``PYTHONPATH``: its
package is also named ``mmseg``.)

``--opt KEY=VALUE`` (repeatable) passes a string keyword to ``build``.
Exit status 1 with the reason on stderr if the official code is missing.
"""
import argparse
import sys

from tools.fidelity.golden.common import build_golden


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Rebuild tests/data/NAME_golden.pth from the official '
        'code (on PYTHONPATH).')
    parser.add_argument(
        'name',
        help='fixture: sfnet, pfnet, pfnet_isaid_data, sfnet_train, ...')
    parser.add_argument('--out', required=True, help='output .pth file')
    parser.add_argument(
        '--opt',
        action='append',
        default=[],
        metavar='KEY=VALUE',
        help='keyword argument of build() (a string)')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        opts = dict(opt.split('=', 1) for opt in args.opt)
    except ValueError:
        print(f'--opt takes KEY=VALUE, got {args.opt}', file=sys.stderr)
        return 2
    try:
        build_golden(args.name, args.out, **opts)
    except ImportError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
