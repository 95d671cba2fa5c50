"""The Golem sandbox answers as the server does, with bodies that match the vendor's OpenAPI."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from reconciler.sandbox import Fault, Sandbox

SPEC_PATH = Path(__file__).with_name("golem_openapi.yaml")
"""Golem's own OpenAPI description of the permission-share endpoints and the account read."""
SPEC_URI = "urn:golem-permission-shares-openapi"
JSON = "application/json; charset=utf-8"

OWNER = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"
TARGET = "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22"
OTHER = "a3d8c1e5-6f2b-4a9c-8d7e-1b5f3c9e2d33"
FORBIDDEN = "c7e4b2a9-1d6f-4b3e-a8c2-9f0d5e7b4a44"
UNKNOWN = "11111111-2222-4333-8444-555555555555"
GRANT = "application(owner@x.com/shop) @ target@x.com : view :"
EMAILS = {OWNER: "owner@x.com", TARGET: "target@x.com", OTHER: "other@x.com"}


@functools.cache
def _spec() -> dict[str, Any]:
    """The OpenAPI document, plus `routes`: path -> method -> status -> the schema `$ref`."""
    spec: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    spec["routes"] = {
        path: {
            method: {
                status: answer["content"][JSON]["schema"]["$ref"]
                for status, answer in op["responses"].items()
            }
            for method, op in ops.items()
        }
        for path, ops in spec["paths"].items()
    }
    return spec


def _validator(ref: str) -> jsonschema.Draft7Validator:
    """A validator for `#/components/schemas/...` of the spec, `format: uuid` asserted."""
    resource = Resource.from_contents(_spec(), default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return jsonschema.Draft7Validator(
        {"$ref": SPEC_URI + ref},
        registry=registry,
        format_checker=jsonschema.FormatChecker(),
    )


def _template(path: str) -> str:
    for template in _spec()["routes"]:
        if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), path):
            return template
    raise AssertionError(f"{path} is not a path of the spec")


def check(response: httpx.Response) -> Any:
    """Validates the body against the schema the spec declares for this route and status."""
    method = response.request.method.lower()
    template = _template(response.request.url.path)
    declared = _spec()["routes"][template][method].get(str(response.status_code))
    assert declared, f"{method} {template} answered {response.status_code}, not in the spec"
    assert response.headers["content-type"] == JSON
    body = response.json()
    _validator(declared).validate(body)
    return body


class Golem:
    """A client for the sandbox's Golem API that checks every response against the spec."""

    def __init__(self, sandbox: Sandbox, client: httpx.Client) -> None:
        self.sandbox = sandbox
        self.client = client
        self.token = sandbox.credentials()["golem"]

    def call(self, method: str, path: str, auth: str | None = "", **kw: Any) -> httpx.Response:
        headers = {}
        if auth is not None:
            headers["Authorization"] = auth or f"Bearer {self.token}"
        response = self.client.request(method, path, headers=headers, **kw)
        check(response)
        return response

    def create(self, name: str = "ops", target: str = TARGET, owner: str = OWNER) -> Any:
        grants = [GRANT] if target == TARGET else []
        body = {"targetAccountEmail": EMAILS[target], "name": name, "data": data(grants)}
        response = self.call("POST", f"/v1/accounts/{owner}/permission-shares", json=body)
        assert response.status_code == 200, response.text
        return response.json()


def data(lower_positive: list[Any] | None = None) -> dict[str, list[Any]]:
    return {
        "lowerPositive": lower_positive or [],
        "lowerNegative": [],
        "upperPositive": [],
        "upperNegative": [],
    }


@pytest.fixture
def golem(sandbox: Sandbox) -> Iterator[Golem]:
    sandbox.state["golem"] = {
        "accounts": [*({"id": a, "email": e} for a, e in EMAILS.items()), FORBIDDEN],
        "forbidden_accounts": [FORBIDDEN],
    }
    with httpx.Client(base_url=sandbox.base_urls()["golem"], verify=False) as client:
        yield Golem(sandbox, client)


def error(response: httpx.Response, status: int, code: str) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    return body


# -- the schemas themselves ----------------------------------------------------------------


def test_validator_enforces_uuid_format_and_required_fields() -> None:
    share = {
        "id": str(uuid.uuid4()),
        "revision": 0,
        "ownerAccountId": OWNER,
        "targetAccountId": TARGET,
        "name": "ops",
        "currentCardId": str(uuid.uuid4()),
        "data": data(),
    }
    validator = _validator("#/components/schemas/PermissionShare")
    validator.validate(share)
    assert not validator.is_valid({**share, "id": "not-a-uuid"})
    assert not validator.is_valid({**share, "currentCardId": "42"})
    assert not validator.is_valid({**share, "data": {"lowerPositive": []}})
    assert not _validator("#/components/schemas/ErrorsBody").is_valid({"code": "X", "error": "e"})


