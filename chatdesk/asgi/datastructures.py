"""Value types over ASGI data: URL, Headers, QueryParams, Address, State.

One module, as `starlette.datastructures` is, so imports from it port unchanged.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterator, Mapping, MutableMapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import ItemsView, KeysView, Sequence, ValuesView
    from re import Pattern
    from typing import Any, Literal, NamedTuple
    from urllib.parse import SplitResult

    from .types import Scope

    class Address(NamedTuple):
        """A peer's (host, port)."""

        host: str
        port: int

else:
    Address = namedtuple("Address", ["host", "port"])

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}

# A Host header that could change the URL's path or authority is not used.
_HOST_PATTERN = (
    r"^(?P<host>[a-z0-9._~%!$&'()*+,;=-]+|\[(?:(?P<ipv6>[a-f0-9]*:[a-f0-9.:]+)|"
    r"(?-i:v)[a-f0-9]+\.[a-z0-9._~!$&'()*+,;=:-]+)\])(?::(?P<port>[0-9]+))?$"
)
_host_re: Pattern[str] | None = None


def _host_header(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == b"host":
            return value.decode("latin-1")  # type: ignore[no-any-return]
    return None


def _valid_authority(host_header: str | None) -> str | None:
    """The Host header if it is a well-formed host[:port], else None (it must not alter a URL)."""
    if not host_header:
        return None
    global _host_re
    if _host_re is None:
        import re

        _host_re = re.compile(_HOST_PATTERN, re.IGNORECASE)
    match = _host_re.fullmatch(host_header)
    if match is None:
        return None
    ipv6 = match["ipv6"]
    if ipv6 is not None:
        import ipaddress

        try:
            ipaddress.IPv6Address(ipv6)
        except ValueError:
            return None
    port = match["port"]
    if port is not None:
        digits = port.lstrip("0")
        if len(digits) > 5 or int(digits or "0") > 65535:
            return None
    return host_header


class URL:
    """An absolute or relative URL, parsed on demand."""

    def __init__(self, url: str = "", scope: Scope | None = None, **components: Any) -> None:
        if scope is not None:
            assert not url, 'Cannot set both "url" and "scope".'
            assert not components, 'Cannot set both "scope" and "**components".'
            url = self._from_scope(scope)
        elif components:
            assert not url, 'Cannot set both "url" and "**components".'
            url = URL("").replace(**components).components.geturl()
        self._url = url

    @staticmethod
    def _from_scope(scope: Scope) -> str:
        scheme: str = scope.get("scheme", "http")
        server = scope.get("server")
        path: str = scope["path"].replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
        query = scope.get("query_string", b"").decode()

        netloc = _valid_authority(_host_header(scope))
        if netloc is None and server is not None:
            host, port = server
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"
            netloc = host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
        if netloc is not None:
            from urllib.parse import SplitResult

            return SplitResult(scheme, netloc, path, query, "").geturl()
        if path.startswith("//"):
            # Without a host, a leading `//` would be read as the authority.
            path = "/%2F" + path[2:]
        return f"{path}?{query}" if query else path

    _components: SplitResult | None = None

    @property
    def components(self) -> SplitResult:
        if self._components is None:
            from urllib.parse import urlsplit

            self._components = urlsplit(self._url)
        return self._components

    @property
    def scheme(self) -> str:
        return self.components.scheme

    @property
    def netloc(self) -> str:
        return self.components.netloc

    @property
    def path(self) -> str:
        return self.components.path

    @property
    def query(self) -> str:
        return self.components.query

    @property
    def fragment(self) -> str:
        return self.components.fragment

    @property
    def username(self) -> str | None:
        return self.components.username

    @property
    def password(self) -> str | None:
        return self.components.password

    @property
    def hostname(self) -> str | None:
        return self.components.hostname

    @property
    def port(self) -> int | None:
        return self.components.port

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        """A copy with some components replaced (scheme, netloc, path, query, fragment, ...)."""
        if {"username", "password", "hostname", "port"} & kwargs.keys():
            hostname = kwargs.pop("hostname", None)
            port = kwargs.pop("port", self.port)
            username = kwargs.pop("username", self.username)
            password = kwargs.pop("password", self.password)
            if hostname is None:
                _, _, hostname = self.netloc.rpartition("@")
                if hostname and hostname[-1] != "]":
                    hostname = hostname.rsplit(":", 1)[0]
            elif ":" in hostname and not hostname.startswith("["):
                hostname = f"[{hostname}]"
            netloc = hostname
            if port is not None:
                netloc += f":{port}"
            if username is not None:
                userpass = username if password is None else f"{username}:{password}"
                netloc = f"{userpass}@{netloc}"
            kwargs["netloc"] = netloc
        return self.__class__(self.components._replace(**kwargs).geturl())

    def include_query_params(self, **kwargs: Any) -> URL:
        from urllib.parse import parse_qsl, urlencode

        params = dict(parse_qsl(self.query, keep_blank_values=True))
        params.update({str(key): str(value) for key, value in kwargs.items()})
        return self.replace(query=urlencode(params))

    def replace_query_params(self, **kwargs: Any) -> URL:
        from urllib.parse import urlencode

        return self.replace(query=urlencode([(str(k), str(v)) for k, v in kwargs.items()]))

    def remove_query_params(self, keys: str | Sequence[str]) -> URL:
        from urllib.parse import parse_qsl, urlencode

        removed = {keys} if isinstance(keys, str) else set(keys)
        params = [
            (k, v) for k, v in parse_qsl(self.query, keep_blank_values=True) if k not in removed
        ]
        return self.replace(query=urlencode(params))

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self._url)

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        url = str(self)
        if self.password:
            url = str(self.replace(password="********"))
        return f"{self.__class__.__name__}({url!r})"


