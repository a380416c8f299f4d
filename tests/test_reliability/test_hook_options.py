"""Unknown hook options are refused when the runner is built.

mmengine's ``CheckpointHook`` keeps unknown options and passes them to the
first save (``default_hooks.checkpoint.intervl=4`` fails after a whole
interval); ``LoggerHook`` fails at build without naming the valid options.
The shipped runtime base builds ``CheckedRunner``, which checks them all.
"""
import os.path as osp

import pytest
from conftest import REPO
from mmengine.config import Config
from reliability_toy import build_runner, toy_config

from tools.main_job.sfnet import R18


def test_checkpoint_hook_typo_is_refused_at_build(tmp_path):
    config = toy_config(str(tmp_path), REPO)
    work = tmp_path / 'run'
    with pytest.raises(ValueError) as err:
        build_runner(config, str(work),
                     **{'default_hooks.checkpoint.intervl': 4})
    msg = str(err.value)
    assert msg.startswith("default_hooks.checkpoint: CheckpointHook has no "
                          "option 'intervl' (did you mean 'interval'?)")
    assert 'valid options: backend_args, by_epoch, ' in msg
    assert ', interval, ' in msg and ', save_best, ' in msg
    assert not work.exists()  # refused before anything was built


def test_logger_hook_typo_is_refused_naming_the_valid_options(tmp_path):
    config = toy_config(str(tmp_path), REPO)
    with pytest.raises(
            ValueError,
            match=r"default_hooks\.logger: LoggerHook "
            r"has no option 'intrval' \(did you mean 'interval'"
            r"\?\); valid options: .*ignore_last, interval"):
        build_runner(config, str(tmp_path / 'run'),
                     **{'default_hooks.logger.intrval': 4})


def test_custom_hook_typo_is_refused_too(tmp_path):
    config = toy_config(str(tmp_path), REPO)
    cfg = Config.fromfile(config)
    hooks = cfg.custom_hooks
    hooks[3]['grace_periode'] = 10
    assert hooks[3]['type'] == 'PreemptionHook'
    with pytest.raises(
            ValueError,
            match=r"custom_hooks\.3: PreemptionHook "
            r"has no option 'grace_periode'"):
        build_runner(config, str(tmp_path / 'run'), custom_hooks=hooks)


def test_shipped_configs_build_the_checked_runner():
    cfg = Config.fromfile(osp.join(REPO, R18))
    assert cfg.runner_type == 'CheckedRunner'
