"""Tests for ``tools/fps_test.py``'s library, :mod:`mmseg_ext.benchmark`
(run in-process through ``cli.main``, tiny inputs, no timing)."""
import json
import os.path as osp

import pytest
import torch

from mmseg_ext.apis import builder
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
    revert = builder.revert_sync_batchnorm

    def spy_revert(model):
        model = revert(model)
        models.append(model)
        model.register_forward_pre_hook(
            lambda module, args: shapes.append(tuple(map(int, args[0].shape))))
        return model

    monkeypatch.setattr(builder, 'revert_sync_batchnorm', spy_revert)
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
    # the table, headed by what it ran on (test_fps_hardware checks the
    # header's values), printed and in --out
    assert format_table(rows) in table
    assert out.read_text().strip().endswith(format_table(rows).strip())
    head = out.read_text().split('\n\n')[0].splitlines()
    assert [line.split(':')[0] for line in head] == [
        '- Date', '- CPU', '- ISA', '- Runtimes', '- Conv ceilings',
        '- Command'
    ]
    assert head[4] == '- Conv ceilings: not probed (--probe-peak)'
    assert head[-1] == ('- Command: `python tools/fps_test.py ' +
                        f'{R18} {R50} --height {H} --width {W} '
                        f'--batch-size {B} --device cpu --warmup 1 --iters 2 '
                        f'--out {out}`')
    assert head[0] + '\n' in table
    for row, cell, model in zip(rows, cells, models):
        assert cell[1:8] == [
            f'{H}x{W}',
            str(B), 'tensor', 'cpu', 'pytorch', 'fp32', '-'
        ]
        assert row['speedup'] == 1.0  # each config's own eager fp32 row
        assert not any(
            isinstance(m, torch.nn.SyncBatchNorm) for m in model.modules())
        assert not model.training
        params = sum(p.numel() for p in model.parameters())
        assert row['params'] == params
        assert cell[8] == f'{params / 1e6:.2f}'
        assert row['gflops'] > 0 and float(cell[9]) > 0
        assert cell[14] == 'n/a'  # no --probe-peak, no ceiling fraction
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
    meta = result['meta']  # what tools.docs.results reads as metadata
    assert '--bf16 --channels-last' in meta['command']
    assert meta['torch_version'] == torch.__version__
    assert meta['ceilings'] is None and isinstance(meta['isa_flags'], list)
    # the eager fp32 reference (contiguous) is measured first, in the run
    ref, row = result['rows']
    assert (ref['dtype'], ref['options']) == ('fp32', '-')
    assert row['dtype'] == 'bf16' and row['input'] == '32x48'
    assert row['options'] == 'channels-last'
    assert row['speedup'] == pytest.approx(ref['latency_median_ms'] /
                                           row['latency_median_ms'])
    assert [m.decode_head.num_classes for m in models] == [5, 5]
    conv = next(m for m in models[1].modules()
                if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
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
    assert cells[:8] == [
        osp.splitext(osp.basename(R18))[0], '32x32', '1', 'tensor', 'cpu',
        'pytorch', 'fp32', '-'
    ]
    lines = out.read_text().splitlines()
    assert lines[0].startswith('- Date: ') and any(
        line.startswith('| sfnet_r18') for line in lines)


def test_fuse_conv_bn_folds_bn_and_keeps_the_logits(spy, monkeypatch):
    """``--fuse-conv-bn`` times a model without its Conv+BN pairs (mmcv's
    ``fuse_conv_bn``) next to the unfused reference; folding keeps the
    eval-mode logits."""
    models, _ = spy
    rows = cli.main(f'{R18} --height 32 --width 64 --device cpu --warmup 0 '
                    '--iters 1 --fuse-conv-bn'.split())
    assert [r['options'] for r in rows] == ['-', 'fuse-conv-bn']

    def bns(model):
        return sum(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
            for m in model.modules())

    assert bns(models[1]) < bns(models[0]) // 4
    assert rows[1]['params'] < rows[0]['params']
    revert = builder.revert_sync_batchnorm

    def revert_with_statistics(model):  # non-trivial BN statistics to fold
        model = revert(model)
        gen = torch.Generator().manual_seed(0)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
                m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
                m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
        return model

    monkeypatch.setattr(builder, 'revert_sync_batchnorm',
                        revert_with_statistics)
    cfg = builder.load_config(R18)
    x = torch.randn(1, 3, 32, 64)
    logits = []
    for fuse in (False, True):
        torch.manual_seed(0)
        model = measure.build_model(cfg, torch.device('cpu'), fuse_bn=fuse)
        with torch.no_grad():
            logits.append(model(x, mode='tensor'))
    assert torch.allclose(logits[0], logits[1], atol=1e-4)


def test_probe_peak_fraction_and_progress(monkeypatch, capsys):
    """``--probe-peak``: the conv ceiling per precision, each row's GFLOPs /
    latency / ceiling; progress lines (mmengine's current logger) for
    warm-up and every timed run."""
    from mmseg_ext.benchmark.peak import probe_ceilings
    monkeypatch.setattr(  # a smaller probe conv: the code path, not speed
        cli, 'probe_ceilings',
        lambda device: probe_ceilings(device, shape=(64, 32, 64)))
    logged = []
    original = measure.print_log

    def record(msg, logger=None, level=None):
        logged.append(msg)
        original(msg, logger=logger, level=level)

    monkeypatch.setattr(measure, 'print_log', record)
    from mmseg_ext.benchmark.peak import probe_conv_peak, probe_macs
    assert probe_macs() == 256 * 256 * 9 * 128 * 256
    with pytest.raises(ValueError, match='precisions'):
        probe_conv_peak(precisions=('int8', ))
    rows = cli.main(f'{R18} --height 32 --width 64 --device cpu --warmup 1 '
                    '--iters 2 --bf16 --probe-peak'.split())
    out = capsys.readouterr().out
    assert '- Conv ceilings: 3x3 conv 64->64 on 32x64, batch 1' in out
    for row in rows:
        peak = row['ceiling_gflops']
        assert peak > 0
        achieved = row['gflops'] / (row['latency_median_ms'] / 1e3)
        assert row['ceiling_fraction'] == pytest.approx(achieved / peak)
    assert rows[0]['ceiling_gflops'] != rows[1]['ceiling_gflops']  # fp32/bf16
    assert f'{rows[1]["ceiling_fraction"]:.2f} |' in out
    for label in ('pytorch fp32, -', 'pytorch bf16, -'):
        mine = [m.split(']: ')[1] for m in logged if f'[{label}]' in m]
        assert mine[1:5] == [
            'warm-up, 1 untimed run(s)', 'warm-up done, timing 2 run(s)'
        ] + mine[3:5]
        assert mine[3].startswith('timed run 1/2: ')
        assert mine[4].startswith('timed run 2/2: ')
    with pytest.raises(SystemExit):
        cli.parse_args(f'{R18} --height 8 --width 8 --backend tflite'.split())
