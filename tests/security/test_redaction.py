"""Credentials never leave the process, in any form, even when a vendor echoes one back.

Each attack runs against the sandbox over loopback HTTP: the vendor's 401 body quotes the
Authorization header (`Bearer <token>`, BitSight's `Basic base64(<token>:)`), or a bug
raises with the credential in its message; stdout, stderr and the logs at -v and -vv,
tracebacks included, show `***` instead.
"""

from __future__ import annotations

import base64
import copy
import logging
import sys
import urllib.parse

import pytest
from aiohttp import web

from reconciler.core.model import LiveObject, Resource
from reconciler.plugin.provider import Provider
from reconciler.plugin.registry import PROVIDERS
from reconciler.sandbox import Sandbox
from reconciler.sandbox.core import VendorApp
from tests.plugin.test_contract import CASES
from tests.support.harness import ENV, RunCli, Workspace

BY_VENDOR = {c.vendor: c for c in CASES}


def _secret(vendor: str) -> str:
    return f"S3CR3T-{vendor}-0d9f8e7c6b5a4f3e2d1c"


def _forms(vendor: str) -> list[str]:
    """Every way the credential can be spelled on the wire or in a message."""
    s = _secret(vendor)
    return [
        s,
        s[:14],
        base64.b64encode(f"{s}:".encode()).decode(),
        base64.b64encode(s.encode()).decode(),
        base64.b64encode(f"{s}:".encode()).decode()[:16],
        urllib.parse.quote(s, safe=""),
    ]


def _assert_clean(*texts: str) -> None:
    for vendor in ENV:
        for form in _forms(vendor):
            for text in texts:
                assert form not in text, (form, text)


@pytest.fixture
def workspace(sandbox: Sandbox, ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Every vendor's sandbox seeded; each credential a known secret."""
    for case in CASES:
        sandbox.state[case.vendor] = copy.deepcopy(case.state)
    for vendor, env in ENV.items():
        sandbox.state.setdefault(vendor, {})["credential"] = _secret(vendor)
        monkeypatch.setenv(env, _secret(vendor))
    ws.config(providers="\n".join(c.config for c in CASES))
    return ws


def _echoing_401(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, vendor: str) -> None:
    """The vendor answers 401 with a body that quotes what the client sent, whole and cut
    short, and BitSight's Basic token in both base64 spellings."""
    app = sandbox.vendors[vendor]

    def admit(self: VendorApp, headers: dict[str, str], path: str) -> web.Response | None:
        sent = headers.get("authorization") or headers.get("kf-api-key") or ""
        token = _secret(vendor)
        message = (
            f"bad token {sent}; expected Bearer {token} or Basic "
            f"{base64.b64encode(token.encode()).decode()} (got {sent[:20]}...)"
        )
        return self.error(401, message)

    monkeypatch.setattr(type(app), "admit", admit)


@pytest.mark.parametrize("verbose", ["-v", "-vv"])
@pytest.mark.parametrize("vendor", sorted(PROVIDERS))
def test_a_401_body_that_echoes_the_credential_is_redacted(
    workspace: Workspace,
    sandbox: Sandbox,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    vendor: str,
    verbose: str,
) -> None:
    workspace.write("m.yaml", BY_VENDOR[vendor].manifests)
    _echoing_401(sandbox, monkeypatch, vendor)
    res = cli("plan", str(workspace.root), verbose)
    assert res.code == 1, res.err
    assert "authentication failed (bad token" in res.err and ENV[vendor] in res.err
    assert "***" in res.err
    assert "Traceback" in res.err, "-v logs the error with its traceback"
    _assert_clean(res.out, res.err)


def test_the_basic_header_bitsight_sends_is_redacted(
    workspace: Workspace, sandbox: Sandbox, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.write("m.yaml", BY_VENDOR["bitsight"].manifests)
    _echoing_401(sandbox, monkeypatch, "bitsight")
    res = cli("plan", str(workspace.root))
    sent = sandbox.requests("bitsight")[0].headers["authorization"]
    assert sent.startswith("Basic ")
    assert "bad token ***" in res.err
    assert sent not in res.err and sent.split()[1] not in res.err
    _assert_clean(res.out, res.err)


@pytest.mark.parametrize("verbose", ["-v", "-vv"])
def test_the_traceback_of_a_bug_is_redacted(
    workspace: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, verbose: str
) -> None:
    workspace.write("m.yaml", BY_VENDOR["golem"].manifests)
    secret = _secret("golem")
    basic = base64.b64encode(f"{_secret('bitsight')}:".encode()).decode()

    async def broken(
        self: Provider, kind: str, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        token = secret  # a local the traceback could show
        raise RuntimeError(f"sent Authorization: Bearer {token} and Basic {basic}")

    monkeypatch.setattr(PROVIDERS["golem"], "read", broken)
    res = cli("plan", str(workspace.root), verbose)
    assert res.code == 3, res.err
    assert "Traceback (most recent call last)" in res.err
    assert "Internal error: RuntimeError: sent Authorization: *** and ***" in res.err
    _assert_clean(res.out, res.err)


def test_log_records_and_their_tracebacks_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    from reconciler.core.redact import RedactingFormatter, register

    secret = "hunter2-correct-horse-battery"
    register(secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s"))
    log = logging.getLogger("tests.security.redaction")
    log.addHandler(handler)
    log.propagate = False  # earlier CLI runs left their own handler on the root logger
    try:
        try:
            raise ValueError(f"token {secret}")
        except ValueError:
            log.error("calling with %s", f"Bearer {secret}", exc_info=True)
    finally:
        log.removeHandler(handler)
    err = capsys.readouterr().err
    assert "ERROR calling with ***" in err and "ValueError: token ***" in err
    assert "hunter2-corre" not in err


def test_redaction_never_leaves_a_prefix_or_a_form_behind() -> None:
    from reconciler.core.redact import redact, register

    secret = "tok_9Qw3Lr7Zp1Xv5Kn2"
    register(secret)
    b64 = base64.b64encode(f"{secret}:".encode()).decode()
    for text in (
        f"Bearer {secret}",
        f"Basic {b64}",
        base64.b64encode(secret.encode()).decode(),
        urllib.parse.quote(secret),
        f"got {secret[:13]}... instead",
        secret + "\n",
    ):
        out = redact(text)
        assert "***" in out and secret[:12] not in out and b64[:12] not in out, out
