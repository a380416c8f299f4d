"""Clear errors when pretrained weights cannot be fetched or found.

Building a model and testing a checkpoint never touch the network; only
``init_weights`` (run by ``mim train`` before training) loads the ImageNet
weights a config names (``model.pretrained='open-mmlab://...'``, an
``https://`` ``init_cfg.checkpoint`` or a converted file under
``pretrain/``). Offline, mmengine 0.10.7 fails there with a bare
``urllib.error.URLError`` (or ``FileNotFoundError: ... can not be found.``)
that names neither the weight file nor a way round it.

:func:`register_pretrained_loaders` wraps mmengine's checkpoint loaders
(``CheckpointLoader.register_scheme(..., force=True)``, its extension
point) so that the error names the weights, the URL, where torch's cache
looks for the file, and the ``--cfg-options`` that give a local path
instead. Successful loads are unchanged.
"""
import functools
import os.path as osp
from typing import Callable, Optional

# converted files the *_in1k-pre_* configs read from pretrain/, and how to
# produce each
PRETRAIN_FILES = {
    'resnet18-deep-inplane128_mmseg.pth':
    'python tools/model_converters/resnet_d2mmseg.py '
    'resnet18-deep-inplane128.pth pretrain/resnet18-deep-inplane128_mmseg.pth',
    'resnet50-deep_mmseg.pth':
    'python tools/model_converters/resnet_d2mmseg.py resnet50-deep.pth '
    'pretrain/resnet50-deep_mmseg.pth',
    'resnet101-deep_mmseg.pth':
    'python tools/model_converters/resnet_d2mmseg.py resnet101-deep.pth '
    'pretrain/resnet101-deep_mmseg.pth',
    'stdc1_in1k_isdnet-shallow-6ch.pth':
    'python tools/model_converters/stdc2mmseg.py STDCNet813M_73.91.tar '
    'pretrain/stdc1_in1k_isdnet-shallow-6ch.pth',
    'resnet18_v1c-b5776b93.pth':
    'download https://download.openmmlab.com/pretrain/third_party/'
    'resnet18_v1c-b5776b93.pth to pretrain/',
}
LOCAL_PATH_OPTIONS = (
    '--cfg-options model.pretrained=PATH (backbones set through '
    'model.pretrained), model.backbone.init_cfg.checkpoint=PATH (backbones '
    'with an init_cfg) or model.refine_head.shallow_net.init_cfg.'
    'checkpoint=PATH (ISDNet\'s shallow net)')
REMOTE_PREFIXES = ('http://', 'https://', 'open-mmlab://', 'openmmlab://',
                   'torchvision://', 'modelzoo://', 'mmcls://')


class PretrainedDownloadError(ConnectionError):
    """Pretrained weights named by a URL or ``open-mmlab://`` could not be
    downloaded (no network, proxy, HTTP error)."""


class PretrainedFileNotFoundError(FileNotFoundError):
    """A pretrained weight file the config names under ``pretrain/`` is
    missing."""


def resolve_url(filename: str) -> Optional[str]:
    """The URL behind ``open-mmlab://``/``torchvision://`` names (None if it
    cannot be resolved offline); ``filename`` itself for ``http(s)://``."""
    if filename.startswith(('http://', 'https://')):
        return filename
    try:
        from mmengine.runner.checkpoint import (get_deprecated_model_names,
                                                get_external_models,
                                                get_torchvision_models)
        if filename.startswith(('open-mmlab://', 'openmmlab://')):
            name = filename.split('://', 1)[1]
            name = get_deprecated_model_names().get(name, name)
            return get_external_models().get(name)
        if filename.startswith(('torchvision://', 'modelzoo://')):
            return get_torchvision_models().get(filename.split('://', 1)[1])
    except Exception:  # noqa: BLE001 - only used to enrich a message
        return None
    return None


def download_error_message(filename: str, error: BaseException) -> str:
    """The message of :class:`PretrainedDownloadError` for ``filename``."""
    import torch.hub
    url = resolve_url(filename)
    where = ''
    if url:
        cached = osp.join(torch.hub.get_dir(), 'checkpoints',
                          osp.basename(url))
        where = (f' ({url}); with the file at {cached} it loads without '
                 'the network')
    return (f'cannot download the pretrained weights {filename}{where}: '
            f'{type(error).__name__}: {error}. Building and testing a model '
            'need no download; initialising it for training does. Download '
            'the file elsewhere and give its local path with '
            f'{LOCAL_PATH_OPTIONS}, or train from scratch with '
            'model.pretrained=None (and init_cfg=None).')


def _guard_remote(loader: Callable) -> Callable:

    @functools.wraps(loader)
    def load(filename, map_location=None, *args, **kwargs):
        try:
            return loader(filename, map_location, *args, **kwargs)
        except PretrainedDownloadError:
            raise
        except OSError as e:  # URLError, HTTPError, socket and SSL errors
            raise PretrainedDownloadError(download_error_message(filename,
                                                                 e)) from e

    load._mmseg_ext_guarded = True
    return load


def _guard_local(loader: Callable) -> Callable:

    @functools.wraps(loader)
    def load(filename, map_location=None, *args, **kwargs):
        name = osp.basename(str(filename))
        known = name in PRETRAIN_FILES or str(filename).startswith(
            ('pretrain/', './pretrain/'))
        if known and not osp.isfile(osp.expanduser(str(filename))):
            how = PRETRAIN_FILES.get(name)
            hint = f'produce it with `{how}`, or ' if how else ''
            raise PretrainedFileNotFoundError(
                f'pretrained weights {filename} not found (relative paths '
                f'are read from the current directory): {hint}give its '
                f'path with {LOCAL_PATH_OPTIONS}; the config names the file '
                'and how to make it in its first lines')
        return loader(filename, map_location, *args, **kwargs)

    load._mmseg_ext_guarded = True
    return load


def register_pretrained_loaders() -> None:
    """Wrap mmengine's remote and local checkpoint loaders (idempotent)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    schemes = CheckpointLoader._schemes
    for prefix in REMOTE_PREFIXES + ('', ):
        loader = schemes.get(prefix)
        if loader is None or getattr(loader, '_mmseg_ext_guarded', False):
            continue
        guard = _guard_local if prefix == '' else _guard_remote
        CheckpointLoader.register_scheme(prefix, guard(loader), force=True)
