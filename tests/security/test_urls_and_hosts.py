"""Where a credential may go: ids in URL paths, pagination links, base_url hosts (SPEC §1.1).

Each test replays an attack a pull request (or a hostile API answer) can mount, over real
loopback HTTP, and shows it refused with nothing written and no token sent elsewhere. The
loopback servers here are reached because the harness sets RECONCILER_ALLOW_LOOPBACK=1, as
an operator would; tests/security/test_credentials.py tests that rule itself.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from reconciler.core.ids import path_id, path_text
from reconciler.input.schemas import schema_path
from reconciler.plugin.endpoints import outside as _outside
from reconciler.plugin.registry import PROVIDERS
from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace
from tests.support.offline import as_warning

ADMIN = "1" * 32
CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
GROUP = "a" * 32
OWNER, TARGET = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11", "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22"
TOKEN = "sf-SECRET-token-123"


# -- a loopback server that records every request, headers included -------------------------


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True
    log: list[tuple[str, str, dict[str, str]]]
    answers: dict[str, Any]


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.server.log.append((self.command, self.path, dict(self.headers.items())))
        answers = self.server.answers
        data = answers.get(self.path, answers.get(self.path.split("?")[0], {"error": "none"}))
        body = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(host: str, port: int, answers: dict[str, Any] | None = None) -> _Recorder:
    server = _Recorder((host, port), _Handler)
    server.log, server.answers = [], answers or {}
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    return server


@pytest.fixture(autouse=True)
def _in_workspace(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI tests run in the workspace, so file names in messages are relative to it."""
    if "ws" in request.fixturenames:
        monkeypatch.chdir(request.getfixturevalue("ws").root)


@pytest.fixture
def servers() -> Iterator[list[_Recorder]]:
    started: list[_Recorder] = []
    yield started
    for s in started:
        s.shutdown()
        s.server_close()


def _free_pair() -> tuple[int, int]:
    """A port P and the port P*10 (what `P` + "0/..." string-joins into), both free."""
    for port in random.sample(range(1100, 6553), 200):
        try:
            for p in (port, port * 10):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port, port * 10
    raise AssertionError("no free port pair in 200 tries: the attack could not be staged")


