"""Tests for ``tools/fps_test.py``'s library, :mod:`mmseg_ext.benchmark`
(run in-process through ``cli.main``, tiny inputs, no timing)."""
import json
import os.path as osp

import pytest
import torch

from mmseg_ext.benchmark import (FORWARDS, benchmark, cli, format_table,
                                 make_forward, measure, register_forward)

R18 = 'configs/sfnet/sfnet_r18-d32_4xb2-50k_cityscapes-512x1024.py'
R50 = 'configs/sfnet/sfnet_r50-d32_4xb2-50k_cityscapes-512x1024.py'
H, W, B = 64, 128, 2  # H != W so a swap is visible

pytestmark = pytest.mark.usefixtures('repo_root_one_thread')


@pytest.fixture
def spy(monkeypatch):
    """Record every built segmentor and the input shapes its forward sees."""
    models, shapes = [], []
    revert = measure.revert_sync_batchnorm

    def spy_revert(model):
        model = revert(model)
        models.append(model)
        model.register_forward_pre_hook(
            lambda module, args: shapes.append(tuple(map(int, args[0].shape))))
        return model

    monkeypatch.setattr(measure, 'revert_sync_batchnorm', spy_revert)
    return models, shapes


def _table_rows(table):
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in table.splitlines() if line.startswith('| sfnet')]


def test_main_table(spy, tmp_path, capsys):
    models, shapes = spy
    out = tmp_path / 'fps.md'
    rows = cli.main(
        f'{R18} {R50} --height {H} --width {W} --batch-size {B} --device cpu '
        f'--warmup 1 --iters 2 --out {out}'.split())
    table = capsys.readouterr().out
    cells = _table_rows(table)
    assert len(rows) == len(cells) == len(models) == 2
    names = [osp.splitext(osp.basename(p))[0] for p in (R18, R50)]
    assert [c[0] for c in cells] == names
    assert out.read_text().strip() == format_table(rows).strip()
    assert format_table(rows) in table
    for row, cell, model in zip(rows, cells, models):
        assert cell[1:6] == [f'{H}x{W}', str(B), 'tensor', 'cpu', 'fp32']
        assert not any(
            isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
        assert not model.training
        params = sum(p.numel() for p in model.parameters())
        assert row['params'] == params
        assert cell[6] == f'{params / 1e6:.2f}'
        assert row['gflops'] > 0 and float(cell[7]) > 0
        assert row['fps'] == pytest.approx(B * 1e3 / row['latency_mean_ms'])
        assert row['peak_mem_mib'] >= 0
    assert models[1].backbone.depth == 50  # R50 really is the second row
    # timed/warm-up forwards see (B, 3, H, W); the FLOPs trace one image
    timed = [s for s in shapes if s[0] == B]
    assert timed and len(timed) == 2 * (1 + 2)
    assert set(timed) == {(B, 3, H, W)}
    assert {s[1:] for s in shapes} == {(3, H, W)}


def test_bf16_channels_last_cfg_options_json(spy, tmp_path):
    models, shapes = spy
    out = tmp_path / 'fps.json'
    cli.main(
        f'{R18} --height 32 --width 48 --device cpu --bf16 --channels-last '
        '--warmup 0 --iters 1 --cfg-options model.decode_head.num_classes=5 '
        f'--out {out}'.split())
    result = json.loads(out.read_text())
    assert result['args']['bf16'] and result['args']['channels_last']
    (row, ) = result['rows']
    assert row['dtype'] == 'bf16' and row['input'] == '32x48'
    assert models[0].decode_head.num_classes == 5
    assert shapes[0] == (1, 3, 32, 48)


def test_flops_failure_is_na(monkeypatch):

    def broken(*args, **kwargs):
        raise RuntimeError('trace failed')

    monkeypatch.setattr(measure, 'get_model_complexity_info', broken)
    row = benchmark(R18, 32, 32, device='cpu', warmup=0, iters=1)
    assert row['gflops'] is None
    assert row['params'] > 0
    assert '| n/a |' in format_table([row])


def test_bad_config_path(capsys):
    bad = 'configs/sfnet/does_not_exist.py'
    with pytest.raises(SystemExit) as exc:
        cli.main([R18, bad, '--height', '8', '--width', '8'])
    assert exc.value.code == 2
    assert bad in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match=bad):
        benchmark(bad, 8, 8)


def test_parse_args(capsys):
    args = cli.parse_args([R18, '--height', '512', '--width', '1024'])
    assert (args.height, args.width) == (512, 1024)
    assert (args.batch_size, args.warmup, args.iters) == (1, 10, 50)
    assert args.dtype == 'fp32' and not args.compile
    assert args.device == ('cuda' if torch.cuda.is_available() else 'cpu')
    with pytest.raises(SystemExit):
        cli.parse_args(
            f'{R18} --height 8 --width 8 --device cpu --fp16'.split())
    assert '--bf16' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_args([R18, '--height', '0', '--width', '8'])


def test_predict_mode_times_pointrend_subdivision(monkeypatch):
    """PointRend has no tensor mode in mmseg 1.2.2: --mode predict times
    ``predict`` (coarse head + subdivision) and returns full-size maps."""
    from mmseg.models.segmentors import CascadeEncoderDecoder
    outputs = []
    original = CascadeEncoderDecoder.predict

    def spy(self, inputs, data_samples=None):
        result = original(self, inputs, data_samples)
        outputs.append(result[0].pred_sem_seg.data.shape)
        return result

    monkeypatch.setattr(CascadeEncoderDecoder, 'predict', spy)
    config = 'configs/pointrend/pointrend_r50_4xb4-80k_cityscapes-512x1024.py'
    row = benchmark(
        config, H, W, batch_size=1, warmup=0, iters=1, mode='predict')
    assert row['mode'] == 'predict' and row['fps'] > 0
    assert outputs == [(1, H, W)]
    with pytest.raises(ValueError, match="mode must be 'tensor' or 'predict'"):
        benchmark(config, H, W, mode='logits')


def test_a_registered_forward_is_timed(monkeypatch):
    """A backend plugs in by registering a mode: ``benchmark`` times the
    callable it returns, ``--mode`` offers it."""
    calls = []

    @register_forward('spy')
    def spy_forward(model, inputs, data_samples):
        tensor = make_forward('tensor', model, inputs, data_samples)
        return lambda: calls.append(tuple(tensor().shape))

    try:
        row = benchmark(R18, 32, 64, warmup=1, iters=2, mode='spy')
        args = cli.parse_args(f'{R18} --height 8 --width 8 --mode spy'.split())
    finally:
        del FORWARDS['spy']
    assert row['mode'] == 'spy' and args.mode == 'spy'
    assert calls == [(1, 19, 8, 16)] * 3  # 1/4 logits, warm-up + 2 timed


def test_script_is_the_package_cli(tmp_path):
    """``python tools/fps_test.py`` runs :func:`mmseg_ext.benchmark.cli.main`
    and writes the same table to ``--out``."""
    import sys

    from conftest import run_command
    out = tmp_path / 'fps.md'
    proc = run_command([
        sys.executable, 'tools/fps_test.py', R18, '--height', '32', '--width',
        '32', '--device', 'cpu', '--warmup', '0', '--iters', '1', '--out', out
    ])
    (cells, ) = _table_rows(proc.stdout)
    assert cells[:6] == [
        osp.splitext(osp.basename(R18))[0], '32x32', '1', 'tensor', 'cpu',
        'fp32'
    ]
    assert out.read_text().splitlines()[2].startswith('| sfnet_r18')
