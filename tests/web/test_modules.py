"""The web UI's modules: its copies of the protocol's limits are the server's, and the page
preloads exactly the modules app.js imports.

The limits are read from web/limits.js (one `export const NAME = VALUE;` a line) and compared
with their one home on the server: chatdesk.chat.limits, chatdesk.chat.validation and
chatdesk.asgi.status. The import graph is read from the modules' static import statements.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from chatdesk.asgi import status
from chatdesk.chat import limits
from chatdesk.chat.validation import ROOM_PATTERN
from tests.web.conftest import ROOT, ChatServer, User

WEB = ROOT / "chatdesk" / "web"
STATIC = "/static/"


class JsRegExp(NamedTuple):
    source: str
    flags: str


# ---- limits.js ---------------------------------------------------------------------------

EXPORT = re.compile(r"export const (?P<name>[A-Z][A-Z0-9_]*) = (?P<value>.+);")
INTEGER = re.compile(r"-?\d+")
REGEXP = re.compile(r"/(?P<source>.+)/(?P<flags>[a-z]*)")


def js_value(text: str) -> int | JsRegExp | None:
    """A limits.js value: an integer or a regular expression literal; None for anything else."""
    if INTEGER.fullmatch(text):
        return int(text)
    regexp = REGEXP.fullmatch(text)
    return JsRegExp(regexp["source"], regexp["flags"]) if regexp else None


def read_limits() -> tuple[dict[str, int | JsRegExp], list[str]]:
    """limits.js's exports by name, and its export lines this reader cannot take."""
    values: dict[str, int | JsRegExp] = {}
    unreadable = []
    for line in (WEB / "limits.js").read_text(encoding="utf-8").splitlines():
        if not line.startswith("export"):
            continue
        match = EXPORT.fullmatch(line)
        value = js_value(match["value"]) if match else None
        if match is None or value is None or match["name"] in values:
            unreadable.append(line)
        else:
            values[match["name"]] = value
    return values, unreadable


# Read at import for the parametrized tests; a line it cannot read fails a test, not collection.
LIMITS, UNREADABLE = read_limits()

# limits.js name -> the server's value, which the client's copy must equal.
SAME_AS_SERVER: dict[str, int] = {
    "ROOM_NAME_MAX": limits.ROOM_NAME_MAX,
    "NICK_MAX": limits.NICK_MAX,
    "TEXT_MAX": limits.TEXT_MAX,
    "SEARCH_QUERY_MAX": limits.SEARCH_QUERY_MAX,
    "SEARCH_RESULTS_MAX": limits.SEARCH_LIMIT,
    "CLOSE_NORMAL": status.WS_1000_NORMAL_CLOSURE,
    "CLOSE_GOING_AWAY": status.WS_1001_GOING_AWAY,
    "CLOSE_ABNORMAL": status.WS_1006_ABNORMAL_CLOSURE,
    "CLOSE_POLICY_VIOLATION": status.WS_1008_POLICY_VIOLATION,
    "CLOSE_SERVICE_RESTART": status.WS_1012_SERVICE_RESTART,
    "CLOSE_TRY_AGAIN_LATER": status.WS_1013_TRY_AGAIN_LATER,
}
# The client paces its frames below the server's rate limit, never at it: timers in a browser
# are late, and a reconnect's resends come in a burst.
BELOW_SERVER: dict[str, float] = {
    "SEND_BURST_FRAMES": limits.BURST_FRAMES,
    "SEND_FRAMES_PER_SECOND": limits.FRAMES_PER_SECOND,
}
CHECKED_ELSEWHERE = {"ROOM_PATTERN", "HISTORY_PAGE_SIZE"}

ROOM_NAMES = [
    "general",
    "a",
    "0",
    "room-9_x",
    "a" * limits.ROOM_NAME_MAX,
    "a" * (limits.ROOM_NAME_MAX + 1),
    "",
    "-a",
    "_a",
    "A",
    "aB",
    "a b",
    "a.b",
    "é",
    "a\n",
    "\na",
]


