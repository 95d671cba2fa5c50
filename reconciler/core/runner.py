"""One way to run a coroutine (uvloop where installed), and one way to be interrupted.

SIGINT and SIGTERM are handled the same way for the whole command (docs/exit-codes.md, §4.1): once
one arrives, no write starts. While writes run (`writing()`), the signal only sets the
stop event, so writes in flight finish and are reported; in any other phase (reads, the
stale check, the confirmation, rendering) the run is cancelled and `KeyboardInterrupt`
reaches the CLI, which prints "Interrupted." and exits 130.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _State:
    depth = 0
    signalled = False
    loop: asyncio.AbstractEventLoop | None = None
    task: asyncio.Task[Any] | None = None
    stop: asyncio.Event | None = None


_state = _State()


def interrupted() -> bool:
    """Whether SIGINT or SIGTERM arrived during this command."""
    return _state.signalled


def _on_signal(signum: int, frame: FrameType | None) -> None:
    first = not _state.signalled
    _state.signalled = True
    if _state.stop is not None:
        # Writes are running: let those in flight finish; `apply` starts no other.
        _state.stop.set()
        if _state.loop is not None:
            _state.loop.call_soon_threadsafe(lambda: None)
        return
    if _state.task is not None:
        if first and not _state.task.done():
            _state.task.cancel()
            if _state.loop is not None:
                _state.loop.call_soon_threadsafe(lambda: None)
        return
    if first:
        raise KeyboardInterrupt


@contextlib.contextmanager
def interrupts() -> Iterator[None]:
    """Handle SIGINT and SIGTERM as an interrupt for the duration (nestable); a no-op
    outside the main thread, where signal handlers cannot be installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if _state.depth == 0:
        _state.signalled = False
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, _on_signal)
    _state.depth += 1
    try:
        yield
    finally:
        _state.depth -= 1
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def writing() -> Iterator[asyncio.Event]:
    """The write phase: a signal sets the yielded event instead of cancelling the run."""
    stop = asyncio.Event()
    if _state.signalled:
        stop.set()
    outer, _state.stop = _state.stop, stop
    try:
        yield stop
    finally:
        _state.stop = outer


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion; `KeyboardInterrupt` when interrupted before or during it."""
    with interrupts():
        if _state.signalled:
            coro.close()
            raise KeyboardInterrupt
        try:
            return _run(_main(coro))
        except asyncio.CancelledError:
            if _state.signalled:
                raise KeyboardInterrupt from None
            raise


async def _main(coro: Coroutine[Any, Any, T]) -> T:
    if threading.current_thread() is not threading.main_thread():
        # A loop of another thread (the sandbox's server) is never the one a signal
        # cancels: the signal is the command's, handled on the main thread.
        return await coro
    outer = _state.loop, _state.task
    _state.loop, _state.task = asyncio.get_running_loop(), asyncio.current_task()
    try:
        return await coro
    finally:
        _state.loop, _state.task = outer


def _run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # not on Windows
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)
