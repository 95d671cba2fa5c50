"""A `Person` claim names principals by id (issue 17, item 8b).

`klipfolio_groups: [Finance]` was matched against the labels vendors show beside a
principal, so any group that came to be called "Finance" (a client's own group, or one
renamed) was attributed to that person in the access report. A name claim now resolves to
group ids against the company's groups, as `group_name` does at plan time; rows match by
id only; a name that matches two groups is an error naming the Person file:line.
"""

from __future__ import annotations

import json

import pytest

from reconciler.sandbox import Sandbox
from tests.support.harness import RunCli, Workspace

CLIENT = "5c0a7e1b9d2f4e6a8b3c1d0e9f8a7b6c"
FINANCE = "1a2b3c4d5e6f4a7b8c9d0e1f2a3b4c5d"
ROGUE = "4d5e6f7a8b9c4d0e1f2a3b4c5d6e7f8a"
PERSON = """
apiVersion: reconciler/v1
kind: Person
spec:
  name: Jane Doe
  klipfolio_groups:
    - Finance
"""


def _state(sandbox: Sandbox, rogue: dict[str, str]) -> None:
    sandbox.state["klipfolio"] = {
        "groups": [{"id": FINANCE, "name": "Finance", "description": ""}, rogue],
        "clients": [
            {
                "id": CLIENT,
                "name": "Acme",
                "share_rights": [
                    {"group_id": FINANCE, "can_manage": False},
                    {"group_id": ROGUE, "can_manage": True},
                ],
            }
        ],
    }


@pytest.fixture
def jane(ws: Workspace) -> Workspace:
    ws.config()
    ws.write("people.yaml", PERSON)
    ws.write(
        "rights.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioClientShareRights\nspec:\n"
        f"  client_id: {CLIENT}\n  groups: [{{group_id: {FINANCE}, can_manage: false}}]\n",
    )
    return ws


def _people(cli: RunCli, ws: Workspace, *extra: str) -> dict[str, str | None]:
    res = cli("access", str(ws.root), "--format", "json", *extra)
    assert res.code == 0, res.out + res.err
    return {r["principal"]: r["person"] for r in json.loads(res.out)["rows"]}


def test_a_group_of_the_same_name_is_not_the_person_s(
    jane: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    # A client's own group called "Finance" (shown as "Finance" on the client's share
    # rights) is not the company's Finance group that Jane's claim names.
    _state(sandbox, {"id": ROGUE, "name": "Finance", "description": "", "client_id": CLIENT})
    people = _people(cli, jane)
    assert people == {
        f"klipfolio-group:{FINANCE}": "Jane Doe",
        f"klipfolio-group:{ROGUE}": None,
    }
    text = cli("access", str(jane.root), "--by", "person")
    assert text.code == 0 and "Jane Doe" in text.out
    assert sandbox.writes() == []


def test_a_name_that_matches_two_groups_is_an_error_at_the_person(
    jane: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    # Another company group renamed "Finance": the claim no longer says which one.
    _state(sandbox, {"id": ROGUE, "name": "Finance", "description": ""})
    for fmt in ("json", "text", "csv"):
        res = cli("access", str(jane.root), "--format", fmt)
        assert res.code == 1, res.out + res.err
        assert res.out == ""
        line = f"{jane.root / 'people.yaml'}:6:7: Person 'Jane Doe': klipfolio_groups 'Finance'"
        assert line in res.err, res.err
        assert "matches 2 principals" in res.err and FINANCE in res.err and ROGUE in res.err
        assert "Traceback" not in res.err
    assert sandbox.writes() == []


def test_a_claim_by_id_and_the_desired_view_still_join(
    jane: Workspace, sandbox: Sandbox, cli: RunCli
) -> None:
    _state(sandbox, {"id": ROGUE, "name": "Finance", "description": "", "client_id": CLIENT})
    jane.write("people.yaml", PERSON.replace("- Finance", f"- {ROGUE}"))
    assert _people(cli, jane)[f"klipfolio-group:{ROGUE}"] == "Jane Doe"
    # Offline, a name claim joins the grants the manifests name by that very name.
    jane.write("people.yaml", PERSON)
    jane.write(
        "rights.yaml",
        "apiVersion: reconciler/v1\nkind: KlipfolioClientShareRights\nspec:\n"
        f"  client_id: {CLIENT}\n  groups: [{{group_name: Finance, can_manage: false}}]\n",
    )
    assert _people(cli, jane, "--desired") == {"klipfolio-group:name:Finance": "Jane Doe"}
    assert sandbox.writes() == []