def test_limits_js_is_one_integer_or_pattern_a_line() -> None:
    assert UNREADABLE == [], "not `export const NAME = VALUE;`, or a name twice"


def test_limits_js_exports_only_checked_values() -> None:
    checked = set(SAME_AS_SERVER) | set(BELOW_SERVER) | CHECKED_ELSEWHERE
    assert set(LIMITS) == checked, "a limit in limits.js without a check here, or the reverse"


@pytest.mark.parametrize("name", list(SAME_AS_SERVER))
def test_each_limit_is_the_servers(name: str) -> None:
    assert LIMITS[name] == SAME_AS_SERVER[name]


@pytest.mark.parametrize("name", list(BELOW_SERVER))
def test_the_clients_pacing_stays_below_the_servers_rate_limit(name: str) -> None:
    value = LIMITS[name]
    assert isinstance(value, int)
    assert 0 < value < BELOW_SERVER[name]


def test_the_history_page_asked_for_is_one_the_server_serves() -> None:
    value = LIMITS["HISTORY_PAGE_SIZE"]
    assert isinstance(value, int)
    assert 1 <= value <= limits.HISTORY_PAGE_MAX


def test_the_room_pattern_takes_exactly_the_servers_room_names() -> None:
    pattern = LIMITS["ROOM_PATTERN"]
    assert isinstance(pattern, JsRegExp) and pattern.flags == ""
    assert pattern.source.startswith("^") and pattern.source.endswith("$")
    client = re.compile(pattern.source)
    for name in ROOM_NAMES:
        expected = ROOM_PATTERN.fullmatch(name) is not None
        assert (client.fullmatch(name) is not None) == expected, repr(name)
    longest = max(n for n in range(1, 100) if ROOM_PATTERN.fullmatch("a" * n))
    assert longest == LIMITS["ROOM_NAME_MAX"]


# Evaluates limits.js as the module it is, from a data: URL (no server needed).
EVALUATE_LIMITS = """
async ([encoded, names]) => {
  const limits = await import("data:text/javascript;base64," + encoded);
  const plain = (value) =>
    value instanceof RegExp ? {source: value.source, flags: value.flags} : value;
  return {
    exports: Object.fromEntries(Object.entries(limits).map(([key, value]) => [key, plain(value)])),
    rooms: names.map((name) => limits.ROOM_PATTERN.test(name)),
  };
}
"""


@pytest.mark.browser
def test_limits_js_in_the_browser_is_what_was_read(browser: Any) -> None:
    encoded = base64.b64encode((WEB / "limits.js").read_bytes()).decode()
    page = browser.new_page()
    try:
        result = page.evaluate(EVALUATE_LIMITS, [encoded, ROOM_NAMES])
    finally:
        page.close()
    read = {k: v._asdict() if isinstance(v, JsRegExp) else v for k, v in LIMITS.items()}
    assert result["exports"] == read
    expected = [ROOM_PATTERN.fullmatch(name) is not None for name in ROOM_NAMES]
    assert result["rooms"] == expected, list(zip(ROOM_NAMES, result["rooms"], strict=True))


# Values too distinctive to appear in a module by chance: a module that has one restates a limit.
DISTINCTIVE = {
    name: value
    for name, value in LIMITS.items()
    if isinstance(value, JsRegExp) or (isinstance(value, int) and value > 1000)
}


def web_modules() -> list[Path]:
    return sorted(path for path in WEB.glob("*.js") if path.name != "echo.js")


@pytest.mark.parametrize("module", web_modules(), ids=lambda path: path.name)
def test_no_module_restates_a_limit(module: Path) -> None:
    if module.name == "limits.js":
        return
    text = module.read_text(encoding="utf-8")
    for name, value in DISTINCTIVE.items():
        literal = value.source if isinstance(value, JsRegExp) else str(value)
        assert not re.search(rf"(?<![\w.]){re.escape(literal)}(?![\w.])", text), (
            f"{module.name} restates {name} ({literal}): import it from limits.js"
        )


