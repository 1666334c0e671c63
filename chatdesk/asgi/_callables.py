"""Facts about callables the toolkit calls: async or not, which keyword arguments they take."""

from __future__ import annotations

import functools

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: `accepted_keywords` result meaning "takes **kwargs": every keyword is accepted.
ANY_KEYWORD: frozenset[str] = frozenset({"*"})


# Code flags (as in `inspect`), read directly so that building routes does not import inspect.
CO_GENERATOR = 0x20
CO_COROUTINE = 0x80
CO_ASYNC_GENERATOR = 0x200


def code_flags(func: Any) -> int:
    """The code flags of a function or method (0 for anything else)."""
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    return code.co_flags if code is not None else 0


def is_async_callable(obj: Any) -> bool:
    """Whether calling `obj` returns a coroutine (also through partial or an async __call__)."""
    while isinstance(obj, functools.partial):
        obj = obj.func
    if code_flags(obj) & CO_COROUTINE:
        return True
    call = getattr(obj, "__call__", None)  # noqa: B004
    return call is not None and bool(code_flags(call) & CO_COROUTINE)


def accepted_keywords(func: Callable[..., Any], positional: int) -> frozenset[str]:
    """The names `func` accepts as keywords after its first `positional` arguments.

    Returns ANY_KEYWORD when it takes **kwargs, and an empty set when it cannot be inspected.
    """
    import inspect

    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return frozenset()
    names = set()
    for index, parameter in enumerate(parameters):
        if parameter.kind is parameter.VAR_KEYWORD:
            return ANY_KEYWORD
        if index < positional and parameter.kind in (
            parameter.POSITIONAL_ONLY,
            parameter.POSITIONAL_OR_KEYWORD,
        ):
            continue
        if parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY):
            names.add(parameter.name)
    return frozenset(names)


def next_positional(func: Callable[..., Any], positional: int) -> str | None:
    """The name of the parameter after the first `positional` ones, if it can also be passed by
    position (None if there is none, or `func` cannot be inspected)."""
    import inspect

    try:
        parameters = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None
    if len(parameters) <= positional:
        return None
    parameter = parameters[positional]
    if parameter.kind is not parameter.POSITIONAL_OR_KEYWORD:
        return None
    return parameter.name


def select_keywords(accepted: frozenset[str], params: dict[str, Any]) -> dict[str, Any]:
    """The entries of `params` that a callable with `accepted` keywords can take."""
    if accepted is ANY_KEYWORD or params.keys() <= accepted:
        return params
    return {name: value for name, value in params.items() if name in accepted}
