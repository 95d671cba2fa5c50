"""`Http` on its own, over loopback: the response type, transport faults, `create_once`
(the never-blind create) and the vendor-fatal hook."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from reconciler.core.errors import AuthError, ProviderError, ProviderStopped, UnclearOutcome
from reconciler.core.settings import ProviderConfig
from reconciler.plugin import http, retry
from reconciler.plugin.http import Http, Limits, Response, json_or_none
from reconciler.plugin.provider import Provider
from reconciler.sandbox import Fault, Sandbox
from reconciler.vendors.bitsight.provider import BitsightProvider
from reconciler.vendors.klipfolio.provider import KlipfolioProvider

Answer = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


@pytest.fixture(autouse=True)
def _quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.001)


def _parse(response: Response) -> tuple[str | None, str]:
    body = json_or_none(response)
    if isinstance(body, dict):
        return body.get("code"), str(body.get("message", f"HTTP {response.status_code}"))
    return None, f"HTTP {response.status_code}"


def _client(base_url: str, **kw: Any) -> Http:
    headers = {"authorization": "Bearer t0ken"}
    return Http("test", base_url, headers, Limits(), _parse, "TOKEN", **kw)


class Fake:
    """A loopback server answering from a script: one answer per request, the last repeated."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.log: list[tuple[str, str, bytes]] = []
        self.url = ""

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        self.log.append((request.method, request.path_qs, await request.read()))
        answer = self.answers[min(len(self.log), len(self.answers)) - 1]
        return await answer(request)

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[Fake]:
        runner = web.ServerRunner(web.Server(self), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/api"
        try:
            yield self
        finally:
            await runner.cleanup()


def answer(status: int = 200, body: Any = None, **headers: str) -> Answer:
    async def respond(request: web.BaseRequest) -> web.StreamResponse:
        return web.json_response(body, status=status, headers=headers)

    return respond


async def drop(request: web.BaseRequest) -> web.StreamResponse:
    """The connection closes before any answer."""
    assert request.transport is not None
    request.transport.close()
    raise ConnectionResetError


def _run(coro: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coro

    return asyncio.run(main())


# -- the response type ------------------------------------------------------------------


def test_response_is_immutable_with_case_insensitive_headers() -> None:
    headers = CIMultiDictProxy(CIMultiDict([("Content-Type", "text/plain; charset=latin-1")]))
    response = Response(200, headers, "é".encode("latin-1"), "GET", "http://h/x")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "é"
    with pytest.raises(AttributeError):
        response.status_code = 500  # type: ignore[misc]  # frozen: the refused write is the test
    with pytest.raises(ValueError):
        response.json()
    assert json_or_none(response) is None


def test_an_answer_is_read_whole_gzip_included() -> None:
    async def gzipped(request: web.BaseRequest) -> web.StreamResponse:
        body = gzip.compress(json.dumps({"a": [1, 2]}).encode())
        return web.Response(
            body=body, headers={"content-encoding": "gzip", "content-type": "application/json"}
        )

    async def main() -> None:
        async with Fake(answer(200, {"ok": "ü"}, **{"X-Thing": "1"}), gzipped).serve() as fake:
            client = _client(fake.url)
            try:
                plain = await client.request("POST", "/things", params={"q": "a b"}, json={"n": 1})
                packed = await client.request("GET", "/things")
            finally:
                await client.close()
        assert (plain.status_code, plain.json()) == (200, {"ok": "ü"})
        assert plain.headers["x-thing"] == "1"
        assert (plain.method, plain.url) == ("POST", fake.url + "/things?q=a+b")
        assert packed.json() == {"a": [1, 2]}
        assert fake.log[0] == ("POST", "/api/things?q=a+b", b'{"n":1}')

    _run(main())


# -- transport faults -------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    async def main() -> None:
        client = _client(f"http://127.0.0.1:{_closed_port()}/api")
        try:
            with pytest.raises(ProviderError) as caught:
                await client.request("POST", "/things", json={})
        finally:
            await client.close()
        assert not isinstance(caught.value, UnclearOutcome)
        assert f"ConnectError after {http.MAX_TRIES} tries" in str(caught.value)
        assert client.stats.calls == http.MAX_TRIES

    _run(main())


def test_a_dropped_get_is_retried_and_a_dropped_post_is_unclear() -> None:
    async def main() -> None:
        async with Fake(drop, answer(200, {"n": 1})).serve() as fake:
            client = _client(fake.url)
            try:
                assert (await client.request("GET", "/things")).json() == {"n": 1}
                fake.log.clear()
                with pytest.raises(UnclearOutcome, match=r"no clear answer \(ReadError\)"):
                    await client.request("POST", "/things", json={})
            finally:
                await client.close()
        assert [m for m, _, _ in fake.log] == ["POST"]  # never blindly retried

    _run(main())


def test_a_redirect_is_not_followed() -> None:
    async def main() -> None:
        moved = answer(307, None, Location="http://elsewhere.example/steal")
        async with Fake(moved).serve() as fake:
            client = _client(fake.url)
            try:
                with pytest.raises(ProviderError, match="unexpected redirect.*not followed"):
                    await client.request("GET", "/things")
            finally:
                await client.close()
        assert len(fake.log) == 1

    _run(main())


# -- create_once ------------------------------------------------------------------------

ROLE = {"name": "Analysts", "description": "", "permissions": []}


def _klipfolio(sandbox: Sandbox) -> Http:
    return Http(
        "klipfolio",
        sandbox.base_urls()["klipfolio"],
        {"kf-api-key": sandbox.credentials()["klipfolio"]},
        Limits(),
        _parse,
        "KLIPFOLIO_API_KEY",
    )


class Roles:
    """`post` and `find` for one Klipfolio role, counting the calls."""

    def __init__(self, client: Http) -> None:
        self.client = client
        self.posts = self.finds = 0

    async def post(self) -> Response:
        self.posts += 1
        return await self.client.request("POST", "/roles", json=ROLE)

    async def find(self) -> dict[str, Any] | None:
        self.finds += 1
        body = (await self.client.request("GET", "/roles")).json()
        return next((r for r in body["data"]["roles"] if r["name"] == ROLE["name"]), None)


def _create(sandbox: Sandbox) -> tuple[Response | dict[str, Any], Roles]:
    async def main() -> tuple[Response | dict[str, Any], Roles]:
        client = _klipfolio(sandbox)
        roles = Roles(client)
        try:
            return await client.create_once(roles.post, roles.find), roles
        finally:
            await client.close()

    result: tuple[Response | dict[str, Any], Roles] = _run(main())
    return result


def _names(sandbox: Sandbox) -> list[str]:
    return [r["name"] for r in sandbox.state["klipfolio"]["roles"]]


def test_create_once_returns_the_post_answer_when_clear(sandbox: Sandbox) -> None:
    created, roles = _create(sandbox)
    assert isinstance(created, Response) and created.status_code in (200, 201)
    assert (roles.posts, roles.finds) == (1, 0)
    assert _names(sandbox) == ["Analysts"]


def test_create_once_finds_a_create_whose_answer_was_lost(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault("commit-then-drop", "POST"))
    created, roles = _create(sandbox)
    assert isinstance(created, dict) and created["name"] == "Analysts"
    assert (roles.posts, roles.finds) == (1, 1)
    assert _names(sandbox) == ["Analysts"]  # no duplicate


def test_create_once_posts_again_when_the_lost_create_did_not_happen(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault("drop", "POST", times=2))
    created, roles = _create(sandbox)
    assert isinstance(created, Response)
    assert (roles.posts, roles.finds) == (3, 2)
    assert _names(sandbox) == ["Analysts"]


def test_create_once_gives_up_after_max_tries_unclear(sandbox: Sandbox) -> None:
    sandbox.faults.append(Fault("drop", "POST", times=http.MAX_TRIES))
    with pytest.raises(UnclearOutcome, match=f"no clear answer after {http.MAX_TRIES} tries"):
        _create(sandbox)
    assert [r.method for r in sandbox.writes()] == ["POST"] * http.MAX_TRIES
    assert _names(sandbox) == []


def test_create_once_sees_a_5xx_that_persists_as_unclear(sandbox: Sandbox) -> None:
    # A POST answered 503 is not retried by `request` (it may have happened): looked up.
    sandbox.faults.append(Fault("503", "POST"))
    created, roles = _create(sandbox)
    assert isinstance(created, Response)
    assert (roles.posts, roles.finds) == (2, 1)


def _scripted(
    outcomes: list[Exception | str], found: list[str | None]
) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[str | None]]]:
    async def post() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def find() -> str | None:
        return found.pop(0)

    return post, find


