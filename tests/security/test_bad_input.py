"""Bad input is exit 1 with one readable line, never exit 3 (SPEC §3, §4.1).

Exit 3 is for bugs. Each case here was exit 3 ("Internal error") and is now exit 1, with
file:line:col where there is one, and nothing written:

- YAML nested 600 deep, `!!int abc`, `!!timestamp 2001-13-45` and other bad tagged scalars;
- a malformed plan file for `apply PLAN.json` (not JSON, wrong shape, wrong types, missing keys);
- valid JSON with wrong-typed fields in a vendor's answer;
- a credential with a trailing newline, a non-ASCII or a control character (named, not shown).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.sandbox import Sandbox
from tests.support.fake import FakeServer
from tests.support.harness import RunCli, Workspace
from tests.support.plans import saved_plan, write

ROLE = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Finance Analysts
  description: Build and share finance dashboards
  permissions: [klip.build]
"""


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[" * 600 + "]" * 600, "5:115: lists and mappings nest more than 100 levels deep here"),
        ("!!int abc", "5:16: 'abc' is not a valid !!int value"),
        ("!!timestamp 2001-13-45", "5:16: '2001-13-45' is not a valid !!timestamp value"),
        ("2001-13-45", "5:16: '2001-13-45' is not a valid !!timestamp value"),
        ("!!float x", "5:16: 'x' is not a valid !!float value"),
        ("!!bool maybe", "5:16: 'maybe' is not a valid !!bool value"),
        ("!!binary abc", "5:16: 'abc' is not a valid !!binary value"),
        ("9" * 5000, "5:16: '" + "9" * 40 + "...' is not a valid !!int value"),
    ],
    ids=["deep", "int", "timestamp", "implicit-date", "float", "bool", "binary", "huge-int"],
)
def test_bad_yaml_values_are_problems_at_their_place(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, value: str, expected: str
) -> None:
    ws.config()
    ws.write("roles.yaml", ROLE.replace("Build and share finance dashboards", value))
    for command in ("validate", "plan"):
        ran = cli(command, str(ws.root))
        assert ran.code == 1, ran.out + ran.err
        first, summary = ran.err.splitlines()
        assert first.startswith(f"{ws.root / 'roles.yaml'}:{expected}"), first
        assert summary == "1 problem in 1 file"
    assert sandbox.log == []


def _plan_file(ws: Workspace, doc: Any) -> None:
    ws.config()
    ws.write("roles.yaml", ROLE)
    if isinstance(doc, str):
        (ws.root / "plan.json").write_text(doc)
    else:
        write(ws.root, doc, reseal=True)


def _edited(edit: Any) -> Any:
    doc = saved_plan()
    edit(doc)
    return doc


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ("[1, 2", "plan.json:1:6: not a plan file (invalid JSON: Expecting ',' delimiter)"),
        ('"format_version"', "plan.json: not a reconciler plan file"),
        (
            _edited(lambda d: d["changes"][0].update(identity="Finance Analysts")),
            "plan.json: plan file is malformed (changes.0.identity: expected list, got string)",
        ),
        (
            _edited(lambda d: d["changes"][0].update(members={"key": "x"})),
            "plan.json: plan file is malformed (changes.0.members: expected list, got mapping)",
        ),
        (
            _edited(lambda d: d["providers"][0].pop("base_url")),
            "plan.json: plan file is malformed (providers.0: missing required field 'base_url')",
        ),
        (
            _edited(lambda d: d["changes"][0].update(source=["roles.yaml"])),
            "plan.json: plan file is malformed (changes.0.source: expected string or null, "
            "got list)",
        ),
        (
            _edited(lambda d: d["changes"][0].update(source="roles.yaml")),
            "plan.json: plan file is malformed (not enough values to unpack (expected 3, got 1))",
        ),
        (
            _edited(lambda d: d.update(changes={"a": 1})),
            "plan.json: plan file is malformed (changes: expected list, got mapping)",
        ),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "identity-a-string",
        "members-an-object",
        "missing-key",
        "source-a-number",
        "source-without-place",
        "changes-an-object",
    ],
)
def test_a_malformed_plan_file_is_refused_in_one_line(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, doc: Any, expected: str
) -> None:
    _plan_file(ws, doc)
    ran = cli("apply", str(ws.root / "plan.json"))
    assert ran.code == 1, ran.out + ran.err
    assert ran.err.splitlines() == [f"Error: {ws.root / expected}"]
    assert sandbox.log == []


