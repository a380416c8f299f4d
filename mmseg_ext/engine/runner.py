"""A Runner that refuses unknown hook options when it is built.

mmengine 0.10.7's ``CheckpointHook(**kwargs)`` keeps options it does not
know and passes them to ``Runner.save_checkpoint`` at the first save
(``mmengine/hooks/checkpoint_hook.py``): a typo such as
``default_hooks.checkpoint.intervl=4`` fails only after a whole training
interval, with ``TypeError: save_checkpoint() got an unexpected keyword
argument``. Other hooks (``LoggerHook``) fail at build, naming the option
but not the valid ones. :class:`CheckedRunner` (``runner_type`` in
``configs/_base_/default_runtime.py``; mmseg's ``tools/train.py`` and
``tools/test.py`` and ``mim test mmseg_ext`` build ``runner_type``) checks
every ``default_hooks`` and ``custom_hooks`` entry against its class's
options (:func:`check_hook_options`) before anything is built.
"""
import difflib
import inspect
from typing import Iterable, Optional, Set

from mmengine.hooks import CheckpointHook
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

#: Keys mmengine's registry and ``Runner.register_hook`` read themselves.
_BUILD_KEYS = ('type', 'priority', '_scope_')


def hook_options(cls: type) -> Optional[Set[str]]:
    """The keyword options ``cls(...)`` accepts, or None when it takes
    arbitrary ``**kwargs`` (then nothing can be checked).

    ``CheckpointHook``'s ``**kwargs`` go to ``Runner.save_checkpoint``,
    whose parameters the hook already passes itself: it accepts none.
    """
    names: Set[str] = set()
    for klass in cls.__mro__:
        init = vars(klass).get('__init__')
        if init is None:
            continue
        if klass is object:
            return None
        params = list(inspect.signature(init).parameters.values())[1:]
        names.update(
            p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
        if not any(p.kind == p.VAR_KEYWORD for p in params) or \
                klass is CheckpointHook:
            return names
    return None


def _hook_class(hook_type) -> Optional[type]:
    if isinstance(hook_type, type):
        return hook_type
    from mmseg.registry import HOOKS  # mmseg scope, mmengine's as parent
    return HOOKS.get(hook_type) if isinstance(hook_type, str) else None


def check_hook_options(hooks, where: str) -> None:
    """Refuse hook configs with options their class does not take.

    Args:
        hooks (dict | list | None): ``default_hooks`` (name -> config) or
            ``custom_hooks`` (list of configs); built hooks, ``None``
            entries and unknown types are left to mmengine.
        where (str): Config key for the message (``default_hooks``).

    Raises:
        ValueError: Naming the entry (``default_hooks.checkpoint``), the
            hook class, the unknown option(s), the closest valid name and
            all valid options.
    """
    if not hooks:
        return
    items: Iterable = hooks.items() if isinstance(hooks, dict) else \
        enumerate(hooks)
    for key, cfg in items:
        if not isinstance(cfg, dict) or 'type' not in cfg:
            continue
        cls = _hook_class(cfg['type'])
        valid = hook_options(cls) if cls is not None else None
        if valid is None:
            continue
        unknown = sorted(k for k in cfg
                         if k not in valid and k not in _BUILD_KEYS)
        if not unknown:
            continue
        hints = [
            f"'{k}' (did you mean '{close[0]}'?)" if
            (close := difflib.get_close_matches(k, valid, 1)) else f"'{k}'"
            for k in unknown
        ]
        raise ValueError(f'{where}.{key}: {cls.__name__} has no option '
                         f'{", ".join(hints)}; valid options: '
                         f'{", ".join(sorted(valid | {"priority"}))}')


@RUNNERS.register_module()
class CheckedRunner(Runner):
    """mmengine's ``Runner``, refusing unknown hook options when built.

    Raises:
        ValueError: As :func:`check_hook_options`.
    """

    def __init__(self, *args, **kwargs) -> None:
        check_hook_options(kwargs.get('default_hooks'), 'default_hooks')
        check_hook_options(kwargs.get('custom_hooks'), 'custom_hooks')
        super().__init__(*args, **kwargs)