def _exists() -> ProviderError:
    return ProviderError("v", "already exists", 409, "EXISTS")


def test_create_once_treats_a_duplicate_after_an_unclear_try_as_ours() -> None:
    client = _client("http://127.0.0.1:9/api")
    # Unclear; the look finds nothing yet (the create lands later); the next POST says
    # "already exists": looked up again, found.
    post, find = _scripted([UnclearOutcome("v", "lost"), _exists()], [None, "ours"])
    got = _run(client.create_once(post, find, duplicate=lambda e: e.code == "EXISTS"))
    assert got == "ours"


def test_create_once_raises_a_duplicate_before_any_unclear_try() -> None:
    client = _client("http://127.0.0.1:9/api")
    post, find = _scripted([_exists()], [])
    with pytest.raises(ProviderError, match="already exists"):
        _run(client.create_once(post, find, duplicate=lambda e: e.code == "EXISTS"))
    # Without `duplicate`, any clear error is raised as it is, even after an unclear try.
    post, find = _scripted([UnclearOutcome("v", "lost"), _exists()], [None])
    with pytest.raises(ProviderError, match="already exists"):
        _run(client.create_once(post, find))


# -- the vendor-fatal hook --------------------------------------------------------------

QUOTA = {"code": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}


def _quota(response: Response) -> ProviderError | None:
    code, message = _parse(response)
    if response.status_code == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return ProviderStopped("test", f"quota used up ({message})", 403, code)
    if response.status_code == 503 and code == "MAINTENANCE":
        return ProviderError("test", "down for maintenance", 503, code)
    return None


