"""Secrets never leak: not to stdout, stderr, logs, plan files or exception text."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import pytest

from reconciler.core.model import LiveObject, Resource
from reconciler.plugin.http import REDACT, register_secret
from reconciler.plugin.provider import Provider
from reconciler.sandbox import Sandbox
from reconciler.sandbox.contract import VendorCase
from tests.plugin.test_contract import CASES
from tests.support.harness import ENV, RunCli, Workspace


def _secret(vendor: str) -> str:
    return f"TOPSECRET-{vendor}-7f3a9c21e8"


@pytest.fixture(params=CASES, ids=lambda c: c.vendor)
def secret_case(
    request: pytest.FixtureRequest, sandbox: Sandbox, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> VendorCase:
    case = request.param
    sandbox.state[case.vendor] = copy.deepcopy(case.state)
    for vendor, env in ENV.items():
        sandbox.state.setdefault(vendor, {})["credential"] = _secret(vendor)
        monkeypatch.setenv(env, _secret(vendor))
    ws.config(providers=case.config)
    ws.write("m.yaml", case.manifests)
    return case


def _no_secret(*texts: str) -> None:
    for vendor in ENV:
        for text in texts:
            assert _secret(vendor) not in text
            assert _secret(vendor)[:20] not in text


def test_every_command_keeps_secrets_out(
    secret_case: VendorCase, sandbox: Sandbox, ws: Workspace, cli: RunCli, tmp_path: Path
) -> None:
    plan_file = tmp_path / "plan.json"
    outputs = []
    for args in (
        ("validate", str(ws.root), "-v"),
        ("plan", str(ws.root), "-v", "--out", str(plan_file)),
        ("plan", str(ws.root), "-v", "--format", "json"),
        ("plan", str(ws.root), "-v", "--format", "markdown"),
        ("drift", str(ws.root), "-v", "--format", "json"),
        ("apply", str(plan_file), "-v", "--config", str(ws.root / "reconciler.yaml")),
        ("apply", str(ws.root), "-v", "--auto-approve"),
    ):
        res = cli(*args)
        assert res.code in (0, 2), (args, res.err)
        outputs += [res.out, res.err]
    assert any(" -> 200 " in text for text in outputs), "-v logs each HTTP call"
    _no_secret(*outputs, plan_file.read_text())


def test_401_names_the_env_var_not_the_secret(
    secret_case: VendorCase,
    sandbox: Sandbox,
    ws: Workspace,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = _secret(secret_case.vendor) + "-but-wrong"
    monkeypatch.setenv(ENV[secret_case.vendor], wrong)
    res = cli("plan", str(ws.root), "-v")
    assert res.code == 1
    assert ENV[secret_case.vendor] in res.err and "authentication failed" in res.err
    assert wrong not in res.out + res.err
    _no_secret(res.out, res.err)


def test_exception_inside_a_provider_shows_no_secret(
    secret_case: VendorCase,
    sandbox: Sandbox,
    ws: Workspace,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from reconciler.plugin.registry import PROVIDERS

    cls = PROVIDERS[secret_case.vendor]

    async def broken(
        self: Provider, kind: str, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        raise RuntimeError(f"provider blew up talking to {self.http.base_url}")

    monkeypatch.setattr(cls, "read", broken)
    res = cli("plan", str(ws.root), "-v")
    assert res.code == 3
    assert "Internal error: RuntimeError" in res.err and "Traceback" in res.err
    _no_secret(res.out, res.err)


def test_log_records_are_redacted() -> None:
    register_secret("hunter2-very-secret")
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "sent %s", ("hunter2-very-secret",), None
    )
    REDACT.filter(record)
    assert record.getMessage() == "sent ***"