class URLPath(str):
    """A path from `url_path_for`, remembering whether it is for HTTP or WebSocket."""

    protocol: Literal["http", "websocket", ""]
    host: str

    def __new__(
        cls, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = ""
    ) -> URLPath:
        assert protocol in ("http", "websocket", "")
        path = path.replace("\\", "%5C")
        if path.startswith("//"):
            path = "/%2F" + path[2:]
        return str.__new__(cls, path)

    def __init__(
        self, path: str, protocol: Literal["http", "websocket", ""] = "", host: str = ""
    ) -> None:
        self.protocol = protocol
        self.host = host

    def make_absolute_url(self, base_url: str | URL) -> URL:
        """This path joined onto `base_url`, with a ws/wss scheme for WebSocket paths."""
        if isinstance(base_url, str):
            base_url = URL(base_url)
        if self.protocol:
            scheme = {
                "http": {True: "https", False: "http"},
                "websocket": {True: "wss", False: "ws"},
            }[self.protocol][base_url.is_secure]
        else:
            scheme = base_url.scheme
        netloc = self.host or base_url.netloc
        path = base_url.path.rstrip("/") + str(self)
        return URL(scheme=scheme, netloc=netloc, path=path)


class ImmutableMultiDict(Mapping[str, str]):
    """An ordered multi-valued mapping: `d[k]`/`get` give the last value, `getlist` all of them."""

    __slots__ = ("_dict", "_list")

    def __init__(self, items: Sequence[tuple[str, str]] = ()) -> None:
        self._list = list(items)
        self._dict = dict(self._list)

    def getlist(self, key: str) -> list[str]:
        return [value for item_key, value in self._list if item_key == key]

    def multi_items(self) -> list[tuple[str, str]]:
        return list(self._list)

    def keys(self) -> KeysView[str]:
        return self._dict.keys()

    def values(self) -> ValuesView[str]:
        return self._dict.values()

    def items(self) -> ItemsView[str, str]:
        return self._dict.items()

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __contains__(self, key: object) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, self.__class__):
            return False
        return sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.multi_items()!r})"


class QueryParams(ImmutableMultiDict):
    """The query string as an immutable multi-dict (blank values kept, latin-1)."""

    __slots__ = ()

    def __init__(
        self, params: str | bytes | Sequence[tuple[str, str]] | Mapping[str, str] = ()
    ) -> None:
        if isinstance(params, bytes):
            params = params.decode("latin-1")
        if isinstance(params, str):
            from urllib.parse import parse_qsl

            items = parse_qsl(params, keep_blank_values=True)
        elif isinstance(params, Mapping):
            items = list(params.items())
        else:
            items = list(params)
        super().__init__(items)

    def __str__(self) -> str:
        from urllib.parse import urlencode

        return urlencode(self._list)


