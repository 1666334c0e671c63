"""The desktop tests' fixtures, for the executable's tests."""

from tests.desktop.conftest import home

__all__ = ["home"]
