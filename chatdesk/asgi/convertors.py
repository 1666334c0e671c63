"""Path parameter convertors: how `{name:type}` matches, converts, and is written back."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Generic, TypeVar
    from uuid import UUID

    T = TypeVar("T")
else:
    from types import GenericAlias

    class Generic:
        """`Convertor[X]` at run time without importing typing (kept out of the import's cost)."""

        __slots__ = ()
        __class_getitem__ = classmethod(GenericAlias)

    T = "T"


class Convertor(Generic[T]):
    """A path parameter type: `regex` to match, `convert` to a T, `to_string` back."""

    regex: ClassVar[str] = ""

    def convert(self, value: str) -> T:
        raise NotImplementedError()

    def to_string(self, value: T) -> str:
        raise NotImplementedError()


class StringConvertor(Convertor[str]):
    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        text = str(value)
        assert "/" not in text, "May not contain path separators"
        assert text, "Must not be empty"
        return text


class PathConvertor(Convertor[str]):
    regex = ".*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return str(value)


class IntegerConvertor(Convertor[int]):
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        number = int(value)
        assert number >= 0, "Negative integers are not supported"
        return str(number)


class FloatConvertor(Convertor[float]):
    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: float) -> str:
        import math

        number = float(value)
        assert not math.isnan(number), "NaN values are not supported"
        assert not math.isinf(number), "Infinite values are not supported"
        assert number >= 0.0, "Negative floats are not supported"
        return f"{number:0.20f}".rstrip("0").rstrip(".")


# Named, not imported: the uuid module is loaded by the first conversion, not by the import.
class UUIDConvertor(Convertor["UUID"]):
    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def convert(self, value: str) -> UUID:
        from uuid import UUID

        return UUID(value)

    def to_string(self, value: UUID) -> str:
        return str(value)


CONVERTOR_TYPES: dict[str, Convertor[Any]] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}


def register_url_convertor(key: str, convertor: Convertor[Any]) -> None:
    """Make `{name:key}` available in the paths of routes created from now on."""
    CONVERTOR_TYPES[key] = convertor