def test_a_fatal_answer_stops_the_provider_without_a_retry() -> None:
    async def main() -> None:
        async with Fake(answer(403, QUOTA)).serve() as fake:
            client = _client(fake.url, fatal=_quota)
            try:
                with pytest.raises(ProviderStopped, match="quota used up") as first:
                    await client.request("GET", "/things", accept=(403,))
                with pytest.raises(ProviderStopped) as later:
                    await client.request("GET", "/other")
            finally:
                await client.close()
        assert later.value is first.value and client.stopped is first.value
        assert len(fake.log) == 1  # neither retried nor sent again

    _run(main())


def test_a_fatal_error_that_is_not_a_stop_fails_only_that_call() -> None:
    async def main() -> None:
        down = answer(503, {"code": "MAINTENANCE", "message": "later"})
        async with Fake(down, answer(200, {"n": 1})).serve() as fake:
            client = _client(fake.url, fatal=_quota)
            try:
                with pytest.raises(ProviderError, match="down for maintenance"):
                    await client.request("GET", "/things")  # a 503, yet not retried
                assert (await client.request("GET", "/things")).json() == {"n": 1}
            finally:
                await client.close()
        assert len(fake.log) == 2 and client.stopped is None

    _run(main())


def test_answers_the_hook_passes_get_the_generic_rules() -> None:
    async def main() -> None:
        forbidden = answer(403, {"code": "NOPE", "message": "not yours"})
        async with Fake(forbidden, answer(401, {"message": "bad token"})).serve() as fake:
            client = _client(fake.url, fatal=_quota)
            try:
                with pytest.raises(ProviderError, match="not yours") as caught:
                    await client.request("GET", "/things")
                assert not isinstance(caught.value, ProviderStopped)
                with pytest.raises(AuthError, match=r"\$TOKEN"):
                    await client.request("GET", "/things")
            finally:
                await client.close()

    _run(main())


