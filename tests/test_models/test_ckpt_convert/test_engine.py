"""Unit tests of the checkpoint-conversion engine (ckpt_convert.engine, .cli).

The model key maps are tested against the official layouts in the parity
tests (test_sfnet_parity.py, test_pfnet_parity.py, test_isdnet_parity.py)
and test_isdnet2mmseg.py.
"""
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from conftest import REPO

from mmseg_ext.models.ckpt_convert import cli, engine
from mmseg_ext.models.ckpt_convert.cli import ConverterSpec
from mmseg_ext.models.ckpt_convert.engine import (PARAM, ConversionError,
                                                  apply_rules, compile_rules,
                                                  map_key, unwrap_state_dict,
                                                  warn_leftovers)

R18_CFG = osp.join(REPO, 'configs', 'sfnet',
                   'sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py')

RULES = compile_rules([
    (r'head\.fpn_in\.(?P<i>\d+)\.0\.' + PARAM,
     r'neck.lateral_convs.\g<i>.conv.\g<p>'),
    (r'head\.(?P<k>.+)', lambda m: 'decode_head.' + m['k'].upper()),
])


def _spec(**kwargs):
    kwargs.setdefault('convert',
                      lambda sd: apply_rules(sd, RULES, re.compile('x')))
    return ConverterSpec(
        converter='tools/model_converters/toy2mmseg.py',
        description='toy',
        source_layout='toy layout',
        **kwargs)


# ------------------------------------------------------------ unwrap ----
def test_unwrap_wrappers_and_module_prefix():
    w = torch.zeros(1)
    sd = {'module.a.weight': w, 'b.bias': w}
    assert list(unwrap_state_dict({'state_dict':
                                   sd})) == ['a.weight', 'b.bias']
    # the first wrapper holding a dict wins; others are not looked at
    wrapped = {'meta': {}, 'model': {'module.c': w}, 'state_dict': 3}
    assert list(unwrap_state_dict(wrapped,
                                  wrappers=('state_dict', 'model'))) == ['c']
    assert list(unwrap_state_dict(sd)) == ['a.weight', 'b.bias']


@pytest.mark.parametrize('bad,match', [
    ([1, 2], 'not a state dict .*got list'),
    ({}, 'not a state dict .*got dict'),
    ({
        'state_dict': {
            'a': torch.zeros(1),
            'epoch': 3
        }
    }, '1 entries are not'),
])
def test_unwrap_rejects_non_state_dicts(bad, match):
    with pytest.raises(ConversionError, match=match):
        unwrap_state_dict(bad, 'src.pth')
    with pytest.raises(ConversionError, match='^src.pth: '):
        unwrap_state_dict(bad, 'src.pth')


# ------------------------------------------------------------- rules ----
def test_rule_application_first_full_match_wins():
    assert map_key('head.fpn_in.2.0.weight',
                   RULES) == 'neck.lateral_convs.2.conv.weight'
    # the second rule (a function of the match) only when the first fails
    assert map_key('head.fpn_in.2.0.scale',
                   RULES) == 'decode_head.FPN_IN.2.0.SCALE'
    assert map_key('xhead.fpn_in.2.0.weight', RULES) is None  # full match


def test_apply_rules_keeps_and_lists_unknown_and_dropped():
    t = [torch.full((1, ), float(i)) for i in range(4)]
    sd = {
        'head.fpn_in.0.0.weight': t[0],
        'other.weight': t[1],
        'criterion.weight': t[2],
        'head.conv.bias': t[3],
    }
    converted, unknown, dropped = apply_rules(sd, RULES,
                                              re.compile(r'criterion\..*'))
    assert list(converted) == [
        'neck.lateral_convs.0.conv.weight', 'other.weight',
        'decode_head.CONV.BIAS'
    ]  # source order; unknown keys under their own name
    assert converted['other.weight'] is t[1]
    assert unknown == ['other.weight'] and dropped == ['criterion.weight']


def test_warn_leftovers():
    result = engine.ConversionResult({'a': 1}, ['u'], ['d'])
    with pytest.warns(UserWarning, match=r"toy: 1 unknown .*\['u'\]"):
        assert warn_leftovers(result, 'toy') == {'a': 1}
    with pytest.warns(UserWarning, match=r"toy: gone: \['d'\]"):
        warn_leftovers(result, 'toy', 'gone')


