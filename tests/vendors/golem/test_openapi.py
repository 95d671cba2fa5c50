"""Golem's own OpenAPI as the oracle: every request the provider sends and every answer the
Golem sandbox gives, validated with openapi-core; a bounded schemathesis run (slow)."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import yaml
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from reconciler.sandbox import Fault, Sandbox
from reconciler.sandbox.core import Request
from reconciler.vendors.golem.sandbox import GolemSandbox
from tests.support.harness import RunCli, Workspace

SPEC_PATH = Path(__file__).with_name("golem_openapi.yaml")
OWNER = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"
SECOND = "2e8d4b6a-0c1f-4a3e-b5d7-9a1c3e5f7b22"
T1, T2 = "0b9e2f47-8a1d-4e6b-b3c5-7f2e9d4a6b22", "a3d8c1e5-6f2b-4a9c-8d7e-1b5f3c9e2d33"
OPS, BILLING, STALE = (
    "11111111-1111-4111-8111-111111111111",
    "22222222-2222-4222-8222-222222222222",
    "33333333-3333-4333-8333-333333333333",
)
DEV = "application(ops@acme.com/shop) @ dev@acme.com : view :"
CI = "application(ops@acme.com/shop) @ ci@acme.com : view :"
ALL = "application(ops@acme.com/status) @ * : view :"
ACCOUNTS = [
    {"id": OWNER, "email": "ops@acme.com", "name": "ops"},
    {"id": SECOND, "email": "data@acme.com", "name": "data"},
    {"id": T1, "email": "dev@acme.com", "name": "dev"},
    {"id": T2, "email": "ci@acme.com", "name": "ci"},
]


@functools.cache
def openapi() -> OpenAPI:
    return OpenAPI.from_dict(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))


@dataclass
class OasRequest:
    """A request the sandbox received, as openapi-core's Request protocol reads it."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    host_url: str = "http://127.0.0.1"


@dataclass
class OasResponse:
    status_code: int
    data: bytes | None
    headers: Headers
    content_type: str


@dataclass
class Exchange:
    request: OasRequest
    response: OasResponse

    @property
    def label(self) -> str:
        return f"{self.request.method.upper()} {self.request.path} -> {self.response.status_code}"


def _exchange(request: Request, response: Any, prefix: str) -> Exchange:
    headers = Headers(list(request.headers.items()))
    query = ImmutableMultiDict(parse_qsl(request.raw.rel_url.raw_query_string))
    req = OasRequest(
        request.method.lower(),
        request.path.removeprefix(prefix),
        request.body or None,
        headers.get("content-type", ""),
        RequestParameters(query=query, header=headers, cookie=ImmutableMultiDict()),
    )
    out = Headers(list(response.headers.items()))
    resp = OasResponse(response.status, response.body, out, out.get("content-type", ""))
    return Exchange(req, resp)


@pytest.fixture
def exchanges(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Exchange]]:
    """Every request the Golem sandbox answers, with its answer."""
    seen: list[Exchange] = []
    original = GolemSandbox.handle

    async def handle(self: GolemSandbox, request: Request, prefix: str) -> Any:
        response = await original(self, request, prefix)
        seen.append(_exchange(request, response, prefix))
        return response

    monkeypatch.setattr(GolemSandbox, "handle", handle)
    sandbox.state["golem"] = {
        "accounts": ACCOUNTS,
        "shares": [
            _live(OPS, "ops", T1, 2, [DEV]),
            _live(BILLING, "billing", T1, 0, [DEV]),
            _live(STALE, "stale", T2, 1, [CI]),
        ],
    }
    yield seen


def _live(sid: str, name: str, target: str, rev: int, grants: list[str]) -> dict[str, Any]:
    return {
        "id": sid,
        "revision": rev,
        "ownerAccountId": OWNER,
        "targetAccountId": target,
        "name": name,
        "data": {"lowerPositive": grants},
    }


