"""Command-line entry points that mim finds inside the installed package.

``mim test mmseg_ext CONFIG --checkpoint CKPT ...`` runs
``<site-packages>/mmseg_ext/tools/test.py`` (mim looks for ``tools/test.py``
under the installed distribution), i.e. :mod:`mmseg_ext.tools.test`.
"""
