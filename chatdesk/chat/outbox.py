"""The socket write path: one connection's outgoing frames, sent without ever waiting.

Fan-out must never await a slow reader. An `Outbox` hands a frame to the ASGI send at once when
the socket is writable, and only otherwise queues it, up to a bound past which it asks to close
that one connection. Frames are pre-built ASGI events, shared (never mutated) by all recipients.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from chatdesk.chat.limits import QUEUE_MAX_BYTES, QUEUE_MAX_FRAMES, REPLAY_HIGH_WATER

__all__ = ["ASGISend", "Event", "Outbox", "Sink", "send_event"]

Event = dict[str, Any]  # an ASGI message, e.g. {"type": "websocket.send", "text": ...}
ASGISend = Callable[[Event], Awaitable[None]]
Sink = Callable[[int, Event], None]  # receives (message id, shared send event); never awaits


def send_event(text: str) -> Event:
    """The ASGI event sending one text frame (shared, never mutated, by all recipients)."""
    return {"type": "websocket.send", "text": text}


class Outbox:
    """One connection's outgoing frames: written at once while the socket takes them, else
    queued (at most QUEUE_MAX_FRAMES frames / QUEUE_MAX_BYTES characters) and written by a task.

    `push` never awaits. A full queue calls `on_overflow`; `close` sends a close frame after
    (or, when `discard` is set, instead of) the queued frames.
    """

    __slots__ = (
        "_backlog",
        "_backlog_size",
        "_close",
        "_close_code",
        "_closed",
        "_drained",
        "_on_overflow",
        "_send",
        "_writer",
    )

    def __init__(
        self,
        send: ASGISend,
        close: Callable[[int], Awaitable[None]],
        on_overflow: Callable[[], None],
    ) -> None:
        self._send = send
        self._close = close
        self._on_overflow = on_overflow
        self._backlog: deque[Event] | None = None  # made on first use: most never need it
        self._backlog_size = 0
        self._writer: asyncio.Task[None] | None = None
        self._drained: asyncio.Event | None = None
        self._close_code: int | None = None
        self._closed = False

    @property
    def closing(self) -> bool:
        """Whether a close was requested (nothing more is accepted)."""
        return self._close_code is not None or self._closed

    @property
    def queued(self) -> int:
        """Frames waiting for the socket to take them."""
        return len(self._backlog) if self._backlog else 0

    def push(self, event: Event) -> None:
        """Send `event` now if the socket is writable, else queue it; never waits."""
        self.deliver(0, event)

    def deliver(self, message_id: int, event: Event) -> None:
        """A `Sink` (the fan-out's hot path): push a broadcast message's shared event."""
        if self._writer is None and self._close_code is None and not self._closed:
            # Run the ASGI send until its first suspension. An open, writable socket completes
            # it synchronously (the server writes to its transport and returns): no task, no
            # queue hop, which is what keeps fan-out to many clients cheap. Only a socket under
            # backpressure leaves a suspended send, which the writer task then finishes.
            coroutine = self._send(event)
            try:
                waiting_on = coroutine.send(None)  # type: ignore[attr-defined]
            except StopIteration:
                return
            except Exception:
                self._closed = True  # the connection is gone; its receive loop cleans up
                return
            self._start_writer(coroutine, waiting_on)
        elif self._close_code is None and not self._closed:
            self._enqueue(event)

    def _enqueue(self, event: Event) -> None:
        if self._backlog is None:
            self._backlog = deque()
        size = len(event["text"])
        if len(self._backlog) >= QUEUE_MAX_FRAMES or self._backlog_size + size > QUEUE_MAX_BYTES:
            self._on_overflow()
            return
        self._backlog.append(event)
        self._backlog_size += size

    async def drain(self, below: int = 0) -> None:
        """Wait until at most `below` frames are queued (or the outbox is closing)."""
        while self.queued > below and self._writer is not None and not self.closing:
            if self._drained is None:
                self._drained = asyncio.Event()
            self._drained.clear()
            await self._drained.wait()

    def close(self, code: int, *, discard: bool = False) -> None:
        """Close the socket with `code`, after the queued frames unless `discard`."""
        if self._close_code is not None or self._closed:
            return
        self._close_code = code
        if discard:
            self._backlog = None
            self._backlog_size = 0
        if self._writer is None:
            self._start_writer()
        elif discard:
            self._writer.cancel()  # a send stuck behind a full socket: close instead
        self._wake_drainers()

    async def wait_closed(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the writer to finish its close."""
        writer = self._writer
        if writer is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(asyncio.shield(writer), timeout)

    def detach(self) -> None:
        """The connection ended: drop what is queued and stop writing."""
        self._closed = True
        self._backlog = None
        self._backlog_size = 0
        writer = self._writer
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
        self._wake_drainers()

    def _start_writer(self, suspended: Any = None, waiting_on: Any = None) -> None:
        task = asyncio.get_running_loop().create_task(self._write(suspended, waiting_on))
        task.add_done_callback(functools.partial(self._writer_done, suspended, waiting_on))
        self._writer = task

    async def _write(self, suspended: Any, waiting_on: Any) -> None:
        task = asyncio.current_task()
        try:
            try:
                if suspended is not None:
                    await _finish_suspended(suspended, waiting_on)
                while (backlog := self._backlog) and not self._closed:
                    event = backlog.popleft()
                    self._backlog_size -= len(event["text"])
                    if self._drained is not None and len(backlog) <= REPLAY_HIGH_WATER // 2:
                        self._drained.set()
                    await self._send(event)
            except asyncio.CancelledError:
                if self._closed or self._close_code is None or task is None:
                    raise
                task.uncancel()  # close(discard=True) interrupted a send stuck on a full socket
            if self._close_code is not None and not self._closed:
                self._closed = True
                # No timeout: a close stuck behind a full socket completes when the peer reads
                # or goes away; either way the connection's own end cleans up.
                with contextlib.suppress(Exception):
                    await self._close(self._close_code)
        except Exception:
            self._closed = True
            self._backlog = None
            self._backlog_size = 0
        finally:
            # Cleared here, in the task's last step, so that a push never queues behind a
            # writer that has already finished.
            if self._writer is task:
                self._writer = None
            self._wake_drainers()

    def _writer_done(self, suspended: Any, waiting_on: Any, task: asyncio.Task[None]) -> None:
        # Matters only for a writer cancelled before it ever ran: cancel the send it was to
        # finish, and still send the close that cancelled it.
        if suspended is not None and inspect.getcoroutinestate(suspended) == inspect.CORO_SUSPENDED:
            _cancel_suspended(suspended, waiting_on)
        if self._writer is task:
            self._writer = None
            if task.cancelled() and self._close_code is not None and not self._closed:
                self._start_writer()
        self._wake_drainers()

    def _wake_drainers(self) -> None:
        if self._drained is not None:
            self._drained.set()


async def _finish_suspended(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
    """Drive a coroutine that was started outside any task, from where it suspended, to its end."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)  # a bare `yield`: it only gave up the loop for a turn
            else:
                await asyncio.wait((waiting_on,))  # do not raise its outcome here: ...
        except BaseException:
            _cancel_suspended(coroutine, waiting_on)
            raise
        try:
            waiting_on = coroutine.send(None)  # ... the coroutine reads it when it resumes
        except StopIteration:
            return


def _cancel_suspended(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> None:
    """Cancel a suspended coroutine as cancelling its task would: cancel the future it awaits,
    then let it unwind from there (its `finally` blocks and cleanup run)."""
    if asyncio.isfuture(waiting_on):
        waiting_on.cancel()
        try:
            coroutine.send(None)
        except BaseException:  # the CancelledError (or whatever it became) ends it
            return
    coroutine.close()