def _config(ws: Any, vendor: str, url: str, extra: str = "") -> None:
    ws.write(
        "reconciler.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: Config
        providers:
          {vendor}:
            type: {vendor}
            base_url: {url}
        """
        + extra,
    )


def _problem_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if not line.endswith(("file", "files"))]


# -- 1. ids in URL paths -------------------------------------------------------------------


def test_klipfolio_client_id_path_injection_is_refused_at_validate(
    ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    """`client_id: "../roles/<Admin id>#"` once sent PUT /roles/<id>#/share-rights."""
    sandbox.state["klipfolio"] = {
        "groups": [{"id": GROUP, "name": "Finance"}],
        "roles": [{"id": ADMIN, "name": "Admin", "permissions": ["user.manage"]}],
    }
    ws.config()
    ws.write(
        "rights.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: KlipfolioClientShareRights
        spec:
          client_id: "../roles/{ADMIN}#"
          groups:
            - {{group_id: {GROUP}, can_manage: true}}
        """,
    )
    for command in (["validate", "."], ["apply", ".", "--auto-approve"]):
        res = cli(*command, "--no-color") if command[0] == "apply" else cli(*command)
        assert res.code == 1, res.out + res.err
        assert _problem_lines(res.err) == [
            f"rights.yaml:4:14: spec.client_id: '../roles/{ADMIN}#' is not a Klipfolio id "
            "(32 hex characters)"
        ], res.err
    assert sandbox.log == []


@pytest.mark.parametrize(
    ("kind", "spec", "where", "message"),
    [
        (
            "GolemPermissionShare",
            f"owner_account_id: acme-data\n  name: readers\n  target_account_id: {TARGET}",
            "4:21",
            "spec.owner_account_id: 'acme-data' is not a UUID (8-4-4-4-12 hex digits)",
        ),
        (
            "GolemPermissionShare",
            f"owner_account_id: {OWNER}\n  name: readers\n  target_account_id: x/../y",
            "6:22",
            "spec.target_account_id: 'x/../y' is not a UUID (8-4-4-4-12 hex digits)",
        ),
        (
            "BitsightFolderSharing",
            "folder_guid: ../folders\n  is_shared: true",
            "4:16",
            "spec.folder_guid: '../folders' is not a UUID (8-4-4-4-12 hex digits)",
        ),
        (
            "SalesforceFolderShares",
            "folder_id: 00l5e000001AbCd/x\n  shares: []",
            "4:14",
            "spec.folder_id: '00l5e000001AbCd/x' is not a Salesforce id (15 or 18 letters "
            "and digits)",
        ),
        (
            "KlipfolioClientShareRights",
            f"client_id: {CLIENT}\n  groups:\n    - {{group_id: '{GROUP}?x', can_manage: true}}",
            "6:18",
            f"spec.groups.0.group_id: '{GROUP}?x' is not a Klipfolio id (32 hex characters)",
        ),
    ],
)
def test_ids_that_go_into_url_paths_are_checked_at_validate(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, kind: str, spec: str, where: str, message: str
) -> None:
    ws.config()
    ws.write("doc.yaml", f"apiVersion: reconciler/v1\nkind: {kind}\nspec:\n  {spec}\n")
    for command in ("validate", "plan"):
        res = cli(command, ".")
        assert res.code == 1, res.out + res.err
        assert _problem_lines(res.err) == [f"doc.yaml:{where}: {message}"], res.err
    assert sandbox.log == []


def test_a_bad_role_id_from_the_api_is_refused_before_any_request(
    ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    """Role ids come from API answers: `../clients/<id>/share-rights` never becomes a path."""
    evil = f"../clients/{CLIENT}/share-rights"
    sandbox.state["klipfolio"] = {
        "clients": [{"id": CLIENT, "name": "Acme", "share_rights": []}],
        "roles": [{"id": evil, "name": "Viewers", "description": "v", "permissions": []}],
    }
    ws.config()
    ws.write(
        "roles.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec:
          name: Viewers
          description: changed
        """,
    )
    res = cli("apply", ".", "--auto-approve")
    assert res.code == 1, res.out + res.err
    assert "klipfolio: role id '../clients/" in res.err and "is not a Klipfolio id" in res.err
    assert [r.path for r in sandbox.log] == ["/api/1/roles"]
    assert sandbox.writes() == []


def test_a_bad_share_id_from_the_api_is_refused_before_any_write(
    ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    share = {
        "id": "../../accounts/x",
        "revision": 0,
        "ownerAccountId": OWNER,
        "targetAccountId": TARGET,
        "name": "readers",
        "data": {"lowerPositive": ["a"]},
    }
    sandbox.state["golem"] = {"accounts": [OWNER, TARGET], "shares": [share]}
    ws.config()
    ws.write(
        "s.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: GolemPermissionShare
        spec:
          owner_account_id: {OWNER}
          name: readers
          target_account_id: {TARGET}
          data: {{lowerPositive: [b]}}
        """,
    )
    res = cli("apply", ".", "--auto-approve")
    assert res.code == 1, res.out + res.err
    assert "share id '../../accounts/x' is not a UUID" in res.out + res.err
    assert sandbox.writes() == []


def test_path_id_checks_and_encodes() -> None:
    FORMATS = {t: cls.ID_FORMAT for t, cls in PROVIDERS.items()}
    assert path_id(FORMATS["klipfolio"], "ABCDEF" + "0" * 26) == "ABCDEF" + "0" * 26
    assert path_id(FORMATS["salesforce"], "00l5e000001AbCd") == "00l5e000001AbCd"
    for bad in ("../x", "", "a" * 31, "a" * 32 + "\n", None, 7):
        with pytest.raises(ValueError, match="is not a Klipfolio id"):
            path_id(FORMATS["klipfolio"], bad)
    assert path_text("..") == "%2E%2E" and path_text("a/b?c#d") == "a%2Fb%3Fc%23d"


def test_schemas_carry_the_same_id_formats_as_the_code() -> None:
    FORMATS = {t: cls.ID_FORMAT for t, cls in PROVIDERS.items()}

    def pattern(name: str, *path: str) -> str:
        node = json.loads(schema_path(name).read_text())["properties"]
        for key in path:
            node = node[key]
        return str(node["pattern"])

    spec = ("spec", "properties")
    assert pattern("KlipfolioRole", *spec, "client_id") == FORMATS["klipfolio"].pattern
    assert pattern("KlipfolioClientShareRights", *spec, "client_id") == (
        FORMATS["klipfolio"].pattern
    )
    group = (*spec, "groups", "items", "properties", "group_id")
    assert pattern("KlipfolioClientShareRights", *group) == FORMATS["klipfolio"].pattern
    assert pattern("BitsightFolderSharing", *spec, "folder_guid") == FORMATS["bitsight"].pattern
    for field in ("owner_account_id", "target_account_id"):
        assert pattern("GolemPermissionShare", *spec, field) == FORMATS["golem"].pattern
    assert pattern("SalesforceFolderShares", *spec, "folder_id") == FORMATS["salesforce"].pattern
    target = (*spec, "shares", "items", "properties", "shared_with_id")
    assert pattern("SalesforceFolderShares", *target) == FORMATS["salesforce"].pattern


# -- 2. every request stays on the provider's scheme, host, port and prefix -----------------


def _export_salesforce(ws: Any, cli: Any, monkeypatch: Any, base: str) -> Any:
    monkeypatch.setenv("SALESFORCE_ACCESS_TOKEN", TOKEN)
    _config(ws, "salesforce", base)
    out = ws.root / "out"
    return cli(
        "export", "--provider", "salesforce", "--kind", "SalesforceFolderShares", "--out", str(out)
    )


def _first_page(next_url: str) -> dict[str, Any]:
    folders = [{"id": "00l5e000001AbCdAAK", "label": "R", "name": "R", "type": "report"}]
    page = {"folders": folders, "totalSize": 5, "nextPageUrl": next_url}
    return {"/services/data/v60.0/folders": page}


def test_pagination_link_to_another_port_is_refused(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, servers: list[_Recorder]
) -> None:
    """`0/services/...` string-joined to http://127.0.0.1:P became port P0."""
    port, other = _free_pair()
    servers.append(_serve("127.0.0.1", port, _first_page("0/services/data/v60.0/folders")))
    servers.append(attacker := _serve("127.0.0.1", other, _first_page("")))
    res = _export_salesforce(ws, cli, monkeypatch, f"http://127.0.0.1:{port}")
    assert res.code == 1, res.out + res.err
    assert "salesforce: GET to 127.0.0.1" in res.err and "refused" in res.err
    assert attacker.log == []
    assert [r[1] for r in servers[0].log] == ["/services/data/v60.0/folders"]


@pytest.mark.parametrize(
    "link",
    [
        "@127.0.0.2:{port}/services/data/v60.0/folders?page=2",
        "//127.0.0.2:{port}/services/data/v60.0/folders?page=2",
        "http://127.0.0.2:{port}/services/data/v60.0/folders?page=2",
        ".attacker.example/services/data/v60.0/folders?page=2",
        "/services/data/v60.0/../../../other?page=2",
    ],
)
def test_pagination_link_to_another_host_or_path_is_refused(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, servers: list[_Recorder], link: str
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
        other = s.getsockname()[1]
    servers.append(attacker := _serve("127.0.0.2", other, _first_page("")))
    servers.append(_serve("127.0.0.1", 0))
    port = servers[1].server_address[1]
    servers[1].answers = _first_page(link.format(port=other))
    res = _export_salesforce(ws, cli, monkeypatch, f"http://127.0.0.1:{port}")
    assert res.code == 1, res.out + res.err
    assert "salesforce: GET " in res.err and "refused" in res.err and "nothing was sent" in res.err
    assert attacker.log == []
    assert [r[1] for r in servers[1].log] == ["/services/data/v60.0/folders"]
    assert all(TOKEN not in str(r[2]) for r in attacker.log)


def test_pagination_inside_the_api_is_followed(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, servers: list[_Recorder]
) -> None:
    servers.append(server := _serve("127.0.0.1", 0))
    server.answers = _first_page("/services/data/v60.0/folders?page=2") | {
        "/services/data/v60.0/folders?page=2": {"folders": [], "totalSize": 5},
        "/services/data/v60.0/folders/00l5e000001AbCdAAK/shares": {"shares": []},
    }
    res = _export_salesforce(ws, cli, monkeypatch, f"http://127.0.0.1:{server.server_address[1]}")
    assert res.code == 0, res.out + res.err
    assert [r[1] for r in server.log][:2] == [
        "/services/data/v60.0/folders",
        "/services/data/v60.0/folders?page=2",
    ]


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8000/sf/api/folders?page=2", None),
        ("http://127.0.0.1:8001/sf/api/folders", "127.0.0.1:8001"),
        ("https://127.0.0.1:8000/sf/api/folders", "https://127.0.0.1:8000"),
        ("http://127.0.0.2:8000/sf/api/folders", "127.0.0.2:8000"),
        ("http://127.0.0.1:8000/sf/apix", "outside this provider's API path /sf/api"),
        ("http://127.0.0.1:8000/sf/api/../admin", "climbs out"),
        ("http://127.0.0.1:8000/sf/api/%2e%2e/admin", "climbs out"),
        ("http://u:p@127.0.0.1:8000/sf/api/x", "user info"),
        ("http://127.0.0.1:8000/sf/api/x#f", "fragment"),
        ("http://127.0.0.1:8000/sf/api/x\\y", "backslash"),
    ],
)
def test_http_refuses_every_url_off_the_base(url: str, refused: str | None) -> None:
    why = _outside(url, "http://127.0.0.1:8000/sf/api")
    assert (why is None) if refused is None else (why is not None and refused in why), why


# -- 3. base_url hosts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("vendor", "url", "message"),
    [
        (
            "golem",
            "https://acme.apps.golem.cloud",
            "host 'acme.apps.golem.cloud' is not allowed: a provider may only reach its vendor's "
            "API host (release.api.golem.cloud)",
        ),
        (
            "salesforce",
            "https://x.my.salesforce.com",
            "host 'x.my.salesforce.com' is not allowed: no wildcard vendor domain is trusted",
        ),
        (
            "salesforce",
            "https://x.lightning.force.com",
            "host 'x.lightning.force.com' is not allowed: no wildcard vendor domain is trusted",
        ),
        (
            "klipfolio",
            "https://user:pw@app.klipfolio.com/api/1",
            "base_url for host 'app.klipfolio.com' must not hold user info",
        ),
        (
            "klipfolio",
            "https://app.klipfolio.com/api/1?x=1",
            "base_url for host 'app.klipfolio.com' must not hold a query or a fragment",
        ),
        (
            "bitsight",
            "https://api.bitsighttech.com#x",
            "base_url for host 'api.bitsighttech.com' must not hold a query or a fragment",
        ),
        (
            "klipfolio",
            "https://app.klipfolio.com/api/1/roles/x",
            "base_url for host 'app.klipfolio.com' has the path '/api/1/roles/x': only the "
            "vendor's API prefix /api/1 or /api/1.0 may follow the host",
        ),
        (
            "golem",
            "https://release.api.golem.cloud/v1/accounts",
            "base_url for host 'release.api.golem.cloud' has the path '/v1/accounts': no path "
            "may follow the host",
        ),
        # Loopback is no longer always allowed: only with --sandbox or the operator's word.
        (
            "klipfolio",
            "http://127.0.0.2:8125/api/1",
            "host '127.0.0.2' is a loopback address: loopback base URLs are for the sandbox "
            "and tests, accepted only with --sandbox or when the operator sets "
            "RECONCILER_ALLOW_LOOPBACK=1",
        ),
    ],
)
def test_base_urls_off_the_vendor_api_are_refused(
    ws: Workspace,
    cli: RunCli,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    vendor: str,
    url: str,
    message: str,
) -> None:
    monkeypatch.delenv("RECONCILER_ALLOW_HOSTS", raising=False)
    monkeypatch.delenv("RECONCILER_SALESFORCE_BASE_URL", raising=False)
    monkeypatch.delenv("RECONCILER_ALLOW_LOOPBACK", raising=False)
    _config(ws, vendor, url)
    res = cli("plan", ".")
    assert res.code == 1, res.out + res.err
    lines = _problem_lines(res.err)
    assert len(lines) == 1 and lines[0].startswith(f"reconciler.yaml:6:15: {message}"), lines
    # validate reports it identically, offline; what only the operator's environment could
    # allow (a host, loopback) as a warning that plan and apply will refuse it, exit 0.
    res = cli("validate", ".")
    offline = "not allowed" in message or "loopback" in message
    assert res.code == (0 if offline else 1), res.out + res.err
    assert _problem_lines(res.err) == ([as_warning(lines[0])] if offline else lines)
    assert sandbox.log == []


def test_an_apex_rest_path_on_an_allowed_org_is_refused(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "acme.my.salesforce.com")
    _config(ws, "salesforce", "https://acme.my.salesforce.com/services/apexrest/steal")
    res = cli("validate", ".")
    assert res.code == 1
    assert "has the path '/services/apexrest/steal': no path may follow the host" in res.err


@pytest.mark.parametrize(
    ("vendor", "url", "env"),
    [
        (
            "golem",
            "https://acme.apps.golem.cloud",
            {"RECONCILER_ALLOW_HOSTS": "acme.apps.golem.cloud"},
        ),
        (
            "salesforce",
            "https://x.my.salesforce.com/",
            {"RECONCILER_ALLOW_HOSTS": "a, X.my.salesforce.com"},
        ),
        (
            "salesforce",
            "https://x.my.salesforce.com",
            {"RECONCILER_SALESFORCE_BASE_URL": "https://x.my.salesforce.com"},
        ),
        ("klipfolio", "https://app.klipfolio.com/api/1.0/", {}),
        # Was accepted with no setting at all; loopback now needs the operator's word.
        ("bitsight", "http://localhost:1/any/path", {"RECONCILER_ALLOW_LOOPBACK": "1"}),
    ],
)
def test_hosts_the_operator_allows_are_accepted(
    ws: Workspace,
    cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    vendor: str,
    url: str,
    env: dict[str, str],
) -> None:
    monkeypatch.delenv("RECONCILER_ALLOW_HOSTS", raising=False)
    monkeypatch.delenv("RECONCILER_ALLOW_LOOPBACK", raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    _config(ws, vendor, url)
    res = cli("validate", ".")
    assert res.code == 0, res.err


def test_credential_env_names_must_be_upper_case(ws: Workspace, cli: RunCli) -> None:
    _config(ws, "golem", "https://release.api.golem.cloud", "    token_env: path\n")
    res = cli("validate", ".")
    assert res.code == 1
    assert _problem_lines(res.err) == [
        "reconciler.yaml:7:16: providers.golem.token_env: 'path' is not a valid environment "
        "variable name (upper-case letters, digits and _)"
    ]


def test_an_allowed_host_is_still_reached_over_https_only(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "proxy.acme.example")
    _config(ws, "bitsight", "http://proxy.acme.example")
    res = cli("validate", ".")
    assert res.code == 1
    assert "host 'proxy.acme.example' must be reached over https" in res.err
