"""The main job on the real Cityscapes sample, through the users' commands.

``mim train mmseg <SFNet R18 config>`` (short CPU run), then
``mim test mmseg_ext ...`` on the checkpoint the Runner wrote (torch's
``weights_only=True`` default, no ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``), the
Cityscapes evaluator, ``--format-only`` submission files, and 2-process CPU
training through the ``pytorch`` launcher. The resume, the evaluators and
the refusals call the same entry points in the test process
(:mod:`inprocess`, same arguments, no 8 s start-up each).
"""
import copy
import os
import os.path as osp
import shutil
import subprocess
import sys

import inprocess
import numpy as np
import pytest
import torch
from conftest import REPO, clean_env, run_command
from PIL import Image

from mmseg_ext.utils.checkpoint import TORCH_LOADS_WEIGHTS_ONLY
from tools.main_job import check_work_dirs
from tools.main_job.cityscapes import (cityscapes_test_options,
                                       cityscapes_train_options)
from tools.main_job.options import load_config, transform_option
from tools.main_job.outputs import read_losses, read_metric
from tools.main_job.sfnet import R18, R18_TEST

ITERS = 20
SAMPLE = 'frankfurt_000000_000294_leftImg8bit'


def config(path):
    return load_config(osp.join(REPO, path))


def train_options(data_root, iters):
    return cityscapes_train_options(config(R18), data_root, iters)


def test_installed_package_matches_checkout():
    """mim runs the installed copy: it must be this checkout's code."""
    import mmseg_ext

    # where a fresh interpreter finds the package (found, not imported)
    proc = subprocess.run([
        sys.executable, '-c', 'import importlib.util as u; '
        'print(u.find_spec("mmseg_ext").submodule_search_locations[0])'
    ],
                          cwd='/',
                          env=clean_env(),
                          capture_output=True,
                          text=True,
                          check=True)
    installed = proc.stdout.strip().splitlines()[-1]
    here = osp.dirname(mmseg_ext.__file__)
    for root, _, files in os.walk(here):
        for name in files:
            if name.endswith('.py'):
                rel = osp.relpath(osp.join(root, name), here)
                with open(osp.join(here, rel), 'rb') as a, \
                        open(osp.join(installed, rel), 'rb') as b:
                    assert a.read() == b.read(), (
                        f'installed mmseg_ext/{rel} differs from the checkout:'
                        ' re-run tools/setup_env.sh')


@pytest.fixture(scope='module')
def trained(tmp_path_factory, mim, cityscapes_root):
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in clean_env()
    work = tmp_path_factory.mktemp('train')
    run_command([
        mim, 'train', 'mmseg', R18, '--work-dir', work, '--cfg-options',
        *train_options(cityscapes_root, ITERS)
    ])
    return work


def test_training_loss_falls_and_checkpoint_written(trained):
    losses = read_losses(str(trained))
    assert len(losses) == ITERS
    assert all(np.isfinite(losses))
    first, last = np.mean(losses[:3]), np.mean(losses[-3:])
    print(f'loss first3={first:.4f} last3={last:.4f}')
    assert last < first * 0.9
    assert (trained / f'iter_{ITERS}.pth').is_file()


@pytest.mark.skipif(
    not TORCH_LOADS_WEIGHTS_ONLY,
    reason=f'torch {torch.__version__} has no weights_only allow-list for '
    'mmengine checkpoints (torch < 2.6 loads them with weights_only=False)')
def test_runner_checkpoint_loads_weights_only(trained):
    ckpt = torch.load(trained / f'iter_{ITERS}.pth', weights_only=True)
    assert ckpt['meta']['iter'] == ITERS
    assert 'decode_head.conv_seg.weight' in ckpt['state_dict']
    # the message hub's HistoryBuffer came back whole, statistics included
    # (those are the getattr references the allow-list resolves)
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    logged = read_losses(str(trained))
    values = buf.data[0]
    assert len(values) >= ITERS - 1
    # the log shows mmengine's moving mean (LogProcessor window_size=10)
    smoothed = [values[max(0, i - 9):i + 1].mean() for i in range(5)]
    np.testing.assert_allclose(smoothed, logged[:5], rtol=1e-5)
    assert buf.min() == pytest.approx(values.min())
    assert buf.mean() == pytest.approx(values.mean())


def test_resume_loads_optimizer_and_schedulers_weights_only(
        trained, mim, cityscapes_root, tmp_path):
    work = tmp_path / 'resume'
    shutil.copytree(trained, work)
    (work / 'last_checkpoint').write_text(str(work / f'iter_{ITERS}.pth'))
    inprocess.train([
        R18, '--work-dir', work, '--resume', '--cfg-options',
        *train_options(cityscapes_root, ITERS + 2)
    ])
    log = inprocess.log_text(work)
    assert f'resumed epoch: 0, iter: {ITERS}' in log
    assert (work / f'iter_{ITERS + 2}.pth').is_file()


def test_mim_test_evaluates_with_cityscapes_scripts(trained, mim,
                                                    cityscapes_root, tmp_path):
    """IoUMetric and cityscapesscripts' evaluator (np.in1d shim, numpy 2.4)."""
    ckpt = trained / f'iter_{ITERS}.pth'
    opts = cityscapes_test_options(config(R18), cityscapes_root)
    inprocess.test([
        R18, '--checkpoint', ckpt, '--work-dir', tmp_path / 'iou',
        '--cfg-options', *opts
    ])
    miou = read_metric(str(tmp_path / 'iou'), 'mIoU')
    assert 0 <= miou <= 100
    inprocess.test([
        R18, '--checkpoint', ckpt, '--work-dir', tmp_path / 'cs',
        '--cfg-options', *opts, 'test_evaluator.type=CityscapesEvalMetric',
        f'test_evaluator.output_dir={tmp_path / "cs_out"}'
    ])
    score = read_metric(str(tmp_path / 'cs'), 'averageScoreCategories')
    assert 0 <= score <= 1


