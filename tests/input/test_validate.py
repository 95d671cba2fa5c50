"""`reconciler validate`: the three formats, offline checks, and endpoint safety."""

from __future__ import annotations

import json

import aiohttp
import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import ENV, RunCli, Workspace
from tests.support.offline import as_warning

ROLE = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Finance Analysts
  permissions: [klip.build]
"""

EVERY_KIND = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Finance Analysts
  description: Build finance dashboards
  permissions: [klip.build, klip.edit]
---
apiVersion: reconciler/v1
kind: KlipfolioClientShareRights
spec:
  client_id: 5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c
  groups:
    - {group_name: Finance, can_manage: true}
---
apiVersion: reconciler/v1
kind: BitsightFolderSharing
spec:
  folder_guid: fcc8b8c4-4fa3-4735-ac14-405ac7855d70
  is_shared: true
  shared_with_users:
    - {email: Alice@Acme.com, can_edit_folder_contents: true}
---
apiVersion: reconciler/v1
kind: GolemPermissionShare
spec:
  owner_account_id: 6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11
  name: analytics-readers
  target_account_id: 0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22
  data:
    lowerPositive: ["application(platform@acme.com/shop) @ analytics@acme.com : view :"]
---
apiVersion: reconciler/v1
kind: SalesforceFolderShares
spec:
  folder_id: 00l5e000002SaLeAAK
  shares:
    - {share_type: organization, access_type: view}
"""

# Two problems in two files: an unknown permission, and a misspelt field (one problem, not a
# second for the field it misses) in a file whose name needs escaping in a workflow command.
ROLE_TYPO = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Finance Analysts
  permissions: [klip.biuld]
"""
RIGHTS_TYPO = """
apiVersion: reconciler/v1
kind: KlipfolioClientShareRights
spec:
  client_id: 5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c
  group: []
"""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test on any HTTP request, whoever makes it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate made an HTTP request")

    monkeypatch.setattr(aiohttp.ClientSession, "_request", refuse)


@pytest.fixture
def broken(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws.config()
    ws.write("roles.yaml", ROLE_TYPO)
    ws.write("rights, acme.yaml", RIGHTS_TYPO)
    monkeypatch.chdir(ws.root)
    return ws


def test_text_format_prints_one_line_per_problem_and_a_summary(
    broken: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    res = cli("validate", ".")
    assert res.code == 1
    assert res.out == ""
    assert res.err.splitlines() == [
        "rights, acme.yaml:5:3: spec: unknown field 'group' (did you mean 'groups'?)",
        "roles.yaml:5:17: spec.permissions.0: unknown permission 'klip.biuld'; "
        "did you mean 'klip.build'?",
        "2 problems in 2 files",
    ]
    assert sandbox.log == []


def test_json_format_lists_file_line_column_message_and_rule(
    broken: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    res = cli("validate", ".", "--format", "json")
    assert res.code == 1
    problems = json.loads(res.out)
    assert problems == [
        {
            "file": "rights, acme.yaml",
            "line": 5,
            "column": 3,
            "message": "spec: unknown field 'group' (did you mean 'groups'?)",
            "rule": "schema",
            "severity": "error",
        },
        {
            "file": "roles.yaml",
            "line": 5,
            "column": 17,
            "message": "spec.permissions.0: unknown permission 'klip.biuld'; "
            "did you mean 'klip.build'?",
            "rule": "spec",
            "severity": "error",
        },
    ]
    assert res.err == "2 problems in 2 files\n"
    assert sandbox.log == []


def test_github_format_prints_workflow_commands_then_the_summary(
    broken: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    res = cli("validate", ".", "--format", "github")
    assert res.code == 1
    assert res.out.splitlines() == [
        "::error file=rights%2C acme.yaml,line=5,col=3::"
        "spec: unknown field 'group' (did you mean 'groups'?)",
        "::error file=roles.yaml,line=5,col=17::"
        "spec.permissions.0: unknown permission 'klip.biuld'; did you mean 'klip.build'?",
    ]
    # GitHub shows only the first 10 annotations of a step: the count follows them.
    assert res.err == "2 problems in 2 files\n"
    assert sandbox.log == []


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_valid_workspace_exits_0_without_a_request(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, fmt: str, no_network: None
) -> None:
    ws.config()
    ws.write("all.yaml", EVERY_KIND)
    res = cli("validate", str(ws.root), "--format", fmt)
    assert res.code == 0, res.err
    if fmt == "json":
        assert json.loads(res.out) == []
    else:
        assert "Valid: 5 objects in 1 file." in res.out + res.err
    assert sandbox.log == []


def test_validate_needs_no_credential_and_no_reachable_host(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    ws.write(
        "reconciler.yaml",
        """
        apiVersion: reconciler/v1
        kind: Config
        providers:
          klipfolio: {base_url: "http://127.0.0.1:9/api/1"}
          bitsight: {base_url: "http://127.0.0.1:9"}
          golem: {base_url: "http://127.0.0.1:9"}
          salesforce: {base_url: "http://127.0.0.1:9"}
        """,
    )
    ws.write("all.yaml", EVERY_KIND)
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)
    res = cli("validate", str(ws.root))
    assert res.code == 0, res.err
    assert "Valid: 5 objects in 1 file." in res.out


def _config(ws: Workspace, vendor: str, url: str) -> None:
    ws.write(
        "reconciler.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: Config
        providers:
          {vendor}:
            base_url: {url}
        """,
    )
    docs = [d for d in EVERY_KIND.split("---") if f"kind: {KINDS[vendor]}" in d]
    ws.write("all.yaml", "---".join(docs))


