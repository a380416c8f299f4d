"""Checkpoints survive power loss, and auto-resume survives a bad
``last_checkpoint``.

* :func:`~mmseg_ext.utils.atomic_io.atomic_file` calls ``fsync`` on the
  file before the rename and on its folder after it.
* ``last_checkpoint`` goes through the same writer (mmengine writes it in
  place: a kill between truncation and write leaves it empty).
* ``--resume`` with an empty or dangling ``last_checkpoint`` falls back to
  the newest complete ``iter_*.pth`` with a warning, or fails naming the
  file (mmengine: ``FileNotFoundError:  can not be found.``).

Runs are in this process, on the tiny model of ``reliability_toy`` under a
config inheriting the shipped runtime base.
"""
import logging
import os
import os.path as osp
import stat

import pytest
import torch
from conftest import REPO
from reliability_toy import build_runner, toy_config

from mmseg_ext.engine.hooks.resume_check_hook import resolve_auto_resume
from mmseg_ext.utils import atomic_io


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A toy run of 4 iterations, checkpoints at 2 and 4: (config, dir)."""
    root = tmp_path_factory.mktemp('durable')
    config = toy_config(str(root), REPO)
    work = str(root / 'run')
    build_runner(config, work, **{'train_cfg.max_iters': 4}).train()
    return config, work


def test_atomic_file_fsyncs_the_file_then_renames_then_fsyncs_the_folder(
        tmp_path, monkeypatch):
    events = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd):
        kind = 'dir' if stat.S_ISDIR(os.fstat(fd).st_mode) else 'file'
        events.append(('fsync', kind))
        fsync(fd)

    def record_replace(src, dst):
        events.append(('replace', osp.basename(dst)))
        replace(src, dst)

    monkeypatch.setattr(atomic_io.os, 'fsync', record_fsync)
    monkeypatch.setattr(atomic_io.os, 'replace', record_replace)
    atomic_io.atomic_write_bytes(str(tmp_path / 'out.bin'), b'abc')
    assert events == [('fsync', 'file'), ('replace', 'out.bin'),
                      ('fsync', 'dir')]
    assert (tmp_path / 'out.bin').read_bytes() == b'abc'


def test_last_checkpoint_is_written_atomically(tmp_path, monkeypatch):
    config = toy_config(str(tmp_path), REPO)
    renamed = []
    replace = os.replace

    def record_replace(src, dst):
        renamed.append(osp.basename(dst))
        replace(src, dst)

    monkeypatch.setattr(atomic_io.os, 'replace', record_replace)
    work = str(tmp_path / 'run')
    build_runner(config, work, **{'train_cfg.max_iters': 2}).train()
    # checkpoint first, then last_checkpoint, each renamed into place
    assert renamed == ['iter_2.pth', 'last_checkpoint']
    with open(osp.join(work, 'last_checkpoint')) as f:
        assert f.read() == osp.join(work, 'iter_2.pth')
    assert not [f for f in os.listdir(work) if f.endswith('.part')]


def _copy_run(src, dst):
    os.makedirs(dst)
    for name in ('iter_2.pth', 'iter_4.pth'):
        with open(osp.join(src, name), 'rb') as f:
            data = f.read()
        with open(osp.join(dst, name), 'wb') as f:
            f.write(data)
    return dst


def test_resume_with_empty_last_checkpoint_takes_the_newest_complete(
        trained, tmp_path, caplog):
    config, ref = trained
    work = _copy_run(ref, str(tmp_path / 'run'))
    open(osp.join(work, 'last_checkpoint'), 'w').close()  # cut by a kill
    runner = build_runner(
        config, work, resume=True, **{'train_cfg.max_iters': 6})
    with caplog.at_level(logging.WARNING):
        runner.train()
    assert runner.iter == 6
    assert torch.load(osp.join(work, 'iter_6.pth'))['meta']['iter'] == 6
    log = caplog.text + ''.join(
        open(osp.join(r, f)).read() for r, _, fs in os.walk(work)
        for f in fs if f.endswith('.log'))
    assert 'last_checkpoint is empty: resuming from' in log
    assert 'resumed epoch: 0, iter: 4' in log


def test_dangling_last_checkpoint_skips_missing_and_truncated(
        trained, tmp_path):
    _, ref = trained
    work = _copy_run(ref, str(tmp_path / 'run'))
    last = osp.join(work, 'last_checkpoint')
    with open(last, 'w') as f:
        f.write(osp.join(work, 'iter_6.pth'))  # never written
    assert resolve_auto_resume(work) == osp.join(work, 'iter_4.pth')
    # a truncated iter_4.pth (written in place by an older run) is skipped
    size = osp.getsize(osp.join(work, 'iter_4.pth'))
    with open(osp.join(work, 'iter_4.pth'), 'r+b') as f:
        f.truncate(size // 2)
    assert resolve_auto_resume(work) == osp.join(work, 'iter_2.pth')
    # last_checkpoint naming the truncated file: the same fallback
    with open(last, 'w') as f:
        f.write(osp.join(work, 'iter_4.pth'))
    assert resolve_auto_resume(work) == osp.join(work, 'iter_2.pth')


def test_no_complete_checkpoint_fails_naming_last_checkpoint(tmp_path):
    open(tmp_path / 'last_checkpoint', 'w').close()
    with pytest.raises(FileNotFoundError) as err:
        resolve_auto_resume(str(tmp_path))
    msg = str(err.value)
    assert str(tmp_path / 'last_checkpoint') in msg and 'is empty' in msg
    assert 'no complete iter_*.pth' in msg
    # no last_checkpoint, no checkpoint: a fresh start, not an error
    os.remove(tmp_path / 'last_checkpoint')
    assert resolve_auto_resume(str(tmp_path)) is None