# -- success paths ---------------------------------------------------------------------------


def test_create_then_read_by_every_route(golem: Golem) -> None:
    share = golem.create()
    assert share["revision"] == 0
    assert share["ownerAccountId"] == OWNER and share["targetAccountId"] == TARGET
    assert share["data"] == data([GRANT])
    assert uuid.UUID(share["id"]) and uuid.UUID(share["currentCardId"])
    sid = share["id"]

    assert golem.call("GET", f"/v1/permission-shares/{sid}").json() == share
    assert golem.call("GET", f"/v1/accounts/{OWNER}/permission-shares/ops").json() == share
    assert golem.call("GET", f"/v1/accounts/{OWNER}/permission-shares").json() == {
        "values": [share]
    }
    received = golem.call("GET", f"/v1/accounts/{TARGET}/received-permission-shares").json()
    assert received == {"values": [share]}
    assert golem.call("GET", f"/v1/accounts/{OWNER}/received-permission-shares").json() == {
        "values": []
    }
    assert golem.call("GET", f"/v1/accounts/{TARGET}/permission-shares").json() == {"values": []}
    assert "deleted" not in share


def test_revision_semantics(golem: Golem) -> None:
    share = golem.create()
    sid, path = share["id"], f"/v1/permission-shares/{share['id']}"
    update = {"currentRevision": 0, "name": "ops", "data": data(["x", "y @ * : view :"])}
    # a target in the body is not part of the update and must not move the share
    updated = golem.call("PATCH", path, json={**update, "targetAccountId": OTHER}).json()
    assert updated["revision"] == 1
    assert updated["data"] == data(["x", "y @ * : view :"])
    assert updated["targetAccountId"] == TARGET
    assert updated["currentCardId"] != share["currentCardId"]

    stale = golem.call("PATCH", path, json=update)
    error(stale, 409, "CONCURRENT_UPDATE")
    error(golem.call("DELETE", path, params={"current_revision": 0}), 409, "CONCURRENT_UPDATE")

    deleted = golem.call("DELETE", path, params={"current_revision": 1}).json()
    assert deleted["revision"] == 2 and deleted["id"] == sid

    error(golem.call("GET", path), 404, "PERMISSION_SHARE_NOT_FOUND")
    error(
        golem.call("PATCH", path, json={**update, "currentRevision": 2}),
        404,
        "PERMISSION_SHARE_NOT_FOUND",
    )
    error(
        golem.call("DELETE", path, params={"current_revision": 2}),
        404,
        "PERMISSION_SHARE_NOT_FOUND",
    )
    by_name = golem.call("GET", f"/v1/accounts/{OWNER}/permission-shares/ops")
    error(by_name, 404, "PERMISSION_SHARE_NOT_FOUND")
    assert golem.call("GET", f"/v1/accounts/{OWNER}/permission-shares").json() == {"values": []}
    assert golem.call("GET", f"/v1/accounts/{TARGET}/received-permission-shares").json() == {
        "values": []
    }

    again = golem.create()  # the name is free again
    assert again["revision"] == 0 and again["id"] != sid


def test_names_are_unique_per_owner_among_live_shares(golem: Golem) -> None:
    ops = golem.create("ops")
    dev = golem.create("dev")
    duplicate = golem.call(
        "POST",
        f"/v1/accounts/{OWNER}/permission-shares",
        json={"targetAccountEmail": EMAILS[OTHER], "name": "ops", "data": data()},
    )
    error(duplicate, 409, "PERMISSION_SHARE_ALREADY_EXISTS")
    golem.create("ops", target=OWNER, owner=OTHER)  # another owner may use the name

    rename = {"currentRevision": 0, "name": "ops", "data": data()}
    clash = golem.call("PATCH", f"/v1/permission-shares/{dev['id']}", json=rename)
    error(clash, 409, "PERMISSION_SHARE_ALREADY_EXISTS")
    same = golem.call("PATCH", f"/v1/permission-shares/{ops['id']}", json=rename)
    assert same.status_code == 200 and same.json()["revision"] == 1
    golem.call("DELETE", f"/v1/permission-shares/{ops['id']}", params={"current_revision": 1})
    renamed = golem.call("PATCH", f"/v1/permission-shares/{dev['id']}", json=rename)
    assert renamed.status_code == 200 and renamed.json()["name"] == "ops"


