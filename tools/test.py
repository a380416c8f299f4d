"""Test, evaluate or format-only: ``python tools/test.py CONFIG CKPT ...``.

The implementation lives in :mod:`mmseg_ext.tools.test`, where
``mim test mmseg_ext`` finds it too; see its docstring for the options.
"""
from mmseg_ext.tools.test import main

if __name__ == '__main__':
    main()