def _manifest(owner: str, name: str, target: str, grants: list[str], email: str = "") -> str:
    extra = f"\n  target_account_email: {email}" if email else ""
    return (
        "apiVersion: reconciler/v1\nkind: GolemPermissionShare\nspec:\n"
        f"  owner_account_id: {owner}\n  name: {name}\n  target_account_id: {target}{extra}\n"
        f"  data: {{lowerPositive: {json.dumps(grants)}}}\n"
    )


def _errors(validate: Any, *args: Any) -> str | None:
    try:
        validate(*args)
    except Exception as exc:  # noqa: BLE001 - the oracle's verdict, reported by the test
        cause = exc.__cause__ or exc
        return f"{exc}: {getattr(cause, 'schema_errors', '') or cause}"
    return None


def _operations(seen: list[Exchange]) -> set[str]:
    ops = set()
    for x in seen:
        path = x.request.path
        for uuid in (OWNER, SECOND, T1, T2):
            path = path.replace(uuid, "{account_id}")
        parts = path.split("/")
        if len(parts) == 4 and parts[2] == "permission-shares":
            parts[3] = "{id}"
        ops.add(f"{x.request.method.upper()} {'/'.join(parts)}")
    return ops


def _workspace(ws: Workspace, cli: RunCli, providers: str = "") -> None:
    ws.config(providers="golem.prune: [permission_shares]\n" + providers)
    ws.write("ops.yaml", _manifest(OWNER, "ops", T1.upper(), [DEV, ALL]))  # PATCH
    ws.write("billing.yaml", _manifest(OWNER, "billing", T2, [CI]))  # replace
    ws.write("fresh.yaml", _manifest(SECOND, "fresh", T1, [DEV]))  # create
    ws.write("named.yaml", _manifest(SECOND, "named", T2, [ALL], email="ci@acme.com"))


def test_every_request_and_answer_of_a_run_fits_golems_openapi(
    sandbox: Sandbox, exchanges: list[Exchange], ws: Workspace, cli: RunCli
) -> None:
    _workspace(ws, cli)
    plan = ws.root / "plan.json"
    assert cli("plan", str(ws.root), "--out", str(plan)).code == 0
    sandbox.faults.append(Fault("commit-then-drop", "POST", "/accounts/"))  # then GET by name
    res = cli("apply", str(plan), "--config", str(ws.root / "reconciler.yaml"))
    assert res.code == 0, res.out + res.err
    assert cli("plan", str(ws.root), "--detailed-exitcode").code == 0
    ops = _operations(exchanges)
    assert {
        "GET /v1/accounts/{account_id}",
        "GET /v1/accounts/{account_id}/permission-shares",
        "POST /v1/accounts/{account_id}/permission-shares",
        "GET /v1/permission-shares/{id}",
        "PATCH /v1/permission-shares/{id}",
        "DELETE /v1/permission-shares/{id}",
    } <= ops, ops
    by_name = {"GET /v1/accounts/{account_id}/permission-shares/" + n for n in ("fresh", "named")}
    assert ops & by_name, "the lost POST answer is settled by a read by name"
    posts = [x for x in exchanges if x.request.method == "post"]
    assert len(posts) >= 3
    found = [
        (x.label, why)
        for x in exchanges
        for why in (
            _errors(openapi().validate_request, x.request),
            _errors(openapi().validate_response, x.request, x.response),
        )
        if why
    ]
    assert found == []