# ------------------------------------------------------------ report ----
def test_report_missing_unexpected_mismatched():
    sd = {
        'backbone.stem.0.weight': torch.zeros(64, 3, 3, 3),
        'decode_head.conv_seg.weight': torch.zeros(3, 128, 1, 1),
        'head.bogus.weight': torch.zeros(2),
    }
    missing, unexpected, mismatched = engine.check_against_config(sd, R18_CFG)
    assert unexpected == ['head.bogus.weight']
    assert mismatched == [
        'decode_head.conv_seg.weight: checkpoint (3, 128, 1, 1) vs model '
        '(19, 128, 1, 1)'
    ]
    assert 'backbone.stem.0.weight' not in missing
    assert 'decode_head.conv_seg.weight' in missing  # not loaded
    assert len(missing) == 188  # everything else of the model


# -------------------------------------------------------------- save ----
def test_atomic_save_leaves_no_file_on_failure(tmp_path, monkeypatch):
    dst = tmp_path / 'out' / 'model.pth'
    engine.save_checkpoint({'a': torch.ones(2)}, {'m': 1}, str(dst))
    saved = torch.load(dst, weights_only=True)
    assert torch.equal(saved['state_dict']['a'], torch.ones(2))
    assert saved['meta'] == {'m': 1}

    def broken_save(obj, f):
        f.write(b'half a checkpoint')
        raise RuntimeError('disk full')

    monkeypatch.setattr(engine.torch, 'save', broken_save)
    with pytest.raises(RuntimeError, match='disk full'):
        engine.save_checkpoint({'a': torch.zeros(2)}, {}, str(dst))
    with pytest.raises(RuntimeError, match='disk full'):
        engine.save_checkpoint({}, {}, str(tmp_path / 'new.pth'))
    # the previous file is untouched, no temporary or new file is left
    assert sorted(p.name for p in tmp_path.rglob('*')) == ['model.pth', 'out']
    assert torch.equal(
        torch.load(dst, weights_only=True)['state_dict']['a'], torch.ones(2))


# --------------------------------------------------------------- CLI ----
def test_run_unknown_keys_fail_unless_kept(tmp_path, capsys):
    src = tmp_path / 'src.pth'
    torch.save({'state_dict': {'module.zzz': torch.zeros(1)}}, src)
    dst = tmp_path / 'dst.pth'
    assert cli.main(_spec(), [str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert 'UNKNOWN official keys (1), no mapping rule:\n  zzz' in err
    assert f'{dst} not written' in err and not dst.exists()
    assert cli.main(
        _spec(meta={'extra': 1}),
        [str(src), str(dst), '--keep-unknown']) == 0
    assert capsys.readouterr().out.endswith(f'saved {dst}\n')
    saved = torch.load(dst, weights_only=True)
    assert list(saved['state_dict']) == ['zzz']
    assert saved['meta'] == {
        'converter': 'tools/model_converters/toy2mmseg.py',
        'source_layout': 'toy layout',
        'extra': 1,
        'converted_from': 'src.pth'
    }


def test_run_dropped_note_and_load_errors(tmp_path, capsys):
    src = tmp_path / 'src.pth'
    torch.save({
        'head.fpn_in.1.0.bias': torch.zeros(1),
        'x': torch.ones(1)
    }, src)
    dst = tmp_path / 'dst.pth'
    assert cli.main(
        _spec(dropped_note='gone {n}: {keys}'), [str(src), str(dst)]) == 0
    out = capsys.readouterr().out
    assert f'{src}: converted 1 tensors\ngone 1: [\'x\']\n' in out
    # a pickle that weights_only refuses: the hint names --trust-pickle
    torch.save({'state_dict': {'a': torch.zeros(1)}, 'cfg': object}, src)
    assert cli.main(_spec(), [str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert f'error: {src}: cannot be loaded' in err
    assert '--trust-pickle' in err
    assert cli.main(_spec(), [str(tmp_path / 'none.pth'), str(dst)]) == 1
    assert 'none.pth: no such file' in capsys.readouterr().err


@pytest.mark.parametrize('tool', ['sfnet', 'pfnet', 'isdnet'])
def test_cli_scripts_are_thin(tool):
    """Each script only calls ``mmseg_ext.models.ckpt_convert.<tool>``."""
    path = osp.join(REPO, 'tools', 'model_converters', f'{tool}2mmseg.py')
    with open(path) as f:
        code = f.read().split('"""')[-1]
    assert f'from mmseg_ext.models.ckpt_convert.{tool} import main' in code
    assert len(code.strip().splitlines()) <= 6
    proc = subprocess.run([sys.executable, path, '--help'],
                          capture_output=True,
                          text=True,
                          timeout=120)
    assert proc.returncode == 0 and 'SRC' not in proc.stderr
    assert '--keep-unknown' in proc.stdout
