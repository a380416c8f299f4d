"""Official checkpoints -> mmseg_ext: one engine, one key map per model.

:mod:`.engine` holds what every conversion shares (unwrapping, rule tables,
the report against a config, atomic save), :mod:`.cli` the command line;
:mod:`.sfnet`, :mod:`.pfnet`, :mod:`.isdnet` and :mod:`.stdc` hold each
model's key map and :mod:`.imagenet` the ImageNet backbones' ones, as
mmseg keeps its ``mmseg/models/utils/ckpt_convert.py`` (the STDC1 ImageNet
conversion is the shallow net's own ``checkpoint_filter_fn``, beside the
model).
The scripts in ``tools/model_converters/`` call ``<model>.main``. Importing
this package builds no model, but like any ``mmseg_ext.*`` import it runs
``mmseg_ext/__init__.py`` first, which registers every component (a few
seconds): the configs' ``custom_imports = ['mmseg_ext']`` relies on that.
"""
from . import cli, engine, imagenet, isdnet, pfnet, sfnet, stdc
from .cli import ConverterSpec
from .engine import (ConversionError, ConversionResult, apply_rules,
                     check_against_config, map_key, save_checkpoint,
                     unwrap_state_dict)
from .imagenet import convert_resnet_d
from .isdnet import convert_isdnet, convert_isdnet_with_report
from .pfnet import convert_pfnet_with_report
from .sfnet import convert_sfnet, convert_sfnet_with_report
from .stdc import expand_first_conv, stdc_official_to_stages

__all__ = [
    'ConversionError', 'ConversionResult', 'ConverterSpec', 'apply_rules',
    'check_against_config', 'cli', 'convert_isdnet',
    'convert_isdnet_with_report', 'convert_pfnet_with_report',
    'convert_resnet_d', 'imagenet', 'convert_sfnet',
    'convert_sfnet_with_report', 'engine', 'expand_first_conv', 'isdnet',
    'map_key', 'pfnet', 'save_checkpoint', 'sfnet', 'stdc',
    'stdc_official_to_stages', 'unwrap_state_dict'
]