KINDS = {
    "klipfolio": "Klipfolio",
    "bitsight": "BitsightFolderSharing",
    "golem": "GolemPermissionShare",
    "salesforce": "SalesforceFolderShares",
}


@pytest.mark.parametrize(
    ("vendor", "url"),
    [
        ("klipfolio", "https://app.klipfolio.com/api/1"),
        ("bitsight", "https://api.bitsighttech.com"),
        ("golem", "https://release.api.golem.cloud"),
        ("klipfolio", "HTTPS://APP.KLIPFOLIO.COM/api/1"),
        ("klipfolio", "https://app.klipfolio.com/api/1.0/"),
        ("klipfolio", "http://127.0.0.1:8123/klipfolio/api/1"),
        ("bitsight", "http://127.5.6.7:8123"),
        ("golem", "http://localhost:8123"),
        ("salesforce", "http://[::1]:8123"),
    ],
)
def test_vendor_domains_over_https_and_loopback_are_accepted(
    ws: Workspace, cli: RunCli, no_network: None, vendor: str, url: str
) -> None:
    _config(ws, vendor, url)
    res = cli("validate", str(ws.root))
    assert res.code == 0, res.err


def test_a_host_in_reconciler_allow_hosts_is_accepted(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    monkeypatch.setenv(
        "RECONCILER_ALLOW_HOSTS", "egress.acme.internal, Klipfolio-Proxy.acme.internal"
    )
    _config(ws, "klipfolio", "https://klipfolio-proxy.acme.internal/api/1")
    res = cli("validate", str(ws.root))
    assert res.code == 0, res.err


@pytest.mark.parametrize(
    ("vendor", "url", "message"),
    [
        (
            "klipfolio",
            "http://app.klipfolio.com/api/1",
            "host 'app.klipfolio.com' must be reached over https",
        ),
        (
            "golem",
            "http://release.api.golem.cloud",
            "host 'release.api.golem.cloud' must be reached over https",
        ),
        (
            "klipfolio",
            "https://collector.example.net/api/1",
            "host 'collector.example.net' is not allowed: a provider may only reach its vendor's "
            "API host (app.klipfolio.com), a loopback address, or a host listed in "
            "RECONCILER_ALLOW_HOSTS",
        ),
        (
            "golem",
            "https://golem.cloud.collector.example.net",
            "host 'golem.cloud.collector.example.net' is not allowed: a provider may only reach "
            "its vendor's API host (release.api.golem.cloud), a loopback address, or a host "
            "listed in RECONCILER_ALLOW_HOSTS",
        ),
        (
            "salesforce",
            "https://evilsalesforce.com",
            "host 'evilsalesforce.com' is not allowed: no wildcard vendor domain is trusted, so "
            "an org host must be listed in RECONCILER_ALLOW_HOSTS or be the host of "
            "RECONCILER_SALESFORCE_BASE_URL",
        ),
        ("bitsight", "https://127.0.0.1.nip.io", "host '127.0.0.1.nip.io' is not allowed"),
    ],
)
def test_other_hosts_are_refused_naming_the_host_and_the_rule(
    ws: Workspace,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    no_network: None,
    vendor: str,
    url: str,
    message: str,
) -> None:
    monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "egress.acme.internal")
    _config(ws, vendor, url)
    res = cli("plan", str(ws.root))
    assert res.code == 1
    lines = res.err.splitlines()
    assert lines[0].startswith(f"{ws.root / 'reconciler.yaml'}:5:15: {message}"), lines
    assert lines[1:] == ["1 problem in 1 file"]
    # Offline, what only the operator's environment could allow is a warning, exit 0.
    res = cli("validate", str(ws.root))
    offline = "not allowed" in message or "loopback" in message
    assert res.code == (0 if offline else 1)
    if offline:
        assert res.err.splitlines()[0] == as_warning(lines[0]), res.err
    else:
        assert res.err.splitlines() == lines
