"""Connect: the providers a run needs, each checked (host, credential) before any call."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from reconciler.core.errors import ManifestError, Problem
from reconciler.core.settings import Config, ProviderConfig, VendorDefaults
from reconciler.plugin.endpoints import base_url_allowed
from reconciler.plugin.http import Limits
from reconciler.plugin.provider import Provider
from reconciler.plugin.registry import PROVIDERS


@dataclass
class SandboxTarget:
    """Where --sandbox points every provider: a base URL and a dummy credential per type."""

    urls: dict[str, str]
    credentials: dict[str, str]


def connect(
    config: Config,
    aliases: set[str],
    sandbox: SandboxTarget | None = None,
    parallelism: int | None = None,
) -> dict[str, Provider]:
    """Build the providers the run needs; a missing credential is reported before any call.
    `parallelism` (`--parallelism`), when given, bounds the requests in flight in place of
    the config's `settings.parallelism`."""
    limits = Limits(parallelism or config.parallelism)
    providers: dict[str, Provider] = {}
    problems = []
    for alias in sorted(aliases):
        pconf = config.providers[alias]
        cls = PROVIDERS[pconf.type]
        if sandbox is not None:
            pconf.base_url = sandbox.urls[pconf.type]
            credential = sandbox.credentials[pconf.type]
        else:
            credential = os.environ.get(pconf.credential_env, "")
            problem = _unusable(alias, pconf, cls.DEFAULTS, credential)
            if problem is not None:
                problems.append(problem)
                continue
        providers[alias] = cls(pconf, credential, limits)
    if problems:
        raise ManifestError(problems)
    return providers


def _unusable(
    alias: str, pconf: ProviderConfig, defaults: VendorDefaults, credential: str
) -> Problem | None:
    """Why provider `alias` must not be built (its host, its credential), at its config entry."""
    why = base_url_allowed(pconf.base_url, defaults)
    if why:
        return Problem(*pconf.source, why, "endpoint-safety")
    env = pconf.credential_env
    if not credential:
        why = f"provider {alias!r} needs its credential in the environment variable {env}, "
        why += "which is not set"
    elif flaw := credential_flaw(credential):
        # Named, never shown: the value is a secret even when it is wrong.
        why = f"provider {alias!r}: the credential in the environment variable {env} {flaw}"
        why += "; nothing was sent"
    return Problem(*pconf.source, why, "credential") if why else None


def credential_flaw(value: str) -> str | None:
    """Why `value` cannot be a credential in an HTTP header, or None. Never quotes it."""
    if value != value.strip():
        return "starts or ends with whitespace or a newline"
    if not value.isascii():
        return "holds a non-ASCII character"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "holds a control character"
    return None


async def close(providers: dict[str, Provider]) -> None:
    await asyncio.gather(*(p.close() for p in providers.values()))
