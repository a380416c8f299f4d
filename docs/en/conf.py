"""Sphinx configuration of the mmseg_ext documentation (docs/en).

Build (``tests/test_docs.py`` runs the same in CI)::

    .venv/bin/python -m sphinx -W --keep-going -b html docs/en \\
        docs/en/_build/html

Markdown pages go through myst-parser (mmseg's toolchain); the API reference
(``api.rst``) is autodoc + napoleon over the checkout's Google-style
docstrings. The build is offline: no intersphinx, nothing is fetched. Before
reading the pages it renders the measurement tables and figures of
``docs/en/results/`` into ``docs/en/_generated/`` (``python -m
tools.docs.render``), which ``benchmarks.md`` and ``model_zoo.md`` include.
"""
import os.path as osp

DOCS = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(osp.dirname(DOCS))
# Build from the repository root with ``python -m sphinx`` (README, and
# tests/test_docs.py): ``-m`` puts the working directory first on the path,
# so the checkout's mmseg_ext is documented (not an older installed copy)
# and the renderer (tools.docs, development tooling only the checkout has)
# imports. Nothing here edits sys.path.

from mmseg_ext.version import __version__  # noqa: E402

project = 'mmseg_ext'
author = 'mmseg_ext contributors'
copyright = 'mmseg_ext contributors'
version = __version__
release = __version__

extensions = [
    'myst_parser',
    'sphinx.ext.autodoc',
    'sphinx.ext.napoleon',
]

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
root_doc = 'index'
# _generated/ holds the renderer's fragments, which pages pull in with MyST's
# {include}; they are not pages of their own. _build is the usual output.
exclude_patterns = ['_build', '_generated', 'Thumbs.db', '.DS_Store']

# Markdown: heading anchors (``page.md#some-heading``), so that a link to a
# missing page or heading is a build warning, which -W turns into an error.
myst_heading_anchors = 4

# Every warning counts (the build runs with -W); nothing is silenced.
suppress_warnings = []

# API reference: Google-style docstrings, members in source order, the
# signature's type hints in the parameter descriptions.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False
autodoc_member_order = 'bysource'
autodoc_typehints = 'description'
autodoc_default_options = {
    'members': True,
    'show-inheritance': True,
}
# A method without a docstring of its own is left out instead of showing the
# docstring of the mmseg/mmengine method it overrides: those are not ours to
# fix and some of them are not valid reST.
autodoc_inherit_docstrings = False

html_theme = 'sphinx_rtd_theme'
html_title = f'mmseg_ext {__version__}'


def _render_results(app):
    """Render ``docs/en/results/`` into ``docs/en/_generated/``.

    The renderer refuses a result whose metadata is missing or stale; that
    error stops the build, as a broken page would.
    """
    try:
        from tools.docs import render
    except ImportError as err:
        raise RuntimeError(
            f'build the docs from the repository root {REPO} with '
            '`python -m sphinx ... docs/en OUT`: the renderer tools.docs '
            'is imported from the working directory') from err
    # results relative to the root: the pages show the path
    render.render(
        osp.relpath(osp.join(DOCS, 'results'), REPO),
        osp.join(DOCS, '_generated'), osp.join(REPO, 'model-index.yml'))


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out class members that are not mmseg_ext's documentation.

    * The field accessors of a NamedTuple: its docstring's ``Attributes:``
      section describes the fields, and documenting the generated accessors
      ("Alias for field number 0") too would describe every field twice (a
      duplicate-object warning).
    * Functions of another package bound as a class attribute (e.g.
      ``predict = EncoderDecoder.predict``): their docstrings are mmseg's,
      not ours to fix, and some of them are not valid reST.
    """
    if what != 'class':
        return None
    if type(obj).__name__ == '_tuplegetter':
        return True
    module = getattr(obj, '__module__', None) or ''
    if callable(obj) and module and not module.startswith('mmseg_ext'):
        return True
    return None


def setup(app):
    app.connect('builder-inited', _render_results)
    app.connect('autodoc-skip-member', _skip_foreign_members)
