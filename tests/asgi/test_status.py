"""chatdesk.asgi.status: the HTTP status and WebSocket close code constants of starlette.status.

Starlette's deprecated aliases (HTTP_422_UNPROCESSABLE_ENTITY...) warn when used; chatdesk does
not offer them: its table has only the current names.
"""

from __future__ import annotations

import warnings

import pytest
from starlette import status as starlette_status

import chatdesk.asgi
from chatdesk.asgi import status


def starlette_constants() -> dict[str, int]:
    """Every HTTP_* and WS_* name starlette.status defines without a warning, with its value."""
    names = [name for name in dir(starlette_status) if name.startswith(("HTTP_", "WS_"))]
    constants = {}
    for name in names:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            value = getattr(starlette_status, name)
        if not caught:
            constants[name] = value
    return constants


def chatdesk_constants() -> dict[str, int]:
    return {
        name: getattr(status, name) for name in dir(status) if name.startswith(("HTTP_", "WS_"))
    }


def test_the_oracle_has_both_kinds_and_warns_only_on_its_aliases() -> None:
    constants = starlette_constants()
    assert any(name.startswith("WS_") for name in constants)
    assert any(name.startswith("HTTP_") for name in constants)
    assert set(constants) == set(starlette_status.__all__)
    deprecated = set(starlette_status.__deprecated__)
    assert deprecated and not deprecated & set(constants)


def test_every_constant_matches_starlette_by_name_and_value() -> None:
    assert chatdesk_constants() == starlette_constants()


def test_all_lists_the_same_names_in_the_same_order() -> None:
    assert status.__all__ == starlette_status.__all__


@pytest.mark.parametrize("name", sorted(starlette_status.__deprecated__))
def test_deprecated_aliases_are_not_offered(name: str) -> None:
    with pytest.raises(AttributeError, match=name):
        getattr(status, name)


def test_status_is_exported_from_the_package() -> None:
    assert chatdesk.asgi.status is status
    assert "status" in chatdesk.asgi.__all__
    assert status.WS_1008_POLICY_VIOLATION == 1008
    assert status.HTTP_404_NOT_FOUND == 404
