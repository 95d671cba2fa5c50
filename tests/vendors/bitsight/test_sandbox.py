"""The BitSight sandbox answers the folder-sharing contract: bare arrays, `detail` errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Fault, Sandbox
from reconciler.vendors.bitsight.vocab import NOT_OWNER

GUID = "fcc8b8c4-4fa3-4735-ac14-405ac7855d70"
OTHER = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
NOT_MINE = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
UNKNOWN = "11111111-2222-4333-8444-555555555555"


ME = "owner@example.com"
"""The token's user."""


def _folder(guid: str, name: str, users: list[dict[str, Any]], owner: str = ME) -> dict[str, Any]:
    return {
        "guid": guid,
        "name": name,
        "description": f"{name} vendors",
        "owner": owner,
        "shared_options": {
            "is_shared": True,
            "shared_with_all_users": False,
            "group_can_edit_contents": True,
            "group_can_edit_properties": False,
            "shared_with": users,
        },
    }


ALICE = {"email": "Alice@Example.com", "can_edit_folder_contents": True}
BOB = {"email": "bob@example.com", "can_edit_folder_contents": False}


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    sandbox.state["bitsight"] = {
        "folders": [
            _folder(GUID, "Critical", [ALICE, BOB]),
            _folder(OTHER, "Suppliers", []),
            _folder(NOT_MINE, "Theirs", [{"email": ME}], owner="zed@example.com"),
        ],
        "token_user": ME,
    }
    auth = (sandbox.credentials()["bitsight"], "")
    with httpx.Client(base_url=sandbox.base_urls()["bitsight"], auth=auth, verify=False) as c:
        yield c


def _options(**given: Any) -> dict[str, Any]:
    return {"shared_options": given}


def test_list_is_a_bare_array_naming_users_shared_with(client: httpx.Client) -> None:
    r = client.get("/ratings/v1/folders")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body, list)
    assert [f["guid"] for f in body] == [GUID, OTHER, NOT_MINE]
    first = body[0]
    assert {"guid", "name", "description", "owner", "shared_options"} <= first.keys()
    options = first["shared_options"]
    assert "shared_with_users" not in options
    assert options["shared_with"] == [
        {
            "email": "Alice@Example.com",
            "can_edit_folder_contents": True,
            "can_edit_folder_properties": False,
        },
        {
            "email": "bob@example.com",
            "can_edit_folder_contents": False,
            "can_edit_folder_properties": False,
        },
    ]
    assert options["group_can_edit_properties"] is False


def test_one_folder_names_users_shared_with_users(client: httpx.Client) -> None:
    r = client.get(f"/ratings/v1/folders/{GUID}")
    assert r.status_code == 200
    folder = r.json()
    assert folder["guid"] == GUID and folder["name"] == "Critical"
    assert "shared_with" not in folder["shared_options"]
    assert [u["email"] for u in folder["shared_options"]["shared_with_users"]] == [
        "Alice@Example.com",
        "bob@example.com",
    ]


@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_unknown_folder_is_404_detail(client: httpx.Client, method: str) -> None:
    r = client.request(method, f"/ratings/v1/folders/{UNKNOWN}", json=_options(is_shared=True))
    assert r.status_code == 404
    assert r.json() == {"detail": "Not found."}


def test_unknown_route_is_404_detail(client: httpx.Client) -> None:
    r = client.get("/ratings/v1/companies")
    assert r.status_code == 404
    assert set(r.json()) == {"detail"}


@pytest.mark.parametrize(
    "auth",
    [None, ("wrong-token", ""), ("CRED", "a-password")],
    ids=["missing", "wrong-token", "non-empty-password"],
)
def test_bad_credentials_are_401_detail(sandbox: Sandbox, auth: Any) -> None:
    if auth is not None and auth[0] == "CRED":
        auth = (sandbox.credentials()["bitsight"], auth[1])
    r = httpx.get(sandbox.base_urls()["bitsight"] + "/ratings/v1/folders", auth=auth)
    assert r.status_code == 401
    assert set(r.json()) == {"detail"}
    assert r.headers["www-authenticate"].startswith("Basic")


def test_patch_keeps_omitted_keys(client: httpx.Client) -> None:
    r = client.patch(f"/ratings/v1/folders/{GUID}", json=_options(is_shared=False))
    assert r.status_code == 200
    options = r.json()["shared_options"]
    assert options["is_shared"] is False
    assert options["group_can_edit_contents"] is True
    assert options["shared_with_all_users"] is False
    assert [u["email"] for u in options["shared_with_users"]] == [
        "Alice@Example.com",
        "bob@example.com",
    ]
    assert client.get(f"/ratings/v1/folders/{GUID}").json()["shared_options"] == options


def test_patch_replaces_the_user_list_and_keeps_email_case(client: httpx.Client) -> None:
    users = [{"email": "Carol@Example.COM", "can_edit_folder_properties": True}]
    r = client.patch(
        f"/ratings/v1/folders/{GUID}",
        json=_options(shared_with_all_users=True, shared_with_users=users),
    )
    assert r.status_code == 200
    folder = r.json()
    assert folder["guid"] == GUID and folder["name"] == "Critical"
    assert folder["shared_options"]["shared_with_all_users"] is True
    assert folder["shared_options"]["shared_with_users"] == [
        {
            "email": "Carol@Example.COM",
            "can_edit_folder_contents": False,
            "can_edit_folder_properties": True,
        }
    ]
    listed = client.get("/ratings/v1/folders").json()[0]["shared_options"]["shared_with"]
    assert [u["email"] for u in listed] == ["Carol@Example.COM"]