# ---- index.html --------------------------------------------------------------------------


class PageHead(HTMLParser):
    """What index.html preloads, and the maxlength of each field that has one."""

    def __init__(self) -> None:
        super().__init__()
        self.preloads: list[str] = []
        self.maxlengths: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "link" and attributes.get("rel") == "modulepreload":
            self.preloads.append(attributes.get("href") or "")
        if "maxlength" in attributes:
            self.maxlengths[attributes.get("id") or tag] = int(attributes["maxlength"] or "")


def index_html() -> PageHead:
    head = PageHead()
    head.feed((WEB / "index.html").read_text(encoding="utf-8"))
    return head


# Field id -> the limit its maxlength must be. Every field with a maxlength is listed.
MAXLENGTHS = {
    "room-input": "ROOM_NAME_MAX",
    "search-input": "SEARCH_QUERY_MAX",
    "nick-input": "NICK_MAX",
}


def test_the_pages_maxlengths_are_the_limits() -> None:
    found = index_html().maxlengths
    assert set(found) == set(MAXLENGTHS)
    assert found == {field: LIMITS[name] for field, name in MAXLENGTHS.items()}


# A static import or re-export: `import {a} from "./x.js";`, `import "./x.js";`, `export ... from`.
STATIC_IMPORT = re.compile(
    r'^(?:import|export)\b[^;"]*?\bfrom\s*"(?P<from>[^"]*)"|^import\s*"(?P<bare>[^"]*)"', re.M
)


def imports_of(module: str) -> list[str]:
    """The modules `module` (a file in web/) imports statically, as file names."""
    text = (WEB / module).read_text(encoding="utf-8")
    names = []
    for match in STATIC_IMPORT.finditer(text):
        specifier = match["from"] if match["from"] is not None else match["bare"]
        assert re.fullmatch(r"\./[\w-]+\.js", specifier), f"{module}: import of {specifier!r}"
        names.append(specifier.removeprefix("./"))
    return names


def import_graph(entry: str) -> set[str]:
    """Every module reachable from `entry` through static imports, `entry` itself excluded."""
    reached: set[str] = set()
    todo = [entry]
    while todo:
        for name in imports_of(todo.pop()):
            assert (WEB / name).is_file(), f"{name} is imported but does not exist"
            if name not in reached and name != entry:
                reached.add(name)
                todo.append(name)
    return reached


def test_the_page_preloads_exactly_the_modules_app_js_imports() -> None:
    hrefs = index_html().preloads
    assert len(hrefs) == len(set(hrefs)), "a module is preloaded twice"
    assert all(href.startswith(STATIC) for href in hrefs), hrefs
    preloaded = {href.removeprefix(STATIC) for href in hrefs}
    for name in preloaded:
        assert (WEB / name).is_file(), f"{name} is preloaded but does not exist"
    graph = import_graph("app.js")
    assert graph, "app.js imports nothing: the import parser is broken"
    assert not graph - preloaded, f"imported but not preloaded: {sorted(graph - preloaded)}"
    assert not preloaded - graph, f"preloaded but not imported: {sorted(preloaded - graph)}"


@pytest.mark.browser
def test_the_browser_fetches_no_script_the_page_does_not_name(
    server: ChatServer, users: Callable[..., User]
) -> None:
    # The same graph as the browser sees it: a module the parser missed would be fetched late.
    page = users("alice").page
    page.goto(server.join_url)
    page.wait_for_selector("#nick-dialog[open]")
    fetched = page.evaluate(
        """() => performance.getEntriesByType("resource")
            .map((entry) => new URL(entry.name).pathname)
            .filter((path) => path.endsWith(".js"))"""
    )
    named = {STATIC + "app.js"} | set(index_html().preloads)
    assert set(fetched) == named