def test_share_limit(golem: Golem) -> None:
    golem.sandbox.state["golem"]["max_shares"] = 1
    golem.create("one")
    golem.create("other-owner", target=TARGET, owner=OTHER)
    over = golem.call(
        "POST",
        f"/v1/accounts/{OWNER}/permission-shares",
        json={"targetAccountEmail": EMAILS[TARGET], "name": "two", "data": data()},
    )
    error(over, 422, "LIMIT_EXCEEDED")


def test_state_file_defaults(golem: Golem) -> None:
    sid = str(uuid.uuid4())
    golem.sandbox.state["golem"]["shares"] = [
        {
            "id": sid,
            "ownerAccountId": OWNER,
            "targetAccountId": TARGET,
            "name": "seeded",
            "data": {"lowerPositive": [GRANT]},
        },
        {
            "id": str(uuid.uuid4()),
            "ownerAccountId": OWNER,
            "targetAccountId": TARGET,
            "name": "gone",
            "revision": 4,
            "data": data(),
            "deleted": True,
        },
    ]
    listed = golem.call("GET", f"/v1/accounts/{OWNER}/permission-shares").json()["values"]
    assert [s["name"] for s in listed] == ["seeded"]
    assert listed[0]["revision"] == 0 and listed[0]["data"] == data([GRANT])
    assert golem.call("GET", f"/v1/permission-shares/{sid}").json() == listed[0]
    golem.create("gone")


# -- errors ------------------------------------------------------------------------------------

SID = "5d2c8b1a-4e3f-4a6d-9c7b-0e1f2a3b4c55"
ROUTES = [
    ("GET", "/v1/accounts/{acc}/permission-shares", {}),
    ("POST", "/v1/accounts/{acc}/permission-shares", {"json": {}}),
    ("GET", "/v1/accounts/{acc}/received-permission-shares", {}),
    ("GET", "/v1/accounts/{acc}/permission-shares/ops", {}),
    ("GET", "/v1/permission-shares/{sid}", {}),
    ("PATCH", "/v1/permission-shares/{sid}", {"json": {}}),
    ("DELETE", "/v1/permission-shares/{sid}", {"params": {"current_revision": 0}}),
]


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic {token}", "Bearer"])
@pytest.mark.parametrize(("method", "path", "kw"), ROUTES)
def test_unauthorized(golem: Golem, auth: str | None, method: str, path: str, kw: Any) -> None:
    header = auth.format(token=golem.token) if auth else None
    url = path.format(acc=OWNER, sid=SID)
    error(golem.call(method, url, auth=header, **kw), 401, "AUTH_UNAUTHORIZED")


@pytest.mark.parametrize(("method", "path", "kw"), ROUTES)
def test_path_ids_must_be_uuids(golem: Golem, method: str, path: str, kw: Any) -> None:
    body = error(golem.call(method, path.format(acc="me", sid="42"), **kw), 400, "BAD_REQUEST")
    assert body["errors"]


@pytest.mark.parametrize(("method", "path", "kw"), ROUTES)
def test_not_found(golem: Golem, method: str, path: str, kw: Any) -> None:
    if method in ("POST", "PATCH"):
        kw = {
            "json": {
                "targetAccountEmail": EMAILS[TARGET],
                "currentRevision": 0,
                "name": "x",
                "data": data(),
            }
        }
    code = "ACCOUNT_NOT_FOUND" if "{acc}" in path else "PERMISSION_SHARE_NOT_FOUND"
    error(golem.call(method, path.format(acc=UNKNOWN, sid=SID), **kw), 404, code)


def test_unknown_target_and_share_name(golem: Golem) -> None:
    body = {"targetAccountEmail": "nobody@x.com", "name": "x", "data": data()}
    response = golem.call("POST", f"/v1/accounts/{OWNER}/permission-shares", json=body)
    error(response, 404, "ACCOUNT_NOT_FOUND")
    golem.sandbox.state["golem"]["create_target_by"] = "id"
    body = {"targetAccountId": UNKNOWN, "name": "x", "data": data()}
    response = golem.call("POST", f"/v1/accounts/{OWNER}/permission-shares", json=body)
    error(response, 404, "ACCOUNT_NOT_FOUND")
    response = golem.call("GET", f"/v1/accounts/{OWNER}/permission-shares/nope")
    error(response, 404, "PERMISSION_SHARE_NOT_FOUND")


