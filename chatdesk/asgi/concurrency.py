"""Run blocking callables in a bounded pool of worker threads, from asyncio."""

from __future__ import annotations

import threading
from contextlib import suppress

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator
    from queue import SimpleQueue
    from typing import Any, ParamSpec, TypeVar

    P = ParamSpec("P")
    T = TypeVar("T")

    Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, asyncio.Future[Any]]

#: As many worker threads as Starlette's (anyio's) default limiter allows.
MAX_WORKERS = 40
#: A worker thread with nothing to do for this long exits (as anyio's do).
IDLE_TIMEOUT = 10.0


def _resolve(future: asyncio.Future[Any], outcome: BaseException | None, result: Any) -> None:
    if future.cancelled():
        return
    if outcome is None:
        future.set_result(result)
    else:
        future.set_exception(outcome)


class WorkerPool:
    """At most `max_workers` threads, started on demand; each exits after `idle_timeout` idle."""

    def __init__(self, max_workers: int = MAX_WORKERS, idle_timeout: float = IDLE_TIMEOUT) -> None:
        from queue import SimpleQueue

        self.max_workers = max_workers
        self.idle_timeout = idle_timeout
        self._jobs: SimpleQueue[Job] = SimpleQueue()
        self._lock = threading.Lock()
        self._workers = 0
        # Jobs queued but not yet taken, and workers blocked waiting for one. Each waiting worker
        # takes one job, so a job finds a worker exactly when pending <= waiting: counting the
        # waiting workers alone would let a job wait behind busy ones (one worker already
        # waiting, two jobs queued).
        self._pending = 0
        self._waiting = 0

    @property
    def workers(self) -> int:
        return self._workers

    def submit(self, job: Job) -> None:
        """Queue `job`; start a worker when no waiting one is left for it and the pool has room."""
        with self._lock:
            self._pending += 1
            self._jobs.put(job)
            if self._pending > self._waiting and self._workers < self.max_workers:
                self._workers += 1
                name = f"chatdesk-worker-{self._workers}"
                threading.Thread(target=self._work, name=name, daemon=True).start()

    def _work(self) -> None:
        from queue import Empty

        while True:
            with self._lock:
                self._waiting += 1
            try:
                call, loop, future = self._jobs.get(timeout=self.idle_timeout)
            except Empty:
                with self._lock:
                    self._waiting -= 1
                    # Stay if a job queued just as the wait ended counts on this worker.
                    if self._pending <= self._waiting:
                        self._workers -= 1
                        return
                continue
            with self._lock:
                self._waiting -= 1
                self._pending -= 1
            outcome: BaseException | None = None
            result = None
            try:
                result = call()
            except BaseException as exc:
                outcome = exc
            # A closed loop raises RuntimeError: nobody is waiting any more.
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future, outcome, result)
            del call, future, result, outcome


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def get_worker_pool() -> WorkerPool:
    """The process-wide pool that run_in_threadpool uses."""
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = WorkerPool()
    return _pool


async def run_in_threadpool(func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Call `func(*args, **kwargs)` in a worker thread (with the caller's context) and await it."""
    import asyncio
    import contextvars
    import functools

    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()
    call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
    get_worker_pool().submit((call, loop, future))
    return await future


class _Exhausted(Exception):
    """StopIteration cannot cross a Future, so the worker raises this instead."""


def _next(iterator: Iterator[T]) -> T:
    try:
        return next(iterator)
    except StopIteration:
        raise _Exhausted from None


async def iterate_in_threadpool(iterable: Iterable[T]) -> AsyncIterator[T]:
    """Iterate a blocking iterable, each step in a worker thread."""
    iterator = iter(iterable)
    while True:
        try:
            yield await run_in_threadpool(_next, iterator)
        except _Exhausted:
            break
