"""tools/fps_test.py's library (:mod:`mmseg_ext.benchmark`) runs the
two-branch ISDNet next to its DeepLabV3 baseline (tensor-mode forward, FLOPs
analysis, one table). Tiny input, no timing."""
import os.path as osp

import pytest

from mmseg_ext.apis import builder
from mmseg_ext.benchmark import cli

ISDNET = 'configs/isdnet/isdnet_r18-d8_4xb2-80k_deepglobe-1224x1224.py'
DEEPLAB = 'configs/isdnet/deeplabv3_r18-d8_4xb2-80k_deepglobe-1224x1224.py'

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


def test_isdnet_and_baseline_in_one_table(monkeypatch, capsys):
    outputs = []
    revert = builder.revert_sync_batchnorm

    def spy(model):
        model = revert(model)
        model.register_forward_hook(lambda m, args, out: outputs.append(
            (type(m).__name__, tuple(out.shape))))
        return model

    monkeypatch.setattr(builder, 'revert_sync_batchnorm', spy)
    rows = cli.main(f'{ISDNET} {DEEPLAB} --height 64 --width 96 '
                    '--device cpu --warmup 0 --iters 1'.split())
    table = capsys.readouterr().out
    assert [r['config'] for r in rows
            ] == [osp.splitext(osp.basename(p))[0] for p in (ISDNET, DEEPLAB)]
    assert all(r['gflops'] and r['gflops'] > 0 for r in rows)
    assert all(f'| {r["config"]} | 64x96 |' in table for r in rows)
    # tensor mode: ISDNet's refined logits at 1/8 of the full input (both
    # branches ran), DeepLabV3's ASPP logits at its output stride 8
    assert ('ISDNetEncoderDecoder', (1, 7, 8, 12)) in outputs
    assert ('EncoderDecoder', (1, 7, 8, 12)) in outputs
    # the shallow branch and the RAF add parameters on top of the deep one
    isd, deeplab = rows
    assert isd['params'] > deeplab['params']
