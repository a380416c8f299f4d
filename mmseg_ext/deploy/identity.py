"""Which model config an export was made from, and the check against it.

``tools/deploy/deploy.py`` records in ``deploy.json`` the model config's path
(``model_config``) and :func:`model_config_sha256` of its resolved ``model``
dict (``model_config_sha256``). Whoever runs an export under a config (the
test entry's ``--backend``, ``tools/fps_test.py --backend-model``, the
large-image inferencer) calls :func:`check_export_matches_config`: an export
made from another model (SFNet-R18 evaluated with the SFNet-R50 or PSPNet
config) is refused, naming both configs, unless the caller allows the
mismatch on purpose.

The hash covers what defines the exported network and its inputs: the
resolved ``model`` dict without ``train_cfg``/``test_cfg`` (how the graph is
run, e.g. whole vs. slide; not the graph itself), ``init_cfg``/``pretrained``
anywhere (where initial weights come from; the export holds the trained
ones) and the data preprocessor's padding (``size``, ``size_divisor``,
``pad_val``, ``seg_pad_val``: training crops). Normalisation (``mean``,
``std``, ``bgr_to_rgb``) and every layer setting are covered.
"""
import hashlib
import json
import logging
import os.path as osp
from pathlib import Path
from typing import Optional, Tuple, Union

from mmengine.config import Config, ConfigDict
from mmengine.logging import print_log

DEPLOY_JSON = 'deploy.json'
IDENTITY_KEYS = ('model_config', 'model_config_sha256')
_RUN_KEYS = ('train_cfg', 'test_cfg')
_WEIGHT_SOURCE_KEYS = ('init_cfg', 'pretrained')
_PADDING_KEYS = ('size', 'size_divisor', 'pad_val', 'seg_pad_val')


def _plain(value, top: bool = False, preprocessor: bool = False):
    """A JSON-able copy of a config value without the keys the hash
    ignores (see the module docstring)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _WEIGHT_SOURCE_KEYS or (top and key in _RUN_KEYS) or \
                    (preprocessor and key in _PADDING_KEYS):
                continue
            out[str(key)] = _plain(
                item, preprocessor=top and key == 'data_preprocessor')
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def model_config_sha256(model_cfg: dict) -> str:
    """SHA-256 (hex) of a config's resolved ``model`` dict, canonical JSON
    (sorted keys, tuples as lists), the keys listed in the module docstring
    left out."""
    if isinstance(model_cfg, ConfigDict):
        model_cfg = model_cfg.to_dict()
    text = json.dumps(
        _plain(model_cfg, top=True), sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def model_config_identity(cfg: Config, path: Optional[str] = None) -> dict:
    """``{'model_config': path, 'model_config_sha256': hash}`` for
    ``deploy.json``.

    Args:
        cfg (Config): The loaded model config (``cfg_options`` merged).
        path (str, optional): Its file; default ``cfg.filename``.
    """
    return dict(
        model_config=path or cfg.filename,
        model_config_sha256=model_config_sha256(cfg.model))


def read_deploy_json(
        export: Optional[Union[str, Path]]) -> Tuple[Optional[str], dict]:
    """The path and contents of ``deploy.json`` beside ``export`` (an export
    folder or one of its model files); ``(None, {})`` without one.

    Raises:
        ValueError: If it is not valid JSON or not a JSON object (naming
            the file).
    """
    if not export:
        return None, {}
    export = str(export)
    folder = export if osp.isdir(export) else osp.dirname(export)
    path = osp.join(folder, DEPLOY_JSON)
    if not osp.isfile(path):
        return None, {}
    with open(path) as f:
        try:
            info = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path} is not valid JSON ({err})') from err
    if not isinstance(info, dict):
        raise ValueError(f'{path} holds a {type(info).__name__}, expected '
                         'the JSON object tools/deploy/deploy.py writes')
    return path, info


def _read_info(export: Union[str, Path, dict]) -> Optional[dict]:
    """``deploy.json`` of an export folder / its model file, or None."""
    if isinstance(export, dict):
        return export
    path, info = read_deploy_json(export)
    return info if path else None


def check_export_matches_config(export: Union[str, Path, dict],
                                cfg: Union[str, Path, Config],
                                allow_mismatch: bool = False) -> bool:
    """Refuse to run an export under a config of another model.

    Args:
        export (str | Path | dict): The export folder, its ``end2end.onnx``
            / ``end2end.xml`` (``deploy.json`` is read beside it), or the
            ``deploy.json`` contents.
        cfg (str | Path | Config): The model config it is to run under (a
            path is loaded; a ``Config`` is used with its ``cfg_options``
            merged, before ``cfg.model`` is replaced by a backend model).
        allow_mismatch (bool): Log the mismatch as a warning instead of
            raising (e.g. ``--allow-config-mismatch``). Default: False.

    Returns:
        bool: True if the export records this config's model; False if it
        cannot be checked (no ``deploy.json``, or one written before the
        identity was recorded; a warning says so) or if a mismatch was
        allowed.

    Raises:
        ValueError: If the recorded ``model_config_sha256`` differs from
            ``cfg``'s; the message names both configs and both hashes. Also
            if ``deploy.json`` is not a JSON object.
    """
    if not isinstance(cfg, Config):
        cfg = Config.fromfile(str(cfg))
    info = _read_info(export)
    name = 'the export' if isinstance(export, dict) else str(export)
    if info is None or not info.get('model_config_sha256'):
        print_log(
            f'{name} records no model config identity (no deploy.json, or '
            'exported before tools/deploy/deploy.py recorded it): not '
            'checked against the config', 'current', logging.WARNING)
        return False
    ours = model_config_sha256(cfg.model)
    if ours == info['model_config_sha256']:
        return True
    msg = (f'{name} was exported from {info.get("model_config")} (model '
           f'sha256 {info["model_config_sha256"][:12]}), not from '
           f'{cfg.filename} (model sha256 {ours[:12]}): the two configs '
           'describe different models')
    if not allow_mismatch:
        raise ValueError(
            f'{msg}. Use the config the export was made from, or allow the '
            'mismatch on purpose (--allow-config-mismatch).')
    print_log(f'{msg}; running it anyway (mismatch allowed).', 'current',
              logging.WARNING)
    return False