@pytest.mark.parametrize(("method", "path", "kw"), [*ROUTES, ("GET", "/v1/accounts/{acc}", {})])
def test_what_the_token_cannot_see_is_not_found(
    golem: Golem, method: str, path: str, kw: Any
) -> None:
    # The server answers 404, never 403, for accounts and shares the token cannot see.
    golem.sandbox.state["golem"]["forbidden_accounts"] = []
    share = golem.create("theirs", target=OWNER, owner=FORBIDDEN) if "{sid}" in path else None
    golem.sandbox.state["golem"]["forbidden_accounts"] = [FORBIDDEN]
    if method in ("POST", "PATCH"):
        body = {"targetAccountEmail": EMAILS[OWNER], "currentRevision": 0, "name": "x"}
        kw = {"json": {**body, "data": data()}}
    url = path.format(acc=FORBIDDEN, sid=share["id"] if share else SID)
    code = "PERMISSION_SHARE_NOT_FOUND" if share else "ACCOUNT_NOT_FOUND"
    error(golem.call(method, url, **kw), 404, code)


def _create_body(**over: Any) -> dict[str, Any]:
    return {"targetAccountEmail": EMAILS[TARGET], "name": "ops", "data": data(), **over}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "BAD_REQUEST"),
        ([], "BAD_REQUEST"),
        ({"name": "ops", "data": data()}, "BAD_REQUEST"),
        (_create_body(name=""), "BAD_REQUEST"),
        (_create_body(data=None), "BAD_REQUEST"),
        (
            _create_body(data={"lowerPositive": [], "lowerNegative": [], "upperPositive": []}),
            "BAD_REQUEST",
        ),
        (_create_body(targetAccountEmail=7), "BAD_REQUEST"),
        ({"targetAccountId": TARGET, "name": "ops", "data": data()}, "BAD_REQUEST"),
        (_create_body(data=data(["a @ other@x.com : view :"])), "INVALID_PERMISSION_SHARE_GRANT"),
        (_create_body(data=data([1])), "INVALID_PERMISSION_SHARE_GRANT"),
        (_create_body(data=data([" "])), "INVALID_PERMISSION_SHARE_GRANT"),
        (_create_body(targetAccountEmail=EMAILS[OWNER]), "INVALID_PERMISSION_SHARE_GRANT"),
    ],
)
def test_create_rejects_bad_bodies(golem: Golem, body: Any, code: str) -> None:
    path = f"/v1/accounts/{OWNER}/permission-shares"
    response = (
        golem.call("POST", path, json=body)
        if body is not None
        else golem.call("POST", path, content=b"{not json")
    )
    assert error(response, 400, code)["errors"]
    assert golem.call("GET", path).json() == {"values": []}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"name": "ops", "data": data()}, "BAD_REQUEST"),
        ({"currentRevision": True, "name": "ops", "data": data()}, "BAD_REQUEST"),
        ({"currentRevision": "0", "name": "ops", "data": data()}, "BAD_REQUEST"),
        ({"currentRevision": -1, "name": "ops", "data": data()}, "BAD_REQUEST"),
        ({"currentRevision": 0, "data": data()}, "BAD_REQUEST"),
        ({"currentRevision": 0, "name": "ops"}, "BAD_REQUEST"),
        (
            {"currentRevision": 0, "name": "ops", "data": data([None])},
            "INVALID_PERMISSION_SHARE_GRANT",
        ),
        (
            {"currentRevision": 0, "name": "ops", "data": data(["a @ owner@x.com : view :"])},
            "INVALID_PERMISSION_SHARE_GRANT",
        ),
    ],
)
def test_update_rejects_bad_bodies(golem: Golem, body: Any, code: str) -> None:
    share = golem.create()
    response = golem.call("PATCH", f"/v1/permission-shares/{share['id']}", json=body)
    error(response, 400, code)
    assert golem.call("GET", f"/v1/permission-shares/{share['id']}").json() == share


@pytest.mark.parametrize("params", [{}, {"current_revision": "abc"}, {"current_revision": "-1"}])
def test_delete_requires_an_integer_revision(golem: Golem, params: dict[str, str]) -> None:
    share = golem.create()
    response = golem.call("DELETE", f"/v1/permission-shares/{share['id']}", params=params)
    error(response, 400, "BAD_REQUEST")
    assert golem.call("GET", f"/v1/permission-shares/{share['id']}").status_code == 200


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ("429", "LIMIT_EXCEEDED"),
        ("500", "INTERNAL_UNKNOWN"),
        ("502", "INTERNAL_UNKNOWN"),
        ("503", "INTERNAL_UNKNOWN"),
    ],
)
def test_injected_faults_use_the_error_body(golem: Golem, action: str, code: str) -> None:
    golem.sandbox.faults.append(Fault(action, "GET", "/permission-shares"))
    path = f"/v1/accounts/{OWNER}/permission-shares"
    response = golem.client.get(path, headers={"Authorization": f"Bearer {golem.token}"})
    error(response, int(action), code)
    _validator("#/components/schemas/ErrorBody").validate(response.json())
    if action == "500":
        check(response)
    if action == "429":
        assert response.headers["Retry-After"] == "0"
    assert golem.call("GET", path).status_code == 200


