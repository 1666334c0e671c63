"""Logging: a rotating file in the platformdirs log directory, short warnings on stderr.

Tokens never reach a log: every record passes a filter that masks `token=...` values, and
uvicorn's access log (whose request lines would carry `/join?token=...`) is off.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO, cast

from chatdesk.files import private_dir

__all__ = ["LOG_FILE", "RedactTokens", "logging_to", "redirect_missing_streams"]

LOG_FILE = "chatdesk.log"
_TOKEN = re.compile(r"(token=|Bearer\s+)[A-Za-z0-9_\-]+", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Mask token values in a record's message (arguments included) and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _TOKEN.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _TOKEN.sub(
                r"\1***", logging.Formatter().formatException(record.exc_info)
            )
        return True


class _OwnRecords(logging.Filter):
    """Only chatdesk's own records: uvicorn's (tracebacks included) go to the file alone."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name == "chatdesk" or record.name.startswith("chatdesk.")


class _RedactingStream:
    """A text stream that masks token values before writing them to the log file."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(_TOKEN.sub(r"\1***", text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False


class _Brief(logging.Formatter):
    """One line per record, no traceback (the log file has it)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"chatdesk: {record.levelname.lower()}: {record.getMessage()}"


@contextlib.contextmanager
def logging_to(log_dir: Path) -> Iterator[Path]:
    """Log INFO+ to a rotating file (1 MiB x 3) and WARNING+ to stderr while the block runs."""
    path = private_dir(log_dir) / LOG_FILE
    file_handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=1024 * 1024, backupCount=3, encoding="utf-8", delay=True
    )
    file_handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    )
    file_handler.addFilter(RedactTokens())
    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setLevel(logging.WARNING)
    stderr_handler.setFormatter(_Brief())
    stderr_handler.addFilter(_OwnRecords())
    stderr_handler.addFilter(RedactTokens())
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(file_handler)
    root.addHandler(stderr_handler)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(file_handler)
        root.removeHandler(stderr_handler)
        root.setLevel(previous_level)
        file_handler.close()


def redirect_missing_streams(log_dir: Path) -> None:
    """In a windowed build without a console, stdout/stderr are None: send them to the log.

    The join lines printed to stdout reach the file with their token masked.
    """
    if sys.stdout is not None and sys.stderr is not None:
        return
    file = open(private_dir(log_dir) / LOG_FILE, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
    stream = cast(Any, _RedactingStream(file))
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream
