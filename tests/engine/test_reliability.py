"""Faults, interrupts, hostile input and secrets: behaviour proven with the sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from reconciler.sandbox import Fault, Sandbox
from tests.support.harness import RunCli, Workspace

ACME = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"


def _live_roles(n: int) -> list[dict[str, object]]:
    """`n` live roles matching `_roles(n)` exactly."""
    return [
        {
            "id": f"{i:032x}",
            "name": f"Role {i:03d}",
            "description": f"d{i}",
            "permissions": ["klip.edit"],
        }
        for i in range(n)
    ]


def _roles(n: int, prefix: str = "Role") -> str:
    return "\n---\n".join(
        f"apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {{name: {prefix} {i:03d}, "
        f"description: d{i}, permissions: [klip.edit]}}"
        for i in range(n)
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupt_during_apply_finishes_in_flight_writes_and_rerun_converges(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, sig: signal.Signals
) -> None:
    sandbox.state["klipfolio"] = {"roles": []}
    sandbox.latency_ms = 150
    ws.config(providers="klipfolio.rate_limit_per_second: 0")
    ws.write("roles.yaml", _roles(30))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "apply",
            str(ws.root),
            "--auto-approve",
            "--parallelism",
            "2",
            "--no-color",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 30
    while not sandbox.writes() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sandbox.writes(), "apply never started writing"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "not started: interrupted" in out
    assert "Interrupted:" in err and "run apply again" in err
    created = {r["name"] for r in sandbox.state["klipfolio"]["roles"]}
    applied = {line.split("KlipfolioRole/")[1] for line in out.splitlines() if " applied  " in line}
    # Every write we started finished and was reported; nothing else was created.
    assert created == applied and 0 < len(created) < 30
    sandbox.latency_ms = 0
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0
    assert len(sandbox.state["klipfolio"]["roles"]) == 30


@pytest.mark.parametrize(("n_delete", "refused"), [(3, False), (4, True)])
def test_delete_threshold_boundary(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, n_delete: int, refused: bool
) -> None:
    # 10 live roles, max_delete_percent 30: 3 deletes (30%) pass, 4 (40%) are refused.
    sandbox.state["klipfolio"] = {"roles": _live_roles(10)}
    ws.config(
        providers="klipfolio.prune: [roles]\nklipfolio.protected_roles: []",
        settings="safety: {max_delete_percent: 30, max_update_percent: 30, min_existing: 10}",
    )
    ws.write("roles.yaml", _roles(10 - n_delete))
    res = cli("apply", str(ws.root), "--auto-approve")
    if refused:
        assert res.code == 1
        assert "4 of 10 (40%) KlipfolioRole deletes exceed max_delete_percent 30" in res.err
        assert sandbox.writes() == []
        forced = cli("apply", str(ws.root), "--auto-approve", "--force")
        assert forced.code == 0 and len(sandbox.writes()) == 4
    else:
        assert res.code == 0, res.err
        assert len(sandbox.writes()) == 3


@pytest.mark.parametrize(("n_update", "refused"), [(3, False), (4, True)])
def test_update_threshold_boundary(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, n_update: int, refused: bool
) -> None:
    sandbox.state["klipfolio"] = {"roles": _live_roles(10)}
    ws.config(settings="safety: {max_update_percent: 30, min_existing: 10}")
    docs = _roles(10).split("\n---\n")
    for i in range(n_update):
        docs[i] = docs[i].replace(f"description: d{i}", f"description: new{i}")
    ws.write("roles.yaml", "\n---\n".join(docs))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert (res.code == 1) is refused, res.err
    if refused:
        assert "4 of 10 (40%) KlipfolioRole updates exceed max_update_percent 30" in res.err
        assert sandbox.writes() == []


def test_thresholds_do_not_apply_below_min_existing(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {
        "roles": [{"id": f"{i:032x}", "name": f"Role {i:03d}", "permissions": []} for i in range(9)]
    }
    ws.config(
        providers="klipfolio.prune: [roles]\nklipfolio.protected_roles: []",
        settings="safety: {max_delete_percent: 30, min_existing: 10}",
    )
    ws.write("roles.yaml", _roles(1, prefix="Other"))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert len([r for r in sandbox.writes() if r.method == "DELETE"]) == 9


def test_redirect_to_another_host_is_not_followed(
    sandbox: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    sandbox.state["klipfolio"] = {"roles": []}
    with Sandbox() as elsewhere:
        sandbox.faults.append(
            Fault(
                "redirect", "GET", times=99, location=elsewhere.base_urls()["klipfolio"] + "/roles"
            )
        )
        ws.config()
        ws.write("roles.yaml", _roles(1))
        res = cli("plan", str(ws.root))
        assert res.code == 1
        assert "redirect" in res.err and "not followed" in res.err
        assert elsewhere.log == []
    assert sandbox.writes() == []


def test_disallowed_host_gets_no_request_at_all(
    sandbox: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECONCILER_ALLOW_HOSTS", raising=False)
    cfg = ws.root / "reconciler.yaml"
    ws.write(
        "reconciler.yaml",
        """
        apiVersion: reconciler/v1
        kind: Config
        providers:
          klipfolio: {type: klipfolio, base_url: "https://collector.example.net/api/1"}
    """,
    )
    ws.write("roles.yaml", _roles(1))
    res = cli("plan", str(ws.root))
    assert res.code == 1
    assert f"{cfg}:4:" in res.err and "collector.example.net" in res.err
    assert "RECONCILER_ALLOW_HOSTS" in res.err


def test_tls_verification_is_on_for_remote_hosts() -> None:
    import ssl

    from reconciler.core.settings import ProviderConfig
    from reconciler.plugin.http import Limits
    from reconciler.vendors.klipfolio.provider import KlipfolioProvider

    provider = KlipfolioProvider(
        ProviderConfig("k", "klipfolio", "https://app.klipfolio.com/api/1", "X"),
        "tls-test-credential-4f1c",
        Limits(),
    )
    context = provider.http.ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