class Headers(Mapping[str, str]):
    """Case-insensitive, latin-1 HTTP headers: `h[k]`/`get` give the first value, `getlist` all."""

    __slots__ = ("_list",)

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        raw: list[tuple[bytes, bytes]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        self._list: list[tuple[bytes, bytes]]
        if headers is not None:
            assert raw is None and scope is None, 'Cannot set "headers" with "raw" or "scope".'
            self._list = [
                (key.lower().encode("latin-1"), value.encode("latin-1"))
                for key, value in headers.items()
            ]
        elif raw is not None:
            assert scope is None, 'Cannot set both "raw" and "scope".'
            self._list = raw
        elif scope is not None:
            # The scope's own list, not a copy: servers send lower-cased names.
            self._list = scope["headers"]
        else:
            self._list = []

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        return self._list

    def keys(self) -> list[str]:  # type: ignore[override]
        return [key.decode("latin-1") for key, _ in self._list]

    def values(self) -> list[str]:  # type: ignore[override]
        return [value.decode("latin-1") for _, value in self._list]

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]
        return [(key.decode("latin-1"), value.decode("latin-1")) for key, value in self._list]

    def getlist(self, key: str) -> list[str]:
        name = key.lower().encode("latin-1")
        return [value.decode("latin-1") for item_key, value in self._list if item_key == name]

    def mutablecopy(self) -> MutableHeaders:
        return MutableHeaders(raw=self._list[:])

    def __getitem__(self, key: str) -> str:
        name = key.lower().encode("latin-1")
        for item_key, value in self._list:
            if item_key == name:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        name = key.lower().encode("latin-1")
        return any(item_key == name for item_key, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return False
        return sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        as_dict = dict(self.items())
        if len(as_dict) == len(self):
            return f"{self.__class__.__name__}({as_dict!r})"
        return f"{self.__class__.__name__}(raw={self.raw!r})"


class MutableHeaders(Headers):
    """Headers that can be changed in place (a response's headers)."""

    __slots__ = ()

    def __setitem__(self, key: str, value: str) -> None:
        """Set the header, replacing every existing value of it."""
        name = key.lower().encode("latin-1")
        encoded = value.encode("latin-1")
        found = [i for i, (item_key, _) in enumerate(self._list) if item_key == name]
        for i in reversed(found[1:]):
            del self._list[i]
        if found:
            self._list[found[0]] = (name, encoded)
        else:
            self._list.append((name, encoded))

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        self._list[:] = [item for item in self._list if item[0] != name]

    def setdefault(self, key: str, value: str) -> str:
        """Set the header unless present; return its (first) value."""
        name = key.lower().encode("latin-1")
        for item_key, item_value in self._list:
            if item_key == name:
                return item_value.decode("latin-1")
        self._list.append((name, value.encode("latin-1")))
        return value

    def append(self, key: str, value: str) -> None:
        """Add a value, keeping the existing ones."""
        self._list.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def update(self, other: Mapping[str, str]) -> None:
        for key, value in other.items():
            self[key] = value

    def add_vary_header(self, vary: str) -> None:
        existing = self.get("vary")
        if existing is not None:
            vary = ", ".join([existing, vary])
        self["vary"] = vary


class State:
    """Arbitrary state (app state, request state), read and written as attributes or as items.

    A missing attribute raises AttributeError, a missing item KeyError (deleting either, KeyError).
    """

    _state: dict[str, Any]

    def __init__(self, state: MutableMapping[str, Any] | None = None) -> None:
        super().__setattr__("_state", {} if state is None else state)

    def __setattr__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __getattr__(self, key: str) -> Any:
        try:
            return self._state[key]
        except KeyError:
            raise AttributeError(
                f"'{self.__class__.__name__}' object has no attribute '{key}'"
            ) from None

    def __delattr__(self, key: str) -> None:
        del self._state[key]

    def __getitem__(self, key: str) -> Any:
        return self._state[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._state[key] = value

    def __delitem__(self, key: str) -> None:
        del self._state[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._state)

    def __len__(self) -> int:
        return len(self._state)
