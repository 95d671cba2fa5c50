"""Credentials and accounts are the operator's (issue 17, items 2 and 4).

A pull request writes `reconciler.yaml`; the pipeline holds the secrets. Each attack below
is replayed over real loopback HTTP (the sandbox, or a listener on 127.0.0.2) and shown
refused at validation: exit 1, one line naming the file, line and column, nothing sent.
"""

from __future__ import annotations

import json
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import Ran, RunCli, Workspace
from tests.support.offline import as_warning

SECRET = "ghp_0123456789abcdefSECRETgithubTOKEN"
OWNER = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"
TARGET = "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22"
BREAK_GLASS = "22222222-2222-4222-8222-222222222222"
CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
LOOPBACK = "RECONCILER_ALLOW_LOOPBACK"
ALLOW_ENV = "RECONCILER_ALLOW_CREDENTIAL_ENV"


@pytest.fixture(autouse=True)
def _in_workspace(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    """File names in messages are relative to the workspace, as in a pipeline; no operator
    allow list is inherited from the environment running the tests."""
    monkeypatch.chdir(ws.root)
    for var in (ALLOW_ENV, "RECONCILER_ALLOW_HOSTS", "RECONCILER_SALESFORCE_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


# -- a listener on 127.0.0.2 that records what it is sent ------------------------------------


class _Recorder(ThreadingHTTPServer):
    daemon_threads = True
    log: list[tuple[str, str, dict[str, str]]]


class _Handler(BaseHTTPRequestHandler):
    server: _Recorder
    protocol_version = "HTTP/1.1"

    def _any(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        self.server.log.append((self.command, self.path, dict(self.headers.items())))
        body = json.dumps({"meta": {"success": True}, "data": {"roles": []}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[_Recorder]:
    server = _Recorder(("127.0.0.2", 0), _Handler)
    server.log = []
    threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def _config(ws: Workspace, providers: str, settings: str = "") -> None:
    text = "apiVersion: reconciler/v1\nkind: Config\nproviders:\n"
    text += textwrap.indent(textwrap.dedent(providers).strip("\n"), "  ") + "\n"
    if settings:
        text += "settings:\n" + textwrap.indent(textwrap.dedent(settings).strip("\n"), "  ")
    (ws.root / "reconciler.yaml").write_text(text + "\n")


ROLE = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec: {name: Viewers, description: v, permissions: [klip.email]}
"""


def _problems(res: Ran) -> list[str]:
    """The problem lines of stderr (the `N problems in M files` summary left out)."""
    return [line for line in res.err.splitlines() if not line.endswith(("file", "files"))]


def _refused(res: Ran, *lines: str) -> None:
    assert res.code == 1, res.out + res.err
    assert _problems(res) == list(lines), res.err
    assert "Traceback" not in res.err


def _warned(res: Ran, *lines: str) -> None:
    """validate, offline: each refusal only the pipeline's environment decides is a
    warning that plan and apply will refuse it, and the exit code is 0."""
    assert res.code == 0, res.out + res.err
    assert _problems(res) == [as_warning(line) for line in lines], res.err
    assert "Traceback" not in res.err


# -- item 2: the steering attack ---------------------------------------------------------


def test_gh_token_is_not_sent_to_a_loopback_listener(
    ws: Workspace, cli: RunCli, listener: _Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today `plan` sent GH_TOKEN in `kf-api-key` to http://127.0.0.2 and printed a plan."""
    monkeypatch.setenv("GH_TOKEN", SECRET)
    monkeypatch.delenv(LOOPBACK)
    port = listener.server_address[1]
    _config(
        ws,
        f"""
        klipfolio:
          type: klipfolio
          api_key_env: GH_TOKEN
          base_url: http://127.0.0.2:{port}/api/1
        """,
    )
    ws.write("roles.yaml", ROLE)
    loopback = (
        "reconciler.yaml:7:15: host '127.0.0.2' is a loopback address: loopback base URLs "
        "are for the sandbox and tests, accepted only with --sandbox or when the operator "
        "sets RECONCILER_ALLOW_LOOPBACK=1"
    )
    credential = (
        "reconciler.yaml:6:5: credential variable 'GH_TOKEN' is not allowed: a klipfolio "
        "credential variable's name starts with KLIPFOLIO_, unless the operator lists it in "
        "RECONCILER_ALLOW_CREDENTIAL_ENV (comma-separated exact names)"
    )
    for command in ("plan", "validate", "apply"):
        extra = ["--auto-approve"] if command == "apply" else []
        res = cli(command, ".", *extra)
        sent = [h for _, _, h in listener.log if SECRET in str(h)]
        assert sent == [], f"{command} sent GH_TOKEN to the listener: {sent}"
        assert listener.log == [], "a request reached the listener"
        (_warned if command == "validate" else _refused)(res, credential, loopback)
        assert SECRET not in res.out + res.err
    # With loopback allowed by the operator (a CI runner's own service), the variable alone
    # is still refused: the listener hears nothing.
    monkeypatch.setenv(LOOPBACK, "1")
    res = cli("plan", ".")
    _refused(res, credential)
    assert listener.log == [] and SECRET not in res.out + res.err


@pytest.mark.parametrize(
    ("vendor", "key", "var", "prefixes", "where"),
    [
        ("klipfolio", "api_key_env", "GH_TOKEN", "KLIPFOLIO_", "6:5"),
        ("golem", "token_env", "AWS_SECRET_ACCESS_KEY", "GOLEM_", "6:5"),
        ("bitsight", "token_env", "GITHUB_TOKEN", "BITSIGHT_", "6:5"),
        # Another vendor's credential is not this one's either.
        ("golem", "token_env", "KLIPFOLIO_API_KEY", "GOLEM_", "6:5"),
        ("salesforce", "token_env", "SALESFORCEX_TOKEN", "SALESFORCE_ or SF_", "7:5"),
    ],
)
def test_a_credential_variable_without_the_vendors_prefix_is_refused_at_validate(
    ws: Workspace,
    cli: RunCli,
    sandbox: Sandbox,
    vendor: str,
    key: str,
    var: str,
    prefixes: str,
    where: str,
) -> None:
    """With the vendor's default host (today accepted: GH_TOKEN went to app.klipfolio.com)."""
    base = "  base_url: https://acme.my.salesforce.com\n" if vendor == "salesforce" else ""
    # The org host is the operator's, so only the variable is in question here.
    ws.monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "acme.my.salesforce.com")
    _config(ws, f"{vendor}:\n  type: {vendor}\n{base}  {key}: {var}")
    line = (
        f"reconciler.yaml:{where}: credential variable {var!r} is not allowed: a {vendor} "
        f"credential variable's name starts with {prefixes}, unless the operator lists it "
        "in RECONCILER_ALLOW_CREDENTIAL_ENV (comma-separated exact names)"
    )
    _refused(cli("plan", "."), line)
    _warned(cli("validate", "."), line)
    assert sandbox.log == []


def test_the_operator_allows_a_credential_variable_by_its_exact_name(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = sandbox.base_urls()
    monkeypatch.setenv("KF_FINANCE", "kf-key")
    _config(
        ws,
        f"""
        klipfolio:
          api_key_env: KF_FINANCE
          base_url: {urls["klipfolio"]}
        """,
    )
    ws.write("roles.yaml", ROLE)
    res = cli("plan", ".")
    assert res.code == 1 and "'KF_FINANCE' is not allowed" in res.err, res.err
    res = cli("validate", ".")
    assert res.code == 0 and "warning: credential variable 'KF_FINANCE'" in res.err, res.err
    monkeypatch.setenv(ALLOW_ENV, "GH_TOKEN, KF_FINANCE")
    res = cli("validate", ".")
    assert res.code == 0 and "warning" not in res.err, res.err
    # Exact names only: a prefix of an allowed name is not allowed.
    monkeypatch.setenv(ALLOW_ENV, "KF_")
    assert cli("plan", ".").code == 1
    assert sandbox.log == []


@pytest.mark.parametrize(
    ("vendor", "key", "var"),
    [
        ("klipfolio", "api_key_env", "KLIPFOLIO_FINANCE_KEY"),
        ("golem", "token_env", "GOLEM_OPS_TOKEN"),
        ("bitsight", "token_env", "BITSIGHT_API_TOKEN"),
        ("salesforce", "token_env", "SF_PROD_ACCESS_TOKEN"),
        ("salesforce", "token_env", "SALESFORCE_EU_TOKEN"),
    ],
)
def test_a_credential_variable_with_the_vendors_prefix_is_accepted(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, vendor: str, key: str, var: str
) -> None:
    _config(ws, f"{vendor}:\n  base_url: {sandbox.base_urls()[vendor]}\n  {key}: {var}")
    res = cli("validate", ".")
    assert res.code == 0, res.err


# -- item 2: loopback only for the sandbox ---------------------------------------------------


def test_loopback_base_urls_are_refused_without_sandbox_or_the_operators_word(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Today a PR's loopback base_url was accepted anywhere (a runner's own services)."""
    monkeypatch.delenv(LOOPBACK)
    ws.config()
    ws.write("roles.yaml", ROLE)
    lines = (ws.root / "reconciler.yaml").read_text().splitlines()
    expected = [
        f"reconciler.yaml:{n}:{line.index(':') + 3}: host '127.0.0.1' is a loopback address: "
        "loopback base URLs are for the sandbox and tests, accepted only with --sandbox or "
        "when the operator sets RECONCILER_ALLOW_LOOPBACK=1"
        for n, line in enumerate(lines, 1)
        if line.strip().startswith("base_url:")
    ]
    assert len(expected) == 4
    _warned(cli("validate", "."), *expected)
    for command in (["plan", "."], ["apply", ".", "--auto-approve"]):
        _refused(cli(*command), *expected)
    assert sandbox.log == [], "a request went to the loopback host"
    monkeypatch.setenv(LOOPBACK, "yes")  # only "1" is the operator's word
    _refused(cli("plan", "."), *expected)
    monkeypatch.setenv(LOOPBACK, "1")
    res = cli("plan", ".")
    assert res.code == 0, res.err


@pytest.mark.parametrize("host", ["localhost", "[::1]", "127.9.9.9"])
def test_every_loopback_spelling_is_refused(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.delenv(LOOPBACK)
    _config(ws, f"golem:\n  base_url: http://{host}:1")
    name = host.strip("[]")
    line = (
        f"reconciler.yaml:5:15: host {name!r} is a loopback address: loopback base URLs are "
        "for the sandbox and tests, accepted only with --sandbox or when the operator sets "
        "RECONCILER_ALLOW_LOOPBACK=1"
    )
    _refused(cli("plan", "."), line)
    _warned(cli("validate", "."), line)


def test_sandbox_runs_accept_a_loopback_config(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--sandbox` points every provider at the in-process sandbox: the config's own hosts,
    loopback or not, are never contacted."""
    monkeypatch.delenv(LOOPBACK)
    _config(ws, "klipfolio:\n  base_url: http://127.0.0.1:9/api/1")
    ws.write("roles.yaml", ROLE)
    assert cli("plan", ".").code == 1
    res = cli("plan", ".", "--sandbox")
    assert res.code == 0, res.err
    assert "Viewers" in res.out


def test_a_saved_plan_on_loopback_is_refused_without_the_operators_word(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.config()
    ws.write("roles.yaml", ROLE)
    res = cli("plan", ".", "--out", "plan.json")
    assert res.code == 0, res.err
    sandbox.log.clear()
    monkeypatch.delenv(LOOPBACK)
    res = cli("apply", "plan.json")
    assert res.code == 1, res.out + res.err
    assert _problems(res) == [
        "plan.json:1:1: provider 'klipfolio': host '127.0.0.1' is a loopback address: "
        "loopback base URLs are for the sandbox and tests, accepted only with --sandbox or "
        "when the operator sets RECONCILER_ALLOW_LOOPBACK=1"
    ]
    assert sandbox.log == [], "a refused plan made a request"
    monkeypatch.setenv(LOOPBACK, "1")
    res = cli("apply", "plan.json")
    assert res.code == 0, res.out + res.err


def _klipfolio_plan(ws: Workspace, cli: RunCli, credential_env: str) -> dict[str, Any]:
    ws.config()
    ws.write("roles.yaml", ROLE)
    res = cli("plan", ".", "--out", "plan.json")
    assert res.code == 0, res.err
    doc: dict[str, Any] = json.loads(Path("plan.json").read_text())
    (entry,) = [p for p in doc["providers"] if p["alias"] == "klipfolio"]
    entry["credential_env"] = credential_env
    from tests.support.plans import write

    write(Path("."), doc, reseal=True)
    return doc


def test_a_saved_plan_naming_another_credential_variable_is_refused(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan's variable must be the current config's (this held before: a guard)."""
    monkeypatch.setenv("GH_TOKEN", SECRET)
    _klipfolio_plan(ws, cli, "GH_TOKEN")
    sandbox.log.clear()
    res = cli("apply", "plan.json")
    assert res.code == 1, res.out + res.err
    assert _problems(res) == [
        "plan.json:1:1: provider 'klipfolio' does not match the current config "
        "(reconciler.yaml): it has credential env var 'KLIPFOLIO_API_KEY', not 'GH_TOKEN'; "
        "nothing was read or written"
    ]
    assert sandbox.log == [] and SECRET not in res.out + res.err


def test_a_saved_plan_and_config_both_naming_gh_token_are_refused(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PR that edits the config and the plan alike: the config itself is refused."""
    monkeypatch.setenv("GH_TOKEN", SECRET)
    _klipfolio_plan(ws, cli, "GH_TOKEN")
    text = (ws.root / "reconciler.yaml").read_text()
    text = text.replace("  klipfolio:\n", "  klipfolio:\n    api_key_env: GH_TOKEN\n", 1)
    (ws.root / "reconciler.yaml").write_text(text)
    line = text.splitlines().index("    api_key_env: GH_TOKEN") + 1
    sandbox.log.clear()
    res = cli("apply", "plan.json")
    assert res.code == 1, res.out + res.err
    assert _problems(res) == [
        f"reconciler.yaml:{line}:5: credential variable 'GH_TOKEN' is not allowed: a klipfolio "
        "credential variable's name starts with KLIPFOLIO_, unless the operator lists it in "
        "RECONCILER_ALLOW_CREDENTIAL_ENV (comma-separated exact names)"
    ]
    assert sandbox.log == [] and all(SECRET not in str(r.headers) for r in sandbox.log)


# -- item 4: one vendor account, one alias ---------------------------------------------------


def _share(sid: str, name: str) -> dict[str, Any]:
    return {
        "id": sid,
        "revision": 0,
        "ownerAccountId": OWNER,
        "targetAccountId": TARGET,
        "name": name,
        "data": {"lowerPositive": ["a"]},
    }


def test_a_second_golem_alias_cannot_prune_a_protected_share(
    ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    """Today `golem-ops` pruned the break-glass share `golem/...` protection covers."""
    sandbox.state["golem"] = {
        "accounts": [OWNER, TARGET],
        "shares": [_share(BREAK_GLASS, "break-glass-1")],
    }
    url = sandbox.base_urls()["golem"]
    _config(
        ws,
        f"""
        golem:
          type: golem
          base_url: {url}
        golem-ops:
          type: golem
          base_url: {url}/
          prune: [permission_shares]
        """,
        settings=f'protect: ["golem/GolemPermissionShare/{OWNER}/break-glass-*"]',
    )
    ws.write(
        "shares.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: GolemPermissionShare
        provider: golem-ops
        spec:
          owner_account_id: {OWNER}
          name: readers
          target_account_id: {TARGET}
          data: {{lowerPositive: [b]}}
        """,
    )
    expected = (
        f"reconciler.yaml:7:3: providers 'golem' and 'golem-ops' are one golem account "
        f"({url}): one vendor account has one alias, so that protection, prune scopes and "
        "guards apply to all of its objects"
    )
    for command in (["apply", ".", "--auto-approve"], ["validate", "."], ["plan", "."]):
        res = cli(*command)
        names = [s["name"] for s in sandbox.state["golem"]["shares"]]
        assert names == ["break-glass-1"], f"the protected share was pruned: {res.out}"
        assert sandbox.log == [], "nothing is read or written"
        _refused(res, expected)


def test_two_klipfolio_aliases_cannot_split_a_mass_grant(
    ws: Workspace, cli: RunCli, sandbox: Sandbox
) -> None:
    """Today 20 + 20 groups through two aliases of one account passed max_new_members 25."""
    groups = [{"id": f"{i:032x}", "name": f"G{i}"} for i in range(1, 41)]
    sandbox.state["klipfolio"] = {
        "groups": groups,
        "clients": [{"id": CLIENT, "name": "Acme", "share_rights": []}],
    }
    url = sandbox.base_urls()["klipfolio"]
    _config(
        ws,
        f"""
        kf-a:
          type: klipfolio
          base_url: {url}
        kf-b:
          type: klipfolio
          base_url: {url.replace("127.0.0.1", "localhost")}/
        """,
        settings="guards: {max_new_members: 25}",
    )
    for alias, half in (("kf-a", groups[:20]), ("kf-b", groups[20:])):
        rows = "\n".join(f"    - {{group_id: '{g['id']}', can_manage: false}}" for g in half)
        ws.write(
            f"{alias}.yaml",
            f"apiVersion: reconciler/v1\nkind: KlipfolioClientShareRights\nprovider: {alias}\n"
            f"spec:\n  client_id: {CLIENT}\n  members: additive\n  groups:\n{rows}\n",
        )
    other = url.replace("127.0.0.1", "localhost")
    expected = (
        f"reconciler.yaml:7:3: providers 'kf-a' and 'kf-b' are one klipfolio account "
        f"({other}): one vendor account has one alias, so that protection, prune scopes and "
        "guards apply to all of its objects"
    )
    for command in (["apply", ".", "--auto-approve"], ["validate", "."]):
        res = cli(*command)
        granted = sandbox.state["klipfolio"]["clients"][0]["share_rights"]
        assert granted == [], f"{len(granted)} groups granted with no guard: {res.out}"
        assert sandbox.log == [], "nothing is read or written"
        _refused(res, expected)


def test_the_one_alias_rule_reads_the_configured_urls_even_under_sandbox(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--sandbox` points both at the sandbox; the config still names one account twice."""
    monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "acme.my.salesforce.com")
    _config(
        ws,
        """
        sf-prod:
          type: salesforce
          base_url: https://acme.my.salesforce.com
        sf-ops:
          type: salesforce
          base_url: https://ACME.my.salesforce.com:443/
          token_env: SF_OPS_TOKEN
        """,
    )
    expected = (
        "reconciler.yaml:7:3: providers 'sf-prod' and 'sf-ops' are one salesforce account "
        "(https://ACME.my.salesforce.com:443): one vendor account has one alias, so that "
        "protection, prune scopes and guards apply to all of its objects"
    )
    _refused(cli("validate", "."), expected)
    _refused(cli("plan", ".", "--sandbox"), expected)


def test_aliases_of_different_accounts_or_types_are_accepted(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    urls = sandbox.base_urls()
    monkeypatch.setenv("RECONCILER_ALLOW_HOSTS", "acme.my.salesforce.com,acme-eu.my.salesforce.com")
    _config(
        ws,
        f"""
        sf-us:
          type: salesforce
          base_url: https://acme.my.salesforce.com
        sf-eu:
          type: salesforce
          base_url: https://acme-eu.my.salesforce.com
        klipfolio:
          base_url: {urls["klipfolio"]}
        golem:
          base_url: {urls["golem"]}
        """,
    )
    res = cli("validate", ".")
    assert res.code == 0, res.err


def test_one_account_is_one_normalised_base_url() -> None:
    from reconciler.plugin.endpoints import account
    from reconciler.plugin.registry import PROVIDERS

    d = PROVIDERS["klipfolio"].DEFAULTS
    same = (
        "https://app.klipfolio.com/api/1",
        "https://APP.klipfolio.com:443/api/1.0/",
        "https://app.klipfolio.com./api/1",
    )
    assert len({account(u, d) for u in same}) == 1
    # Every loopback address is this machine: one server bound to all of them.
    assert account("http://127.0.0.1/x", d) == account("http://localhost:80/x/", d)
    assert account("http://127.0.0.2/x", d) == account("http://[::1]:80/x", d)
    assert account("http://127.0.0.1:81/x", d) != account("http://127.0.0.1/x", d)
    assert account("http://127.0.0.1/a/api/1", d) != account("http://127.0.0.1/b/api/1", d)
    assert account("not a url", d) is None
