"""The worker pool behind sync handlers: bounded, context-preserving, and it shrinks when idle."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from chatdesk.asgi import run_in_threadpool
from chatdesk.asgi.concurrency import MAX_WORKERS, WorkerPool, iterate_in_threadpool

from .helpers import wait_for

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")


def test_runs_in_another_thread_with_the_callers_context() -> None:
    async def main() -> tuple[str, bool]:
        REQUEST_ID.set("r-1")
        return await run_in_threadpool(
            lambda prefix: (prefix + REQUEST_ID.get(), threading.current_thread().name),
            prefix="id=",
        )

    value, thread_name = asyncio.run(main())
    assert value == "id=r-1"
    assert thread_name.startswith("chatdesk-worker-")


def test_exceptions_and_iteration_cross_back() -> None:
    def fail() -> None:
        raise LookupError("missing")

    async def main() -> list[int]:
        with pytest.raises(LookupError, match="missing"):
            await run_in_threadpool(fail)
        return [item async for item in iterate_in_threadpool(iter([1, 2, 3]))]

    assert asyncio.run(main()) == [1, 2, 3]


def test_at_most_max_workers_run_at_once_then_idle_workers_exit() -> None:
    pool = WorkerPool(max_workers=3, idle_timeout=0.2)
    release = threading.Event()
    running: list[int] = []
    peak: list[int] = [0]
    lock = threading.Lock()

    def blocker() -> None:
        with lock:
            running.append(1)
            peak[0] = max(peak[0], len(running))
        release.wait(5)
        with lock:
            running.pop()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(7)]
        for future in futures:
            pool.submit((blocker, loop, future))
        await asyncio.to_thread(wait_for, lambda: len(running) == 3)
        assert pool.workers == 3
        release.set()
        await asyncio.wait_for(asyncio.gather(*futures), 5)

    asyncio.run(main())
    assert peak[0] == 3
    wait_for(lambda: pool.workers == 0)
    assert MAX_WORKERS == 40


def test_jobs_queued_together_never_wait_behind_a_busy_worker() -> None:
    # One idle worker and two jobs submitted back to back: the second job needs a worker of its
    # own. Counting only waiting workers, it would sit in the queue until the first job ended.
    pool = WorkerPool(max_workers=3, idle_timeout=5)
    release = threading.Event()
    running = threading.Semaphore(0)

    def blocker() -> None:
        running.release()
        release.wait(5)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        warm_up = loop.create_future()
        pool.submit((lambda: None, loop, warm_up))
        await warm_up  # now one worker waits for the next job
        futures = [loop.create_future() for _ in range(2)]
        for future in futures:
            pool.submit((blocker, loop, future))
        both_run = await asyncio.to_thread(
            lambda: running.acquire(timeout=3) and running.acquire(timeout=3)
        )
        release.set()
        await asyncio.wait_for(asyncio.gather(*futures), 5)
        assert both_run, "the second job waited behind the first"

    asyncio.run(main())
