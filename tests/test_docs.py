"""The documentation builds without a warning and the README's links hold.

``docs/en`` is built as a user would build it (Sphinx + MyST, the API
reference from the docstrings) with ``-W --keep-going``: a broken
cross-reference, a link to a missing page or heading, a page outside every
toctree or a docstring that is not valid reST fails the test, and the
output lists every warning at once. The README is not part of the Sphinx
build, so its relative links are checked here file by file.
"""
import os.path as osp
import re
import subprocess
import sys

import pytest
from conftest import REPO

pytestmark = [pytest.mark.docs, pytest.mark.slow]

# [text](target) in Markdown, not images' sources inside code spans
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
FENCE = re.compile(r'^```.*?^```', re.S | re.M)


def relative_links(markdown: str):
    """Targets of the Markdown links in ``markdown`` that point into the
    repository (no URL scheme, no bare ``#anchor``), outside code blocks
    and code spans."""
    text = FENCE.sub('', markdown)
    text = re.sub(r'`[^`\n]*`', '', text)
    for target in LINK.findall(text):
        if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:',
                    target) or target.startswith('#'):
            continue
        yield target


def test_relative_links_finds_targets():
    text = ('[a](docs/x.md#h) [b](https://e.org) [c](#top) `[d](no.md)`\n'
            '```\n[e](no2.md)\n```\n![f](img.png)')
    assert list(relative_links(text)) == ['docs/x.md#h', 'img.png']


def test_readme_relative_links_exist():
    with open(osp.join(REPO, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    targets = list(relative_links(readme))
    assert targets, 'README.md has no relative link: is the parser broken?'
    missing = [
        t for t in targets if not osp.exists(osp.join(REPO,
                                                      t.split('#')[0]))
    ]
    assert not missing, f'README.md links to missing files: {missing}'


def test_sphinx_build_has_no_warning(tmp_path):
    out = tmp_path / 'html'
    cmd = [
        sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-b', 'html',
        '-q',
        osp.join(REPO, 'docs', 'en'),
        str(out)
    ]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, (
        'sphinx-build -W failed (every warning is an error):\n'
        f'{proc.stderr[-8000:]}{proc.stdout[-2000:]}')
    assert (out / 'index.html').is_file()
    assert (out / 'api.html').is_file()