# Valid JSON, wrong types: (provider, where to answer, the answer, a manifest, the line).
ANSWERS = {
    "klipfolio": (
        "/roles",
        {"meta": {"success": True}, "data": {"roles": "Admin"}},
        ROLE,
        "Error: klipfolio: malformed answer from GET /roles: data.roles is a string, "
        "expected a list",
        "/api/1",
    ),
    "bitsight": (
        "/folders",
        [
            {
                "guid": "fcc8b8c4-4fa3-4735-ac14-405ac7855d70",
                "shared_options": {"is_shared": True, "shared_with": {"email": "a@b.c"}},
            }
        ],
        """\
        apiVersion: reconciler/v1
        kind: BitsightFolderSharing
        spec:
          folder_guid: fcc8b8c4-4fa3-4735-ac14-405ac7855d70
          is_shared: true
        """,
        "Error: bitsight: malformed answer from GET /ratings/v1/folders: "
        "string indices must be integers, not 'str'",
        "",
    ),
    "golem": (
        "/permission-shares",
        {
            "values": [
                {
                    "id": "5c0a7e1b-9d2f-4e6a-8b3c-1d0e9f8a7b6c",
                    "name": "analytics-readers",
                    "targetAccountId": "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22",
                    "revision": "7",
                    "data": {},
                }
            ]
        },
        """\
        apiVersion: reconciler/v1
        kind: GolemPermissionShare
        spec:
          owner_account_id: 6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11
          name: analytics-readers
          target_account_id: 0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22
        """,
        "Error: golem: malformed answer from GET "
        "/v1/accounts/6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11/permission-shares: "
        "revision is a string, expected an integer",
        "",
    ),
    "salesforce": (
        "/shares",
        {"shares": [{"shareId": 12, "shareType": "organization", "accessType": "View"}]},
        """\
        apiVersion: reconciler/v1
        kind: SalesforceFolderShares
        spec:
          folder_id: 00l5e000002SaLeAAK
          shares:
            - {share_type: organization, access_type: view}
        """,
        "Error: salesforce: malformed answer from GET /folders/00l5e000002SaLeAAK/shares: "
        "shares[0].shareId is an integer, expected a string",
        "",
    ),
}


@pytest.mark.parametrize("vendor", list(ANSWERS))
def test_a_wrong_typed_vendor_answer_names_the_provider_and_the_call(
    ws: Workspace, cli: RunCli, vendor: str
) -> None:
    suffix, answer, manifest, expected, prefix = ANSWERS[vendor]
    with FakeServer() as fake:
        fake.route(suffix, answer)
        ws.write(
            "reconciler.yaml",
            f"""\
            apiVersion: reconciler/v1
            kind: Config
            providers:
              {vendor}:
                base_url: {fake.url}{prefix}
                rate_limit_per_second: 0
            """,
        )
        ws.write("m.yaml", manifest)
        ran = cli("apply", str(ws.root), "--auto-approve")
        assert ran.code == 1, ran.out + ran.err
        assert ran.err.splitlines() == [expected]
        assert fake.log and fake.writes() == []


def test_the_answer_helper_reports_each_shape() -> None:
    from reconciler.core.errors import ProviderError
    from reconciler.plugin.answers import records

    for value, detail in [
        ({"a": 1}, "data.roles is an object, expected a list"),
        (None, "data.roles is missing or null, expected a list"),
        (["x"], "data.roles[0] is a string, expected an object"),
        ([{"id": "1"}], "data.roles[0].name is missing or null, expected a string"),
    ]:
        with pytest.raises(ProviderError) as caught:
            records("klipfolio", "GET /roles", value, "data.roles", id=str, name=str)
        assert str(caught.value) == f"klipfolio: malformed answer from GET /roles: {detail}"
    assert records("k", "GET /r", [{"id": "1", "name": "n"}], "r", id=str, name=str)


@pytest.mark.parametrize(
    ("flaw", "why"),
    [
        ("\n", "starts or ends with whitespace or a newline"),
        (" ", "starts or ends with whitespace or a newline"),
        ("é", "holds a non-ASCII character"),
        ("\x1b", "holds a control character"),
    ],
    ids=["trailing-newline", "trailing-space", "non-ascii", "control"],
)
def test_a_flawed_credential_is_named_not_shown_and_nothing_is_sent(
    ws: Workspace,
    cli: RunCli,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    flaw: str,
    why: str,
) -> None:
    secret = sandbox.credentials()["klipfolio"]
    monkeypatch.setenv("KLIPFOLIO_API_KEY", secret[:8] + flaw + secret[8:] + flaw)
    ws.config()
    ws.write("roles.yaml", ROLE)
    ran = cli("plan", str(ws.root))
    assert ran.code == 1, ran.out + ran.err
    first, summary = ran.err.splitlines()
    assert first.endswith(
        f": provider 'klipfolio': the credential in the environment variable "
        f"KLIPFOLIO_API_KEY {why}; nothing was sent"
    ), first
    assert first.startswith(f"{ws.root / 'reconciler.yaml'}:")
    assert secret[:8] not in ran.err + ran.out
    assert sandbox.log == []


def test_the_plan_schema_accepts_what_plan_writes(
    ws: Workspace, cli: RunCli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ws.root)
    sandbox.state["klipfolio"] = {"roles": []}
    ws.config()
    ws.write("roles.yaml", ROLE)
    assert cli("plan", str(ws.root), "--out", str(ws.root / "plan.json")).code in (0, 2)
    json.loads((ws.root / "plan.json").read_text())
    ran = cli("apply", str(ws.root / "plan.json"), "--auto-approve")
    assert ran.code == 0, ran.out + ran.err
    assert len(sandbox.writes("klipfolio")) == 1
