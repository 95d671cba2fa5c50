"""Noteboard: boards, each with a visibility, matched by name.

The minimal vendor: one kind whose handler writes the four required hooks (`normalise`,
`read`, `read_one`, `write`), every name imported from `reconciler.plugin`."""

from __future__ import annotations

from typing import Any

from reconciler.plugin import (
    Action,
    Change,
    KindHandler,
    KindSpec,
    LiveObject,
    Provider,
    ProviderError,
    Resource,
    Response,
    State,
    VendorDefaults,
    json_or_none,
)
from tests.plugin.plugin_vendor.vocab import ID

BOARD = "NoteboardBoard"


class Boards(KindHandler["NoteboardProvider"]):
    SPEC = KindSpec(BOARD, identity=("name",), prune_key="boards")

    def normalise(self, spec: dict[str, Any]) -> State:
        return {"visibility": spec.get("visibility", "private")}

    async def read(
        self, p: NoteboardProvider, resources: list[Resource], prune: bool
    ) -> list[LiveObject]:
        wanted = {r.identity for r in resources}
        return [o for o in await p.boards() if prune or o.identity in wanted]

    async def read_one(self, p: NoteboardProvider, change: Change) -> LiveObject | None:
        return next((o for o in await p.boards() if o.identity == change.identity), None)

    async def write(self, p: NoteboardProvider, change: Change, current: LiveObject | None) -> None:
        if change.action is Action.CREATE:
            assert change.desired is not None
            body = {"name": change.identity[0], **change.desired}
            await p.http.request("POST", "/boards", json=body)
            return
        live = current or change.live
        assert live is not None
        path = f"/boards/{p.path_id(live.handle['id'], 'board id')}"
        if change.action is Action.DELETE:
            await p.http.request("DELETE", path, accept=(404,))
        else:
            await p.http.request("PUT", path, json=change.desired)


class NoteboardProvider(Provider):
    TYPE = "noteboard"
    DEFAULTS = VendorDefaults(
        base_url="https://api.noteboard.example/v1",
        credential_env="NOTEBOARD_TOKEN",
        credential_key="token_env",
        credential_prefixes=("NOTEBOARD_",),
        vendor_hosts=("api.noteboard.example",),
        api_paths=("/v1",),
    )
    ID_FORMAT = ID
    HANDLERS = (Boards(),)

    def auth_headers(self, credential: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {credential}"}

    def parse_error(self, response: Response) -> tuple[str | None, str]:
        body = json_or_none(response)
        if isinstance(body, dict) and body.get("error"):
            return None, str(body["error"])
        return None, f"HTTP {response.status_code}"

    async def boards(self) -> list[LiveObject]:
        body = json_or_none(await self.http.request("GET", "/boards"))
        if not isinstance(body, list):
            raise ProviderError(self.alias, "GET /boards: expected a list of boards")
        return [
            LiveObject((b["name"],), {"visibility": b["visibility"]}, {"id": b["id"]}) for b in body
        ]