def test_the_id_form_answers_fit_and_its_request_is_the_legacy_form(
    sandbox: Sandbox, exchanges: list[Exchange], ws: Workspace, cli: RunCli
) -> None:
    # The OpenAPI describes only the email form: an id-form create body is the older,
    # documented form, refused by the current schema for exactly the missing email.
    sandbox.state["golem"]["create_target_by"] = "id"
    _workspace(ws, cli, providers="golem.create_target_by: id")
    res = cli("apply", str(ws.root), "--auto-approve")
    assert res.code == 0, res.out + res.err
    posts = [x for x in exchanges if x.request.method == "post"]
    assert len(posts) == 3
    for x in exchanges:
        assert _errors(openapi().validate_response, x.request, x.response) is None, x.label
        why = _errors(openapi().validate_request, x.request)
        if x in posts:
            assert why is not None and "'targetAccountEmail' is a required property" in why
            body = json.loads(x.request.body or b"")
            assert set(body) == {"targetAccountId", "name", "data"}
        else:
            assert why is None, (x.label, why)


def test_error_answers_fit_golems_openapi(
    sandbox: Sandbox, exchanges: list[Exchange], ws: Workspace, cli: RunCli
) -> None:
    ws.config()
    sandbox.state["golem"]["private_accounts"] = [T2]
    ws.write("a.yaml", _manifest(SECOND, "x", T2, [CI]))  # 404 on the account read
    ws.write("b.yaml", _manifest(SECOND, "y", T1, [CI]))  # 400: a grant for someone else
    ws.write("c.yaml", _manifest(OWNER, "ops", T1, [ALL]))
    sandbox.faults.append(Fault("500", "PATCH", times=5))
    assert cli("apply", str(ws.root), "--auto-approve").code == 1
    statuses = {x.response.status_code for x in exchanges}
    assert {400, 404, 200} <= statuses, statuses
    for x in exchanges:
        assert _errors(openapi().validate_request, x.request) is None, x.label
        assert _errors(openapi().validate_response, x.request, x.response) is None, x.label


def test_the_oracle_refuses_what_the_old_provider_sent() -> None:
    """A control: the create the provider used to send fails the oracle twice over."""
    data: dict[str, list[str]] = {
        k: [] for k in ("lowerPositive", "lowerNegative", "upperPositive", "upperNegative")
    }
    headers = Headers({"Authorization": "Bearer x", "Content-Type": "application/json"})
    old = OasRequest(
        "post",
        f"/v1/accounts/{OWNER}/permission-shares",
        json.dumps({"targetAccountId": T1, "name": "n", "data": data}).encode(),
        "application/json",
        RequestParameters(header=headers, query=ImmutableMultiDict(), cookie=ImmutableMultiDict()),
    )
    assert "mimetype not found: application/json" in str(_errors(openapi().validate_request, old))
    old.content_type = "application/json; charset=utf-8"
    assert "'targetAccountEmail' is a required property" in str(
        _errors(openapi().validate_request, old)
    )
    share = {"id": OPS, "revision": 0, "ownerAccountId": OWNER, "targetAccountId": T1}
    answer = OasResponse(200, json.dumps(share).encode(), Headers(), "application/json")
    assert _errors(openapi().validate_response, old, answer) is not None


# -- schemathesis: generated calls against the sandbox, checked by the vendor's schema ---------


@pytest.mark.slow
def test_schemathesis_finds_no_nonconformance_in_the_golem_sandbox(sandbox: Sandbox) -> None:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    sandbox.state["golem"] = {"accounts": ACCOUNTS, "shares": [_live(OPS, "ops", T1, 0, [DEV])]}
    schema = schemathesis.openapi.from_dict(yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8")))
    base = sandbox.base_urls()["golem"]
    auth = {"Authorization": f"Bearer {sandbox.credentials()['golem']}"}
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [op.ok() for op in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == 8
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            response = case.call(base_url=base, headers=auth)
            case.validate_response(response, checks=checks)
            # Generated UUIDs name nothing: the same call again on objects that exist.
            known = {"account_id": OWNER, "permission_share_id": OPS}
            if case.path_parameters:
                case.path_parameters = {
                    **case.path_parameters,
                    **{k: v for k, v in known.items() if k in case.path_parameters},
                }
                response = case.call(base_url=base, headers=auth)
                case.validate_response(response, checks=checks)

        run()
