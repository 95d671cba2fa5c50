"""Shared fixtures: a sandbox on a free loopback port, fresh for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.sandbox import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    sb = Sandbox(retry_after=0)
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()
