"""core/runner.py: a signal interrupts the main thread's run, never a loop of another thread
(the sandbox serves from a thread of its own while the command waits in the main one)."""

from __future__ import annotations

import asyncio
import os
import signal
import threading

from reconciler.core import runner


def _serve_in_a_thread(started: threading.Event, done: threading.Event) -> list[str]:
    outcome: list[str] = []

    async def serve() -> None:
        started.set()
        while not done.is_set():
            await asyncio.sleep(0.01)

    def main() -> None:
        try:
            runner.run(serve())
            outcome.append("ended")
        except (asyncio.CancelledError, KeyboardInterrupt) as exc:
            outcome.append(type(exc).__name__)

    threading.Thread(target=main, daemon=True).start()
    return outcome


def test_a_signal_to_the_command_does_not_cancel_another_threads_loop() -> None:
    started, done = threading.Event(), threading.Event()
    outcome = _serve_in_a_thread(started, done)
    assert started.wait(5)
    caught = False
    try:
        with runner.interrupts():  # the whole command runs inside this (error_handler.run)
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):  # the handler runs on the main thread's next bytecodes
                threading.Event().wait(0.005)
    except KeyboardInterrupt:
        caught = True
    done.set()
    for _ in range(200):
        if outcome:
            break
        threading.Event().wait(0.01)
    assert caught, "SIGTERM interrupts the command that is waiting"
    assert outcome == ["ended"], "the thread's loop ran on until told to stop"
    assert runner.interrupted()


def test_a_signal_during_the_main_threads_run_cancels_that_run() -> None:
    async def wait() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.sleep(5)

    try:
        runner.run(wait())
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the run was not interrupted")
