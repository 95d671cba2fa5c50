"""Klipfolio end to end over loopback: contract calls, prune, protected roles, share rights,
the permission vocabulary, the two 401s, 403 on DELETE, client paging."""

from __future__ import annotations

import httpx
import pytest

from reconciler.sandbox import Fault, Hook, Sandbox
from tests.support.harness import RunCli, Workspace

ACME = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
G_FIN, G_SALES, G_SUP = "a" * 32, "b" * 32, "c" * 32


@pytest.fixture
def seeded(sandbox: Sandbox) -> Sandbox:
    sandbox.state["klipfolio"] = {
        "groups": [
            {"id": G_FIN, "name": "Finance"},
            {"id": G_SALES, "name": "Sales"},
            {"id": G_SUP, "name": "Support"},
            {"id": "d" * 32, "name": "Twin"},
            {"id": "e" * 32, "name": "Twin"},
        ],
        "clients": [
            {"id": ACME, "name": "Acme", "share_rights": [{"group_id": G_SUP, "can_manage": True}]}
        ],
        "roles": [
            {"id": "1" * 32, "name": "Admin", "permissions": ["user.manage"]},
            {"id": "2" * 32, "name": "Old", "description": "legacy", "permissions": ["klip.edit"]},
            {
                "id": "3" * 32,
                "name": "Viewers",
                "description": "v",
                "permissions": ["tab.download", "klip.email"],
            },
        ],
    }
    return sandbox


ROLES = """
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Viewers
  description: v
  permissions: [klip.email, tab.download]
---
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Analysts
  description: build
  permissions: [klip.build, klip.edit]
---
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  client_id: 5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c
  name: Client Viewer
  permissions: [tab.download]
"""