def test_a_closed_client_never_opens_a_new_session() -> None:
    async def go() -> None:
        async with Fake(answer(200, {"n": 1})).serve() as fake:
            client = _client(fake.url)
            await client.request("GET", "/a")
            await client.close()
            with pytest.raises(ProviderStopped, match="the run is over"):
                await client.request("GET", "/a")
            assert client._session is None

    asyncio.run(go())


# -- every send is a counted try; only a vendor quota stops a provider -------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_dropped_connection_is_sent_again_only_as_a_counted_try(method: str) -> None:
    # A connection closed before any answer made aiohttp send an idempotent request again
    # 1-2 ms later, outside the tries and without backoff: ten sends where five are allowed.
    # (The sandbox's "drop" closes half-way through an answer, which aiohttp never resends.)
    async def main() -> None:
        async with Fake(drop).serve() as fake:
            client = _client(fake.url)
            try:
                with pytest.raises(ProviderError, match=f"ReadError after {http.MAX_TRIES}"):
                    await client.request(method, "/things/1", json={} if method == "PUT" else None)
            finally:
                await client.close()
        assert [m for m, _, _ in fake.log] == [method] * http.MAX_TRIES
        assert client.stats.calls == http.MAX_TRIES

    _run(main())


def test_one_dropped_connection_is_one_counted_retry() -> None:
    async def main() -> None:
        async with Fake(drop, answer(200, {"n": 1})).serve() as fake:
            client = _client(fake.url)
            try:
                assert (await client.request("PUT", "/things/1", json={})).json() == {"n": 1}
            finally:
                await client.close()
        assert len(fake.log) == 2
        assert (client.stats.calls, client.stats.retries) == (2, 1)

    _run(main())


def _provider(sandbox: Sandbox, cls: type[Provider], vtype: str, env: str) -> Provider:
    config = ProviderConfig(vtype, vtype, sandbox.base_urls()[vtype], env)
    return cls(config, sandbox.credentials()[vtype], Limits())


def test_a_429_on_the_last_try_fails_only_that_request(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One BitSight 429 on a request's last try stopped the provider: every later call of the
    # run failed at once (142 folders in a soak). It is that request's failure alone.
    quick = dataclasses.replace(BitsightProvider.DEFAULTS, rate_limit_wait=0.001)
    monkeypatch.setattr(BitsightProvider, "DEFAULTS", quick)
    sandbox.faults.append(Fault("429", "GET", times=http.MAX_TRIES))
    p = _provider(sandbox, BitsightProvider, "bitsight", "BITSIGHT_API_TOKEN")
    assert isinstance(p, BitsightProvider)

    async def main() -> None:
        try:
            with pytest.raises(ProviderError, match="still rate limited") as caught:
                await p.list_folders()
            assert not isinstance(caught.value, ProviderStopped)
            assert caught.value.status == 429
            assert p.http.stopped is None
            assert isinstance(await p.list_folders(), list)  # the next one is sent, answered
        finally:
            await p.close()

    _run(main())
    assert [r.status for r in sandbox.requests("bitsight")] == [429] * http.MAX_TRIES + [200]


def test_klipfolio_s_quota_429_still_stops_its_provider(sandbox: Sandbox) -> None:
    # Klipfolio answers its daily quota with 429, like its per-second limit: one that
    # outlasts the retries is the quota, and stops the provider (its `exhausted` hook).
    sandbox.faults.append(Fault("429", "GET", times=http.MAX_TRIES))
    p = _provider(sandbox, KlipfolioProvider, "klipfolio", "KLIPFOLIO_API_KEY")

    async def main() -> None:
        try:
            with pytest.raises(ProviderStopped, match="quota is used up") as first:
                await p.http.request("GET", "/roles")
            with pytest.raises(ProviderStopped) as later:
                await p.http.request("GET", "/roles")
            assert later.value is first.value
        finally:
            await p.close()

    _run(main())
    assert len(sandbox.requests("klipfolio")) == http.MAX_TRIES
