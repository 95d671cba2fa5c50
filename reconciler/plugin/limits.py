"""How much one run may ask of the vendors: the global parallelism, the answer size bound,
the rate margin, and the per-client call counts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

RATE_MARGIN = 1.03
MAX_BODY = 50 * 1024 * 1024  # bytes of an answer, after decompression


@dataclass
class Stats:
    calls: int = 0
    retries: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    wait: float = 0.0


@dataclass
class Limits:
    """Shared by all providers: the global `parallelism`."""

    parallelism: int = 10
    _sem: asyncio.Semaphore | None = None

    @property
    def semaphore(self) -> asyncio.Semaphore:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.parallelism)
        return self._sem
