"""Converters on bad input and after a kill: a re-run removes the ``.part``
files of its own outputs (never other files, never the download), errors
start a line of their own, and the scripts exit 1 with one ``error:`` line
and no traceback."""
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
from conftest import REPO, clean_env, tree_snapshot
from PIL import Image

from mmseg_ext.utils.atomic_io import remove_stale_temps

TOOLS = osp.join(REPO, 'tools', 'dataset_converters')


def _script(name, *args):
    env = dict(clean_env(), PYTHONUNBUFFERED='1')
    return subprocess.run(
        [sys.executable,
         osp.join(TOOLS, name), *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True)


def _isaid_copy(tmp_path, data_root):
    src = tmp_path / 'iSAID'
    shutil.copytree(osp.join(data_root, 'isaid', 'train'), src / 'train')
    return src


def _error_line(out):
    lines = [ln for ln in out.splitlines() if 'error:' in ln]
    assert len(lines) == 1 and lines[0].startswith('error: '), out
    assert 'Traceback' not in out
    return lines[0]


def test_isaid_rerun_removes_its_stale_parts_only(tmp_path, data_root):
    src = _isaid_copy(tmp_path, data_root)
    out = tmp_path / 'out'
    img_dir = out / 'img_dir' / 'train'
    img_dir.mkdir(parents=True)
    stale = img_dir / '.P0005_0_884_0_896.png.k3j_9x2a.part'  # killed write
    stale.write_bytes(b'half a png')
    keep = [img_dir / '.notes.part', img_dir / 'P0005.png.part']
    for f in keep:
        f.write_bytes(b'not ours')
    planted = src / 'train' / 'images' / '.P0005.png.abcdefgh.part'
    planted.write_bytes(b'in the download')
    before = tree_snapshot(src)
    proc = _script('isaid.py', src, '-o', out, '--splits', 'train')
    assert proc.returncode == 0, proc.stdout
    assert f'removed 1 temporary file(s) an interrupted run left in ' \
        f'{img_dir}' in proc.stdout
    assert not stale.exists() and all(f.exists() for f in keep)
    assert tree_snapshot(src) == before
    assert any(f.endswith('.png') for f in os.listdir(img_dir))


def test_isaid_error_on_its_own_line(tmp_path, data_root):
    src = _isaid_copy(tmp_path, data_root)
    mask = src / 'train' / 'Semantic_masks' / 'images' / \
        'P0005_instance_color_RGB.png'
    rgb = np.array(Image.open(mask).convert('RGB'))
    rgb[0, 0] = (12, 34, 56)  # no iSAID colour
    Image.fromarray(rgb).save(mask)
    out = tmp_path / 'out'
    proc = _script('isaid.py', src, '-o', out, '--splits', 'train')
    assert proc.returncode == 1
    assert str(mask) in _error_line(proc.stdout)
    assert not [f for *_, fs in os.walk(out) for f in fs if f.endswith('.png')]


def test_deepglobe_bad_mask_one_line_exit_1(tmp_path, data_root):
    src = tmp_path / 'dg'
    shutil.copytree(osp.join(data_root, 'deepglobe'), src)
    mask = src / 'train' / '6399_mask.png'
    rgb = np.array(Image.open(mask).convert('RGB'))
    rgb[0, 0] = (255, 0, 0)  # thresholds to no DeepGlobe class
    Image.fromarray(rgb).save(mask)
    lists = tmp_path / 'lists'
    lists.mkdir()
    (lists / 'train.txt').write_text('6399_sat.jpg\n')
    (lists / 'crossvali.txt').write_text('')
    (lists / 'test.txt').write_text('')
    proc = _script('deepglobe.py', src, '--splits-dir', lists, '-o',
                   tmp_path / 'out')
    assert proc.returncode == 1
    line = _error_line(proc.stdout)
    assert '6399_mask.png' in line and 'no DeepGlobe class' in line


def test_inria_and_pascal_context_missing_input_one_line_exit_1(tmp_path):
    proc = _script('inria.py', tmp_path / 'nowhere', '--splits-dir',
                   tmp_path / 'no_lists', '-o', tmp_path / 'out')
    assert proc.returncode == 1
    assert 'no_lists' in _error_line(proc.stdout) or \
        'nowhere' in _error_line(proc.stdout)
    (tmp_path / 'VOC2010').mkdir()
    bad = tmp_path / 'trainval_merged.json'
    bad.write_text('{"images": []}')
    proc = _script('pascal_context.py', tmp_path, bad)
    assert proc.returncode == 1
    assert _error_line(proc.stdout) == (
        f"error: {bad}: missing key 'annos_segmentation' (expected the "
        "PASCAL-in-Detail trainval_merged.json)") or \
        str(bad) in _error_line(proc.stdout)


def test_remove_stale_temps_needs_the_exact_temp_form(tmp_path):
    names = [
        '.a.png.abcd1234.part', '.a.png.abc.part', 'a.png',
        '.b.txt.abcd1234.part'
    ]
    for n in names:
        (tmp_path / n).write_bytes(b'')
    (tmp_path / '.c.png.abcd1234.part').mkdir()
    os.symlink(tmp_path / 'a.png', tmp_path / '.d.png.abcd1234.part')
    assert remove_stale_temps(
        str(tmp_path),
        suffixes=('.png', )) == [str(tmp_path / '.a.png.abcd1234.part')]
    assert remove_stale_temps(
        str(tmp_path),
        names={'b.txt'}) == [str(tmp_path / '.b.txt.abcd1234.part')]
    assert sorted(os.listdir(tmp_path)) == [
        '.a.png.abc.part', '.c.png.abcd1234.part', '.d.png.abcd1234.part',
        'a.png'
    ]