def test_mim_test_format_only_writes_label_ids(trained, mim, cityscapes_root,
                                               tmp_path):
    from cityscapesscripts.helpers.labels import labels
    out = tmp_path / 'submission'
    src_before = sorted(
        os.listdir(
            osp.join(cityscapes_root, 'leftImg8bit', 'val', 'frankfurt')))
    run_command([
        mim, 'test', 'mmseg_ext', R18_TEST, '--checkpoint',
        trained / f'iter_{ITERS}.pth', '--format-only', '--out', out,
        '--work-dir', tmp_path / 'wd', '--cfg-options',
        *cityscapes_test_options(config(R18_TEST), cityscapes_root)
    ])
    files = sorted(os.listdir(out))
    assert files == [f'{SAMPLE}.png']
    assert not (tmp_path / 'submission.partial').exists()
    pred = np.array(Image.open(out / files[0]))
    assert pred.shape == (128, 256)  # the image's own size
    eval_ids = {lb.id for lb in labels if 0 <= lb.trainId < 19}
    assert set(np.unique(pred).tolist()) <= eval_ids
    assert src_before == sorted(
        os.listdir(
            osp.join(cityscapes_root, 'leftImg8bit', 'val', 'frankfurt')))

    # a second run never mixes into an existing submission
    error = inprocess.failure(inprocess.test, [
        R18_TEST, '--checkpoint', trained / f'iter_{ITERS}.pth',
        '--format-only', '--out', out, '--cfg-options',
        *cityscapes_test_options(config(R18_TEST), cityscapes_root)
    ])
    assert 'already exists' in error
    assert os.listdir(out) == files


def test_two_process_cpu_training_with_pytorch_launcher(
        mim, cityscapes_root, tmp_path):
    work = tmp_path / 'dist'
    proc = run_command([
        mim, 'train', 'mmseg', R18, '--launcher', 'pytorch', '--gpus', '2',
        '--work-dir', work, '--cfg-options',
        *train_options(cityscapes_root, 2), 'env_cfg.dist_cfg.backend=gloo',
        'model_wrapper_cfg.type=MMDistributedDataParallel',
        'model_wrapper_cfg.device_ids=None', 'model.backbone.norm_cfg.type=BN',
        'model.neck.norm_cfg.type=BN', 'model.decode_head.norm_cfg.type=BN'
    ])
    log = proc.stdout + proc.stderr
    assert 'Distributed launcher: pytorch' in log
    assert 'Distributed training: True' in log
    assert 'GPU number: 2' in log  # mmengine's label for the world size
    assert (work / 'iter_2.pth').is_file()
    assert len(read_losses(str(work))) == 2


def test_missing_data_root_is_named(tmp_path):
    missing = tmp_path / 'no_such_cityscapes'
    error = inprocess.failure(inprocess.train, [
        R18, '--work-dir', tmp_path / 'wd', '--cfg-options',
        *train_options(str(missing), 1)
    ])
    assert str(missing) in error


def test_short_run_options_follow_the_transform_type():
    """A base that gains a transform moves the index, not the meaning."""
    cfg = copy.deepcopy(config(R18))  # the cached one stays as it is
    pipeline = 'train_dataloader.dataset.pipeline'
    assert transform_option(cfg, pipeline, 'RandomCrop', 'crop_size',
                            '(1,2)') == f'{pipeline}.3.crop_size=(1,2)'
    cfg.train_dataloader.dataset.pipeline.insert(
        1, dict(type='RandomGaussianBlur'))
    assert transform_option(cfg, pipeline, 'RandomCrop', 'crop_size',
                            '(1,2)') == f'{pipeline}.4.crop_size=(1,2)'
    with pytest.raises(ValueError, match="0 'RandomRotate' steps"):
        transform_option(cfg, pipeline, 'RandomRotate', 'prob', '1')
    # the -test config's pipeline has no LoadAnnotations: Resize is found
    test_opts = cityscapes_test_options(config(R18_TEST), '/d')
    assert 'test_dataloader.dataset.pipeline.1.scale=(512,256)' in test_opts


def test_main_job_never_deletes_earlier_results(tmp_path, capsys):
    """A re-run is refused, naming the folder, unless --overwrite."""
    earlier = tmp_path / 'sfnet' / 'train'
    earlier.mkdir(parents=True)
    (earlier / 'iter_40.pth').write_bytes(b'ckpt')
    from tools.main_job.__main__ import main
    with pytest.raises(SystemExit) as exit_info:
        main(['--jobs', 'sfnet', '--work-dir', str(tmp_path)])
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    assert str(tmp_path / 'sfnet') in stderr
    assert '--overwrite' in stderr
    assert (earlier / 'iter_40.pth').read_bytes() == b'ckpt'
    check_work_dirs(str(tmp_path), ['pfnet'], overwrite=False)  # no folder
    check_work_dirs(str(tmp_path), ['sfnet'], overwrite=True)
    assert not (tmp_path / 'sfnet').exists()
