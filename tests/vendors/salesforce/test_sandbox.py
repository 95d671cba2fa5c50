"""The Salesforce sandbox answers the folder-share contract: error arrays, 18-char ids, quota."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from reconciler.sandbox import Fault, Sandbox
from reconciler.vendors.salesforce.sandbox import to18

API = "/services/data/v60.0"
REPORTS = "00l000000000001AAA"
DASHBOARDS = "00l000000000002AAA"
HIDDEN = "00l000000000003AAA"
LOCKED = "00l000000000004AAA"
UNKNOWN = "00l000000000999AAA"
SHARE = "004000000000001AAA"
USER_15, USER_18 = "005R0000000Kg8y", "005R0000000Kg8yIAC"
GROUP = "00G000000000001EAA"


def _folder(fid: str, label: str, shares: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "id": fid,
        "label": label,
        "name": label.replace(" ", "_"),
        "type": "report",
        "shares": shares or [],
    }


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    share = {
        "shareId": SHARE,
        "accessType": "view",
        "shareType": "user",
        "sharedWithId": USER_18,
        "sharedWithLabel": "User One",
    }
    sandbox.state["salesforce"] = {
        "folders": [
            _folder(REPORTS, "Sales Reports", [share]),
            _folder(DASHBOARDS, "Board") | {"type": "dashboard"},
            _folder(HIDDEN, "Hidden"),
            _folder(LOCKED, "Locked"),
        ],
        "no_access": [HIDDEN],
        "read_only": [LOCKED],
        "labels": {GROUP: "Sales Team"},
    }
    with _client(sandbox) as c:
        yield c


def _client(sandbox: Sandbox, version: str = "v60.0", token: str | None = None) -> httpx.Client:
    token = token or sandbox.credentials()["salesforce"]
    return httpx.Client(
        base_url=f"{sandbox.base_urls()['salesforce']}/services/data/{version}",
        headers={"Authorization": f"Bearer {token}"},
        verify=False,  # plain http on loopback: no TLS context to build per test
    )


def _error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and len(body) == 1
    assert body[0]["errorCode"] == code
    assert isinstance(body[0]["message"], str)


def _shares(*items: tuple[str, str, str]) -> dict[str, Any]:
    return {"shares": [{"accessType": a, "shareType": t, "shareWithId": i} for a, t, i in items]}


# -- to18 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("short", "full"),
    [
        ("001A0000006Vm9r", "001A0000006Vm9rIAC"),
        ("005R0000000Kg8y", "005R0000000Kg8yIAC"),
        ("00D000000000062", "00D000000000062EAA"),
        ("abcdeabcdeabcde", "abcdeabcdeabcdeAAA"),
        ("ABCDEABCDEABCDE", "ABCDEABCDEABCDE555"),
        ("Abcdeabcdeabcde", "AbcdeabcdeabcdeBAA"),
        ("abcdEabcdeabcdZ", "abcdEabcdeabcdZQAQ"),
        ("001A0000006Vm9rIAC", "001A0000006Vm9rIAC"),
    ],
)
def test_to18(short: str, full: str) -> None:
    assert to18(short) == full


@pytest.mark.parametrize("bad", ["", "001A0000006Vm9", "001A0000006Vm9rIA", "001A0000006Vm9-"])
def test_to18_rejects_what_is_not_an_id(bad: str) -> None:
    with pytest.raises(ValueError):
        to18(bad)


# -- auth, versions, envelope --------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_bad_token_is_401_invalid_session_id(sandbox: Sandbox, headers: dict[str, str]) -> None:
    r = httpx.get(f"{sandbox.base_urls()['salesforce']}{API}/folders", headers=headers)
    _error(r, 401, "INVALID_SESSION_ID")
    assert r.headers["sforce-limit-info"].startswith("api-usage=")


@pytest.mark.parametrize("version", ["v43.0", "v60.0", "v100.0"])
def test_supported_versions(sandbox: Sandbox, client: httpx.Client, version: str) -> None:
    with _client(sandbox, version) as c:
        r = c.get("/folders")
    assert r.status_code == 200
    assert r.json()["folders"][0]["url"] == f"/services/data/{version}/folders/{REPORTS}"


@pytest.mark.parametrize("version", ["v41.0", "v42.0"])
def test_the_folder_list_came_with_v43(
    sandbox: Sandbox, client: httpx.Client, version: str
) -> None:
    """Shares are there from v41.0; the folder list only from v43.0 (404 before, as the API)."""
    with _client(sandbox, version) as c:
        _error(c.get("/folders"), 404, "NOT_FOUND")
        assert c.get(f"/folders/{REPORTS}/shares").status_code == 200


def test_shared_with_label_is_the_recipients_name_looked_up_when_answering(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    sandbox.state["salesforce"]["org_name"] = "Acme Inc."
    body = _shares(("view", "group", GROUP))
    body["shares"].append({"accessType": "view", "shareType": "organization", "shareWithId": ""})
    shares = client.put(f"/folders/{DASHBOARDS}/shares", json=body).json()["shares"]
    assert [s["sharedWithLabel"] for s in shares] == ["Sales Team", "Acme Inc."]
    sandbox.state["salesforce"]["labels"][GROUP] = "Sales (EMEA)"  # renamed in the org
    shares = client.get(f"/folders/{DASHBOARDS}/shares").json()["shares"]
    assert [s["sharedWithLabel"] for s in shares] == ["Sales (EMEA)", "Acme Inc."]
    assert "sharedWithLabel" not in sandbox.state["salesforce"]["folders"][1]["shares"][0]


@pytest.mark.parametrize("version", ["v40.0", "v60", "60.0", "latest", "v60.00"])
def test_unsupported_versions_are_404(sandbox: Sandbox, client: httpx.Client, version: str) -> None:
    with _client(sandbox, version) as c:
        _error(c.get("/folders"), 404, "NOT_FOUND")


def test_unknown_route_is_404_in_the_vendor_shape(client: httpx.Client) -> None:
    _error(client.get("/dashboards"), 404, "NOT_FOUND")


def test_every_response_carries_the_api_usage(sandbox: Sandbox, client: httpx.Client) -> None:
    assert client.get("/folders").headers["sforce-limit-info"] == "api-usage=1/15000"
    assert client.get(f"/folders/{UNKNOWN}/shares").headers["sforce-limit-info"] == (
        "api-usage=2/15000"
    )
    r = client.delete(f"/folders/{REPORTS}/shares/{SHARE}")
    assert r.headers["sforce-limit-info"] == "api-usage=3/15000"


def test_daily_quota_is_403_request_limit_exceeded(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.state["salesforce"]["daily_limit"] = 3
    for n in (1, 2, 3):
        r = client.get("/folders")
        assert r.status_code == 200
        assert r.headers["sforce-limit-info"] == f"api-usage={n}/3"
    r = client.get("/folders")
    _error(r, 403, "REQUEST_LIMIT_EXCEEDED")
    assert r.headers["sforce-limit-info"] == "api-usage=4/3"


def test_rate_limit_fault_uses_request_limit_exceeded(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    sandbox.faults.append(Fault("429", path_contains="/services/"))
    r = client.get("/folders")
    _error(r, 429, "REQUEST_LIMIT_EXCEEDED")
    assert "retry-after" in r.headers and "sforce-limit-info" in r.headers


# -- folders ------------------------------------------------------------------------


def test_folders_page_through_25(sandbox: Sandbox, client: httpx.Client) -> None:
    ids = [f"00l{n:015d}" for n in range(1, 26)]
    sandbox.state["salesforce"]["folders"] = [_folder(i, f"Folder {i[-2:]}") for i in ids]
    instance = sandbox.base_urls()["salesforce"]
    seen: list[str] = []
    sizes: list[int] = []
    url: str | None = f"{instance}{API}/folders"
    while url is not None:
        r = client.get(url)
        assert r.status_code == 200
        body = r.json()
        assert body["totalSize"] == 25
        sizes.append(len(body["folders"]))
        seen += [f["id"] for f in body["folders"]]
        url = instance + body["nextPageUrl"] if body["nextPageUrl"] else None
    assert sizes == [10, 10, 5]
    assert seen == ids
    first = client.get("/folders", params={"page": 1}).json()["folders"][0]
    assert first == {
        "id": ids[0],
        "label": "Folder 01",
        "name": "Folder_01",
        "type": "report",
        "url": f"{API}/folders/{ids[0]}",
    }


def test_folders_page_size_and_the_end(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.state["salesforce"]["folders"] = [_folder(f"00l{n:015d}", "F") for n in range(25)]
    r = client.get("/folders", params={"page": 4, "pageSize": 7}).json()
    assert len(r["folders"]) == 4 and r["nextPageUrl"] is None
    r = client.get("/folders", params={"page": 2, "pageSize": 7}).json()
    assert r["nextPageUrl"] == f"{API}/folders?page=3&pageSize=7"
    assert client.get("/folders", params={"page": 9}).json()["folders"] == []


@pytest.mark.parametrize("params", [{"page": "0"}, {"page": "x"}, {"pageSize": "-1"}])
def test_bad_paging_is_400(client: httpx.Client, params: dict[str, str]) -> None:
    _error(client.get("/folders", params=params), 400, "INVALID_INPUT")


# -- shares -------------------------------------------------------------------------


def test_list_and_get_shares(client: httpx.Client) -> None:
    expected = {
        "accessType": "view",
        "shareId": SHARE,
        "shareType": "user",
        "sharedWithId": USER_18,
        "sharedWithLabel": "User One",
        "url": f"{API}/folders/{REPORTS}/shares/{SHARE}",
    }
    assert client.get(f"/folders/{REPORTS}/shares").json() == {"shares": [expected]}
    assert client.get(f"/folders/{REPORTS}/shares/{SHARE}").json() == expected
    assert client.get(f"/folders/{DASHBOARDS}/shares").json() == {"shares": []}


@pytest.mark.parametrize(
    "path",
    [
        f"/folders/{UNKNOWN}/shares",
        f"/folders/{HIDDEN}/shares",
        f"/folders/{REPORTS}/shares/004000000000999AAA",
        f"/folders/{HIDDEN}/shares/{SHARE}",
    ],
)
def test_unknown_or_inaccessible_is_404(client: httpx.Client, path: str) -> None:
    _error(client.get(path), 404, "NOT_FOUND")


def test_post_appends_normalises_and_answers_all(client: httpx.Client) -> None:
    body = _shares(("EDIT", "Group", GROUP[:15]), ("Manage", "ORGANIZATION", ""))
    r = client.post(f"/folders/{DASHBOARDS}/shares", json=body)
    assert r.status_code == 200, r.text
    shares = r.json()["shares"]
    assert [(s["accessType"], s["shareType"]) for s in shares] == [
        ("edit", "group"),
        ("manage", "organization"),
    ]
    group = shares[0]
    assert group["sharedWithId"] == GROUP and group["sharedWithLabel"] == "Sales Team"
    assert len(shares[1]["sharedWithId"]) == 18
    for share in shares:
        assert (
            share["shareId"].startswith("004") and to18(share["shareId"][:15]) == share["shareId"]
        )
        assert share["url"] == f"{API}/folders/{DASHBOARDS}/shares/{share['shareId']}"
    r = client.post(f"/folders/{DASHBOARDS}/shares", json=_shares(("view", "user", USER_15)))
    assert [s["sharedWithId"] for s in r.json()["shares"]] == [
        GROUP,
        shares[1]["sharedWithId"],
        USER_18,
    ]
    assert len({s["shareId"] for s in r.json()["shares"]}) == 3


@pytest.mark.parametrize(
    "existing, again",
    [
        (("view", "user", USER_18), ("edit", "USER", USER_15)),
        (("view", "organization", ""), ("edit", "organization", "00D000000000062")),
    ],
    ids=["same-user-15-char", "org-wide-by-type"],
)
def test_post_for_a_recipient_with_a_share_is_duplicate_value(
    client: httpx.Client, existing: tuple[str, str, str], again: tuple[str, str, str]
) -> None:
    assert client.post(f"/folders/{DASHBOARDS}/shares", json=_shares(existing)).status_code == 200
    _error(
        client.post(f"/folders/{DASHBOARDS}/shares", json=_shares(again)), 400, "DUPLICATE_VALUE"
    )
    assert len(client.get(f"/folders/{DASHBOARDS}/shares").json()["shares"]) == 1


def test_duplicates_within_one_body_are_duplicate_value(client: httpx.Client) -> None:
    body = _shares(("view", "group", GROUP), ("edit", "group", GROUP[:15]))
    _error(client.put(f"/folders/{REPORTS}/shares", json=body), 400, "DUPLICATE_VALUE")
    assert len(client.get(f"/folders/{REPORTS}/shares").json()["shares"]) == 1


def test_put_replaces_every_share(client: httpx.Client) -> None:
    r = client.put(f"/folders/{REPORTS}/shares", json=_shares(("manage", "group", GROUP)))
    assert r.status_code == 200
    (share,) = r.json()["shares"]
    assert (share["accessType"], share["sharedWithId"]) == ("manage", GROUP)
    assert client.get(f"/folders/{REPORTS}/shares").json()["shares"] == [share]
    assert client.put(f"/folders/{REPORTS}/shares", json={"shares": []}).json() == {"shares": []}


@pytest.mark.parametrize(
    "body",
    [
        _shares(("read", "user", USER_18)),
        _shares(("view", "everyone", USER_18)),
        _shares(("view", "user", "005R0000000Kg8")),
        _shares(("view", "user", "")),
        {"shares": [{"accessType": "view", "shareType": "user"}]},
        {"shares": ["005R0000000Kg8y"]},
        {"shares": {"accessType": "view"}},
        [],
    ],
)
def test_bad_share_input_is_400_invalid_input(client: httpx.Client, body: Any) -> None:
    _error(client.post(f"/folders/{REPORTS}/shares", json=body), 400, "INVALID_INPUT")


def test_unparsable_body_is_json_parser_error(client: httpx.Client) -> None:
    r = client.post(
        f"/folders/{REPORTS}/shares", content=b"{", headers={"content-type": "application/json"}
    )
    _error(r, 400, "JSON_PARSER_ERROR")


def test_patch_changes_the_access_level(client: httpx.Client) -> None:
    body = {"accessType": "MANAGE", "shareType": "User", "shareWithId": USER_15}
    r = client.patch(f"/folders/{REPORTS}/shares/{SHARE}", json=body)
    assert r.status_code == 200
    assert r.json()["accessType"] == "manage" and r.json()["shareId"] == SHARE
    assert client.get(f"/folders/{REPORTS}/shares/{SHARE}").json()["accessType"] == "manage"


@pytest.mark.parametrize(
    "body",
    [
        {"accessType": "edit", "shareType": "user", "shareWithId": "005000000000001AAA"},
        {"accessType": "edit", "shareType": "group", "shareWithId": USER_18},
        {"accessType": "own", "shareType": "user", "shareWithId": USER_18},
        {"shareType": "user", "shareWithId": USER_18},
    ],
)
def test_patch_may_change_only_the_access_level(client: httpx.Client, body: Any) -> None:
    _error(client.patch(f"/folders/{REPORTS}/shares/{SHARE}", json=body), 400, "INVALID_INPUT")
    assert client.get(f"/folders/{REPORTS}/shares/{SHARE}").json()["accessType"] == "view"


def test_delete_by_share_id_is_204(client: httpx.Client) -> None:
    r = client.delete(f"/folders/{REPORTS}/shares/{SHARE}")
    assert r.status_code == 204 and r.content == b""
    _error(client.get(f"/folders/{REPORTS}/shares/{SHARE}"), 404, "NOT_FOUND")
    _error(client.delete(f"/folders/{REPORTS}/shares/{SHARE}"), 404, "NOT_FOUND")
    assert client.get(f"/folders/{REPORTS}/shares").json() == {"shares": []}


def test_writes_to_a_read_only_folder_are_403(client: httpx.Client) -> None:
    assert client.get(f"/folders/{LOCKED}/shares").status_code == 200
    body = _shares(("view", "group", GROUP))
    _error(client.post(f"/folders/{LOCKED}/shares", json=body), 403, "INSUFFICIENT_ACCESS")


def test_requests_are_logged(sandbox: Sandbox, client: httpx.Client) -> None:
    client.get("/folders")
    client.patch(f"/folders/{REPORTS}/shares/{SHARE}", json={"accessType": "edit"})
    client.delete(f"/folders/{REPORTS}/shares/{SHARE}")
    client.get(f"/folders/{HIDDEN}/shares")
    log = [(r.method, r.path, r.status) for r in sandbox.requests("salesforce")]
    root = API
    assert log == [
        ("GET", f"{root}/folders", 200),
        ("PATCH", f"{root}/folders/{REPORTS}/shares/{SHARE}", 200),
        ("DELETE", f"{root}/folders/{REPORTS}/shares/{SHARE}", 204),
        ("GET", f"{root}/folders/{HIDDEN}/shares", 404),
    ]
    assert [w.method for w in sandbox.writes("salesforce")] == ["PATCH", "DELETE"]