def test_plan_apply_plan_converges_with_exact_calls(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("roles.yaml", ROLES)
    first = cli("plan", str(ws.root), "--detailed-exitcode")
    assert first.code == 2, first.err
    assert "+ klipfolio/KlipfolioRole/Analysts" in first.out
    assert f"+ klipfolio/KlipfolioRole/{ACME}/Client Viewer" in first.out
    assert "Plan: 2 to create, 0 to update, 0 to replace, 0 to delete." in first.out
    assert seeded.writes() == []

    applied = cli("apply", str(ws.root), "--auto-approve")
    assert applied.code == 0, applied.out + applied.err
    assert "Apply complete: 2 applied, 0 conflict, 0 failed." in applied.out
    posts = seeded.writes("klipfolio")
    assert sorted((r.method, r.path) for r in posts) == [("POST", "/api/1/roles")] * 2
    bodies = sorted((r.body for r in posts), key=lambda b: b["name"])
    assert bodies[0] == {
        "name": "Analysts",
        "description": "build",
        "permissions": ["klip.build", "klip.edit"],
    }
    assert bodies[1]["client_id"] == ACME
    assert all(r.headers["kf-api-key"] == "sandbox-klipfolio-credential" for r in seeded.log)

    n = len(seeded.log)
    again = cli("plan", str(ws.root), "--detailed-exitcode")
    assert again.code == 0 and "No changes." in again.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert [r for r in seeded.log[n:] if r.is_write] == []


def test_update_is_a_full_put_and_permissions_ignore_order(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write(
        "r.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Viewers, permissions: [tab.download, klip.email, tab.download, dashboard.klip]}
    """,
    )
    plan = cli("plan", str(ws.root))
    assert "~ klipfolio/KlipfolioRole/Viewers" in plan.out
    assert 'permissions: +"dashboard.klip"' in plan.out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    (put,) = seeded.writes()
    assert (put.method, put.path) == ("PUT", "/api/1/roles/" + "3" * 32)
    # description is not managed here: the live value is sent back unchanged.
    assert put.body == {
        "name": "Viewers",
        "description": "v",
        "permissions": ["dashboard.klip", "klip.email", "tab.download"],
    }


def test_prune_deletes_undeclared_but_never_protected(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(providers="klipfolio.prune: [roles]")
    ws.write("r.yaml", ROLES)
    out = cli("plan", str(ws.root)).out
    assert "- klipfolio/KlipfolioRole/Old" in out
    assert "Admin" not in out
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    names = {r["name"] for r in seeded.state["klipfolio"]["roles"]}
    assert names == {"Admin", "Viewers", "Analysts", "Client Viewer"}
    deletes = [r for r in seeded.writes() if r.method == "DELETE"]
    assert [d.path for d in deletes] == ["/api/1/roles/" + "2" * 32]


def test_without_prune_undeclared_roles_stay(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("r.yaml", ROLES)
    assert "Old" not in cli("plan", str(ws.root)).out


def test_protected_role_is_managed_when_declared(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(providers="klipfolio.prune: [roles]")
    ws.write(
        "r.yaml",
        """
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec: {name: Admin, permissions: [user.manage, account.settings]}
    """,
    )
    out = cli("plan", str(ws.root)).out
    assert "~ klipfolio/KlipfolioRole/Admin" in out


RIGHTS = """
apiVersion: reconciler/v1
kind: KlipfolioClientShareRights
spec:
  client_id: 5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c
  members: {mode}
  groups:
    - {{group_name: Finance, can_manage: true}}
    - {{group_id: {sales}, can_manage: false}}
"""


def test_share_rights_authoritative_grants_before_revoking(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="authoritative", sales=G_SALES))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.err
    writes = [(r.method, r.path) for r in seeded.writes()]
    assert writes == [
        ("PUT", f"/api/1/clients/{ACME}/share-rights"),
        ("DELETE", f"/api/1/clients/{ACME}/share-rights/{G_SUP}"),
    ]
    assert seeded.writes()[0].body == {
        "groups": [
            {"group_id": G_FIN, "can_manage": True},
            {"group_id": G_SALES, "can_manage": False},
        ]
    }
    rights = seeded.state["klipfolio"]["clients"][0]["share_rights"]
    assert {r["group_id"] for r in rights} == {G_FIN, G_SALES}
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_share_rights_additive_never_revokes(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="additive", sales=G_SALES))
    assert cli("apply", str(ws.root), "--auto-approve").code == 0
    assert [r.method for r in seeded.writes()] == ["PUT"]
    rights = seeded.state["klipfolio"]["clients"][0]["share_rights"]
    assert {r["group_id"] for r in rights} == {G_FIN, G_SALES, G_SUP}
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_revoke_of_already_absent_group_counts_as_done(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="authoritative", sales=G_SALES))
    # Someone else revokes Support between our re-read and our DELETE: 403 = already absent.
    seeded.hooks.append(
        Hook(lambda sb: sb.state["klipfolio"]["clients"][0]["share_rights"].clear(), method="PUT")
    )
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out
    # The 403, then a fresh read that no longer lists the group: already absent.
    delete, check = seeded.log[-2:]
    assert (delete.method, delete.status) == ("DELETE", 403)
    assert (check.method, check.path) == ("GET", f"/api/1/clients/{ACME}/share-rights")


@pytest.mark.parametrize(
    ("name", "message"), [("Nobody", "matches no group"), ("Twin", "matches 2 groups")]
)
def test_unknown_or_ambiguous_group_name_fails_before_any_write(
    seeded: Sandbox, ws: Workspace, cli: RunCli, name: str, message: str
) -> None:
    ws.config()
    path = ws.write(
        "s.yaml",
        f"""
        apiVersion: reconciler/v1
        kind: KlipfolioClientShareRights
        spec:
          client_id: {ACME}
          groups: [{{group_name: {name}, can_manage: true}}]
    """,
    )
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1
    assert f"{path}:1:1:" in res.err and message in res.err
    assert seeded.writes() == []


def test_groups_are_read_once_per_plan(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="authoritative", sales=G_SALES))
    cli("plan", str(ws.root))
    assert sum(1 for r in seeded.log if r.path.endswith("/groups")) == 1


def test_change_between_plan_and_write_is_a_conflict(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("r.yaml", ROLES)

    def meddle(sb: Sandbox) -> None:
        sb.state["klipfolio"]["roles"].append(
            {"id": "9" * 32, "name": "Analysts", "description": "theirs", "permissions": []}
        )

    # The pre-write re-read of Analysts lists the company's roles; the meddling lands just before.
    seeded.hooks.append(Hook(meddle, after=2, path_contains="/roles"))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1
    assert "conflict  klipfolio/KlipfolioRole/Analysts" in res.out
    assert "Apply complete: 1 applied, 1 conflict, 0 failed." in res.out
    theirs = [r for r in seeded.state["klipfolio"]["roles"] if r["name"] == "Analysts"]
    assert theirs == [
        {"id": "9" * 32, "name": "Analysts", "description": "theirs", "permissions": []}
    ]


def test_429_and_5xx_are_retried_to_success(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("r.yaml", ROLES)
    seeded.faults += [
        Fault("429", "GET", times=2),
        Fault("503", "GET", times=1),
        Fault("500", "PUT"),
    ]
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.err
    assert [r.status for r in seeded.log[:4]] == [429, 429, 503, 200]


def test_lost_create_response_does_not_duplicate(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    ws.write("r.yaml", ROLES)
    seeded.faults.append(Fault("commit-then-drop", "POST", times=2))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    names = [r["name"] for r in seeded.state["klipfolio"]["roles"]]
    assert sorted(names) == sorted(set(names))
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0


def test_bad_key_stops_the_provider_naming_the_env_var(
    seeded: Sandbox, ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.config()
    ws.write("r.yaml", ROLES)
    monkeypatch.setenv("KLIPFOLIO_API_KEY", "wrong-secret-value")
    res = cli("plan", str(ws.root))
    assert res.code == 1
    assert "KLIPFOLIO_API_KEY" in res.err and "wrong-secret-value" not in res.err + res.out


def test_target_limits_plan_and_apply_to_named_objects(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    ws.config(providers="klipfolio.prune: [roles]")
    ws.write("r.yaml", ROLES)
    only = cli("plan", str(ws.root), "--target", "klipfolio/KlipfolioRole/Analysts")
    assert "Plan: 1 to create, 0 to update, 0 to replace, 0 to delete." in only.out
    assert "Old" not in only.out
    # An undeclared object that pruning deletes can be targeted too.
    res = cli("apply", str(ws.root), "--auto-approve", "--target", "klipfolio/KlipfolioRole/Old")
    assert res.code == 0, res.err
    assert [(r.method, r.path) for r in seeded.writes()] == [("DELETE", "/api/1/roles/" + "2" * 32)]
    typo = cli("plan", str(ws.root), "--target", "klipfolio/KlipfolioRole/Analysts2")
    assert typo.code == 1
    assert "--target klipfolio/KlipfolioRole/Analysts2 matches no declared object" in typo.err


def test_plan_names_groups_next_to_their_ids(seeded: Sandbox, ws: Workspace, cli: RunCli) -> None:
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="authoritative", sales=G_SALES))
    out = cli("plan", str(ws.root), "--no-color").out
    assert f"+ member {G_FIN} (Finance): can_manage=true" in out
    assert f"- member {G_SUP} (Support): can_manage=true" in out


# -- the permission vocabulary -------------------------------------------------------------


def _role(permissions: str) -> str:
    return f"""
        apiVersion: reconciler/v1
        kind: KlipfolioRole
        spec:
          name: Viewers
          description: v
          permissions: [{permissions}]
    """


def test_every_permission_of_the_reference_list_validates(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # dashboard.links is on "List of Role Permissions"; before, validate refused it.
    ws.config()
    ws.write("r.yaml", _role("dashboard.links, tab.publish, user.viewonly.manage, group.view"))
    res = cli("validate", str(ws.root))
    assert res.code == 0, res.err
    assert "warning" not in res.err


def test_export_of_a_role_holding_dashboard_links_plans_clean(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    seeded.state["klipfolio"]["roles"][2]["permissions"].append("dashboard.links")
    ws.config()
    out = ws.root / "exported"
    config = str(ws.root / "reconciler.yaml")
    res = cli("export", "--config", config, "--provider", "klipfolio", "--out", str(out))
    assert res.code == 0, res.err
    assert "dashboard.links" in (out / "KlipfolioRole.yaml").read_text()
    plan = cli("plan", str(out), "--config", config, "--detailed-exitcode")
    assert plan.code == 0, plan.out + plan.err
    assert "warning" not in plan.err
    assert seeded.writes() == []


def test_unknown_well_formed_permission_warns_and_plans(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # A permission Klipfolio may have added since: a warning line, exit 0.
    ws.config()
    path = ws.write("r.yaml", _role("klip.email, tab.download, scorecard.publish"))
    res = cli("validate", str(ws.root))
    assert res.code == 0, res.err
    (line,) = res.err.splitlines()
    assert line.startswith(f"{path}:6:43: warning: spec.permissions.2: ")
    assert "'scorecard.publish' is not on Klipfolio's published list" in line
    plan = cli("plan", str(ws.root))
    assert plan.code == 0, plan.err
    assert "warning: spec.permissions.2" in plan.err
    assert seeded.writes() == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "dashboard.linsk",
            "unknown permission 'dashboard.linsk'; did you mean 'dashboard.links'?",
        ),
        ("Klip.Edit", "unknown permission 'Klip.Edit'; did you mean 'klip.edit'?"),
        ("zzzz", "unknown permission 'zzzz'"),
    ],
)
def test_near_miss_or_malformed_permission_stays_an_error(
    seeded: Sandbox, ws: Workspace, cli: RunCli, name: str, expected: str
) -> None:
    ws.config()
    path = ws.write("r.yaml", _role(f"klip.email, {name}"))
    for command in (("validate",), ("apply", "--auto-approve")):
        res = cli(*command, str(ws.root))
        assert res.code == 1, res.out + res.err
        assert f"{path}:6:29: spec.permissions.1: {expected}" in res.err.splitlines()
    assert seeded.writes() == []


# -- 401 and 403 on share-rights writes ------------------------------------------------------


def test_401_on_a_share_rights_write_fails_only_that_object(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # The key works (every read succeeded), its user lacks share rights: before, the 401
    # stopped the provider as a bad key and no other Klipfolio object was written.
    seeded.state["klipfolio"]["key_can_share"] = False
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="additive", sales=G_SALES))
    ws.write("r.yaml", _role("klip.email, tab.download, dashboard.klip"))
    res = cli("apply", str(ws.root), "--auto-approve", "--parallelism", "1")
    assert res.code == 1, res.out + res.err
    assert f"failed  klipfolio/KlipfolioClientShareRights/{ACME}" in res.out
    assert "the key's user lacks the client.share permission" in res.out
    assert "KLIPFOLIO_API_KEY" not in res.out + res.err
    assert "Apply complete: 1 applied, 0 conflict, 1 failed." in res.out
    assert [(r.method, r.status) for r in seeded.writes()] == [("PUT", 401), ("PUT", 200)]


def test_403_on_delete_with_the_group_still_shared_fails_quoting_it(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # Before, any 403 on DELETE counted as "already absent": the group kept its access and
    # the apply reported success.
    seeded.state["klipfolio"]["clients"][0]["unshare_refused"] = [G_SUP]
    ws.config()
    ws.write("s.yaml", RIGHTS.format(mode="authoritative", sales=G_SALES))
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 1, res.out + res.err
    assert f"failed  klipfolio/KlipfolioClientShareRights/{ACME}" in res.out
    assert "you may not change this client's share rights" in res.out
    assert "the group is still shared (HTTP 403, access_denied)" in res.out
    rights = seeded.state["klipfolio"]["clients"][0]["share_rights"]
    assert G_SUP in {r["group_id"] for r in rights}
    delete, check = seeded.log[-2:]
    assert (delete.method, delete.status, check.method) == ("DELETE", 403, "GET")


# -- GET /clients paging -------------------------------------------------------------------------


def _clients(n: int) -> list[dict[str, object]]:
    return [{"id": f"{i:032x}", "name": f"C{i}", "share_rights": []} for i in range(1, n + 1)]


def test_clients_are_read_page_by_page_until_the_total(
    seeded: Sandbox, ws: Workspace, cli: RunCli
) -> None:
    # Before, only the first page was read: roles of later clients were never exported.
    clients = _clients(5)
    clients[4]["share_rights"] = [{"group_id": G_FIN, "can_manage": True}]
    seeded.state["klipfolio"]["clients"] = clients
    seeded.state["klipfolio"]["clients_page_size"] = 2
    ws.config()
    out = ws.root / "exported"
    config = str(ws.root / "reconciler.yaml")
    res = cli(
        "export", "--config", config, "--provider", "klipfolio", "--out", str(out),
        "--kind", "KlipfolioClientShareRights",
    )  # fmt: skip
    assert res.code == 0, res.err
    assert str(clients[4]["id"]) in (out / "KlipfolioClientShareRights.yaml").read_text()
    pages = [r.query for r in seeded.log if r.path.endswith("/clients")]
    assert pages == ["limit=100&offset=0", "limit=100&offset=2", "limit=100&offset=4"]


def test_sandbox_pages_clients_with_meta_total(seeded: Sandbox) -> None:
    seeded.state["klipfolio"]["clients"] = _clients(101)
    url = seeded.base_urls()["klipfolio"] + "/clients"
    headers = {"kf-api-key": seeded.credentials()["klipfolio"]}
    first = httpx.get(url, headers=headers).json()
    assert (len(first["data"]["clients"]), first["meta"]["total"]) == (100, 101)
    assert first["meta"]["count"] == 100
    rest = httpx.get(url, headers=headers, params={"limit": 100, "offset": 100}).json()
    assert [c["name"] for c in rest["data"]["clients"]] == ["C101"]
