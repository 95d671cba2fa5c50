"""Noteboard API simulator: a list of boards."""

from __future__ import annotations

import uuid
from typing import Any

from reconciler.sandbox.core import Request, Response, Route, VendorApp, json_body, json_response
from tests.plugin.plugin_vendor.vocab import VISIBILITY


class NoteboardSandbox(VendorApp):
    name = "noteboard"
    prefixes = ("/noteboard/v1",)
    base_path = "/noteboard/v1"

    def routes(self) -> list[Route]:
        return [
            Route("/boards", self.list_boards, methods=["GET"]),
            Route("/boards", self.create_board, methods=["POST"]),
            Route("/boards/{bid}", self.update_board, methods=["PUT"]),
            Route("/boards/{bid}", self.delete_board, methods=["DELETE"]),
        ]

    def admit(self, headers: dict[str, str], path: str) -> Response | None:
        if headers.get("authorization") == f"Bearer {self.credential()}":
            return None
        return self.error(401, "bad token")

    def error(self, status: int, message: str, code: str | None = None) -> Response:
        return json_response({"error": message}, status)

    @property
    def boards(self) -> list[dict[str, Any]]:
        return self.state.setdefault("boards", [])

    async def list_boards(self, request: Request) -> Response:
        return json_response(self.boards)

    async def create_board(self, request: Request) -> Response:
        body = json_body(request)
        if not isinstance(body, dict) or body.get("visibility") not in VISIBILITY:
            return self.error(400, "a board needs a name and a visibility")
        if any(b["name"] == body.get("name") for b in self.boards):
            return self.error(409, "name taken")
        board = {"id": str(uuid.uuid4()), "name": body["name"], "visibility": body["visibility"]}
        self.boards.append(board)
        return json_response(board, 201)

    async def update_board(self, request: Request) -> Response:
        body = json_body(request)
        board = next((b for b in self.boards if b["id"] == request.path_params["bid"]), None)
        if board is None:
            return self.error(404, "no such board")
        if not isinstance(body, dict) or body.get("visibility") not in VISIBILITY:
            return self.error(400, "unknown visibility")
        board["visibility"] = body["visibility"]
        return json_response(board)

    async def delete_board(self, request: Request) -> Response:
        bid = request.path_params["bid"]
        before = len(self.boards)
        self.boards[:] = [b for b in self.boards if b["id"] != bid]
        if len(self.boards) == before:
            return self.error(404, "no such board")
        return json_response({})