def test_patch_accepts_the_legacy_shared_with(client: httpx.Client) -> None:
    r = client.patch(f"/ratings/v1/folders/{OTHER}", json=_options(shared_with=[BOB]))
    assert r.status_code == 200
    assert [u["email"] for u in r.json()["shared_options"]["shared_with_users"]] == [
        "bob@example.com"
    ]


def test_patch_with_an_empty_list_removes_every_user(client: httpx.Client) -> None:
    r = client.patch(f"/ratings/v1/folders/{GUID}", json=_options(shared_with_users=[]))
    assert r.json()["shared_options"]["shared_with_users"] == []


def test_group_can_edit_properties_is_stored_and_returned(client: httpx.Client) -> None:
    r = client.patch(f"/ratings/v1/folders/{GUID}", json=_options(group_can_edit_properties=True))
    assert r.status_code == 200
    assert r.json()["shared_options"]["group_can_edit_properties"] is True
    listed = {f["guid"]: f for f in client.get("/ratings/v1/folders").json()}
    assert listed[GUID]["shared_options"]["group_can_edit_properties"] is True


@pytest.mark.parametrize(
    "body",
    [
        _options(is_shared="yes"),
        _options(shared_with_all_users=None),
        _options(shared_with_users={"email": "a@example.com"}),
        _options(shared_with_users=["a@example.com"]),
        _options(shared_with_users=[{"email": "not-an-email"}]),
        _options(shared_with_users=[{"can_edit_folder_contents": True}]),
        _options(shared_with_users=[{"email": "a@x.com", "can_edit_folder_contents": 1}]),
        _options(shared_with_users=[{"email": "a@x.com"}, {"email": "A@X.com"}]),
        _options(shared_with=[{"email": 7}]),
        {"is_shared": True},
        [],
    ],
)
def test_patch_rejects_bad_input_with_400(client: httpx.Client, body: Any) -> None:
    r = client.patch(f"/ratings/v1/folders/{GUID}", json=body)
    assert r.status_code == 400
    assert set(r.json()) == {"detail"}
    # Nothing changed.
    assert client.get(f"/ratings/v1/folders/{GUID}").json()["shared_options"]["is_shared"]


def test_patch_rejects_invalid_json(client: httpx.Client) -> None:
    r = client.patch(
        f"/ratings/v1/folders/{GUID}",
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    assert r.json()["detail"].startswith("JSON parse error")


def test_patch_of_a_folder_not_owned_is_403(sandbox: Sandbox, client: httpx.Client) -> None:
    assert client.get(f"/ratings/v1/folders/{NOT_MINE}").status_code == 200
    r = client.patch(f"/ratings/v1/folders/{NOT_MINE}", json=_options(is_shared=False))
    assert r.status_code == 403
    assert r.json() == {"detail": NOT_OWNER}
    assert sandbox.state["bitsight"]["folders"][2]["shared_options"]["is_shared"] is True


def test_list_tells_owned_folders_from_merely_shared_ones(client: httpx.Client) -> None:
    listed = {f["guid"]: f for f in client.get("/ratings/v1/folders").json()}
    assert {g: f["shared_options"]["user_can_share"] for g, f in listed.items()} == {
        GUID: True,
        OTHER: True,
        NOT_MINE: False,
    }
    assert listed[NOT_MINE]["owner"] == "zed@example.com"
    one = client.get(f"/ratings/v1/folders/{NOT_MINE}").json()
    assert one["shared_options"]["user_can_share"] is False


def test_without_a_token_user_every_folder_is_the_tokens(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    del sandbox.state["bitsight"]["token_user"]
    r = client.patch(f"/ratings/v1/folders/{NOT_MINE}", json=_options(is_shared=False))
    assert r.status_code == 200


def test_rate_limit_fault_has_no_retry_after_by_default(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    # BitSight documents none; the test suite's sandbox is made with retry_after=0.
    sandbox.retry_after = None
    sandbox.faults.append(Fault("429", path_contains="/ratings/"))
    r = client.get("/ratings/v1/folders")
    assert r.status_code == 429
    assert r.json() == {"detail": "Rate Limit Reached"}
    assert "retry-after" not in r.headers
    assert Sandbox().retry_after is None


def test_rate_limit_fault_has_the_vendor_body(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.faults.append(Fault("429", path_contains="/ratings/"))
    r = client.get("/ratings/v1/folders")
    assert r.status_code == 429
    assert r.json() == {"detail": "Rate Limit Reached"}
    assert "retry-after" in r.headers
    assert client.get("/ratings/v1/folders").status_code == 200


def test_requests_are_logged(sandbox: Sandbox, client: httpx.Client) -> None:
    client.get("/ratings/v1/folders")
    client.patch(f"/ratings/v1/folders/{GUID}", json=_options(is_shared=False))
    client.get(f"/ratings/v1/folders/{UNKNOWN}")
    log = [(r.method, r.path, r.status) for r in sandbox.requests("bitsight")]
    assert log == [
        ("GET", "/ratings/v1/folders", 200),
        ("PATCH", f"/ratings/v1/folders/{GUID}", 200),
        ("GET", f"/ratings/v1/folders/{UNKNOWN}", 404),
    ]
    (write,) = sandbox.writes("bitsight")
    assert write.body == _options(is_shared=False)