def test_unknown_route_answers_in_golem_shape(golem: Golem) -> None:
    headers = {"Authorization": f"Bearer {golem.token}"}
    response = golem.client.get("/v1/nowhere", headers=headers)
    error(response, 404, "NOT_FOUND")
    _validator("#/components/schemas/ErrorBody").validate(response.json())
    response = golem.client.put(f"/v1/permission-shares/{SID}", headers=headers)
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}
    assert response.headers["content-type"] == JSON
    _validator("#/components/schemas/ErrorBody").validate(response.json())


def test_request_log_records_calls(golem: Golem) -> None:
    share = golem.create()
    golem.call("GET", f"/v1/permission-shares/{share['id']}")
    golem.call("GET", f"/v1/permission-shares/{share['id']}", auth="Bearer wrong")
    golem.call("DELETE", f"/v1/permission-shares/{share['id']}", params={"current_revision": 0})
    log = [(r.method, r.path, r.status) for r in golem.sandbox.requests("golem")]
    assert log == [
        ("POST", f"/v1/accounts/{OWNER}/permission-shares", 200),
        ("GET", f"/v1/permission-shares/{share['id']}", 200),
        ("GET", f"/v1/permission-shares/{share['id']}", 401),
        ("DELETE", f"/v1/permission-shares/{share['id']}", 200),
    ]
    writes = golem.sandbox.writes("golem")
    assert [w.method for w in writes] == ["POST", "DELETE"]
    assert writes[0].body["name"] == "ops"
    assert writes[1].query == "current_revision=0"
    assert writes[0].headers["authorization"] == f"Bearer {golem.token}"


# -- the account read and the two create forms ------------------------------------------------


def test_account_read_answers_the_account_or_404(golem: Golem) -> None:
    account = golem.call("GET", f"/v1/accounts/{TARGET}").json()
    assert (account["id"], account["email"]) == (TARGET, "target@x.com") and account["name"]
    error(golem.call("GET", f"/v1/accounts/{UNKNOWN}"), 404, "ACCOUNT_NOT_FOUND")
    golem.sandbox.state["golem"]["private_accounts"] = [TARGET]
    error(golem.call("GET", f"/v1/accounts/{TARGET}"), 404, "ACCOUNT_NOT_FOUND")
    assert golem.create()["targetAccountId"] == TARGET, "a private account is still a target"


def test_email_form_finds_the_target_by_email_in_any_case(golem: Golem) -> None:
    body = {"targetAccountEmail": "Target@X.com", "name": "ops", "data": data(["r @ * : view :"])}
    share = golem.call("POST", f"/v1/accounts/{OWNER}/permission-shares", json=body).json()
    assert share["targetAccountId"] == TARGET and "targetAccountEmail" not in share


def test_id_form_takes_the_target_id_and_refuses_the_email(golem: Golem) -> None:
    golem.sandbox.state["golem"]["create_target_by"] = "id"
    path = f"/v1/accounts/{OWNER}/permission-shares"
    by_email = golem.call("POST", path, json=_create_body())
    assert "targetAccountId is required" in error(by_email, 400, "BAD_REQUEST")["errors"]
    body = {"targetAccountId": TARGET.upper(), "name": "ops", "data": data([GRANT])}
    share = golem.call("POST", path, json=body).json()
    assert share["targetAccountId"] == TARGET


def test_grant_recipients_are_the_target_or_everyone(golem: Golem) -> None:
    path = f"/v1/accounts/{OWNER}/permission-shares"
    grants = [GRANT, "application(owner@x.com/shop) @ * : view :"]
    assert golem.call("POST", path, json=_create_body(data=data(grants))).status_code == 200
    wrong = _create_body(name="two", data=data(["application(o@x.com/s) @ other@x.com : view :"]))
    body = error(golem.call("POST", path, json=wrong), 400, "INVALID_PERMISSION_SHARE_GRANT")
    assert body["errors"] == [
        "data.lowerPositive: grant 'application(o@x.com/s) @ other@x.com : view :' is for "
        "other@x.com, not the target account (target@x.com) or *"
    ]
