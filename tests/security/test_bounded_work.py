"""Bounded work (SPEC §4.1): no server, file or setting can make a run hang or fill memory.

- a server trickling its answer a byte at a time fails like a timeout, within the deadline;
- a compressed answer is capped after decompression, so a gzip bomb is refused early;
- YAML aliases are budgeted per file, not per document;
- nesting is limited before libyaml's recursive composer could crash the process.
"""

from __future__ import annotations

import functools
import gzip
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.core.yamlload import load_text
from reconciler.plugin import http, retry
from tests.support.fake import FakeServer, Handler
from tests.support.harness import RunCli, Workspace

ROLE = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Finance Analysts
  description: Build and share finance dashboards
  permissions: [klip.build]
"""


def _config(ws: Workspace, url: str) -> None:
    ws.write(
        "reconciler.yaml",
        f"""\
        apiVersion: reconciler/v1
        kind: Config
        providers:
          klipfolio:
            base_url: {url}/api/1
            rate_limit_per_second: 0
        """,
    )
    ws.write("roles.yaml", ROLE)


def _small_http(
    monkeypatch: pytest.MonkeyPatch, deadline: float | None = None, max_body: int = http.MAX_BODY
) -> None:
    """Providers build their Http with small limits; retries back off briefly."""
    small = functools.partial(http.Http, deadline=deadline, max_body=max_body)
    monkeypatch.setattr("reconciler.plugin.provider.Http", small)
    monkeypatch.setattr(retry, "BACKOFF_BASE", 0.01)


def _trickle(handler: Handler) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(200):  # 40 s if nobody gives up
            yield b" "
            time.sleep(0.2)

    handler.stream(chunks(), {})


def test_a_trickling_server_fails_like_a_timeout_within_the_deadline(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_http(monkeypatch, deadline=0.3)
    with FakeServer() as fake:
        fake.route("/roles", _trickle)
        _config(ws, fake.url)
        started = time.monotonic()
        ran = cli("plan", str(ws.root))
        took = time.monotonic() - started
        assert ran.code == 1, ran.out + ran.err
        assert ran.err.splitlines() == [
            f"Error: klipfolio: GET /roles: ReadTimeout after {http.MAX_TRIES} tries"
        ]
        # Retried as any timeout is: MAX_TRIES deadlines plus short backoffs, no more.
        assert [m for m, _ in fake.log] == ["GET"] * http.MAX_TRIES
        assert took < http.MAX_TRIES * 0.3 + 3
        assert fake.writes() == []


def _no_parser(response: http.Response) -> tuple[str | None, str]:
    return None, ""


def test_the_deadline_defaults_to_the_timeout_and_the_cap_to_50_mb() -> None:
    client = http.Http("klipfolio", "http://127.0.0.1:9", {}, http.Limits(), _no_parser, "X")
    assert client.deadline == 30.0 and client.max_body == 50 * 1024 * 1024
    assert (
        http.Http(
            "klipfolio",
            "http://127.0.0.1:9",
            {},
            http.Limits(),
            _no_parser,
            "X",
            timeout=7,
        ).deadline
        == 7
    )


def _bomb(size: int, encoding: str = "gzip") -> object:
    """`size` bytes of zeros, gzip-compressed (about a thousandth of that on the wire)."""
    body = gzip.compress(b"\0" * size, compresslevel=9)
    if encoding == "gzip, gzip":
        body = gzip.compress(body)

    def answer(handler: Handler) -> None:
        pieces = (body[i : i + 16384] for i in range(0, len(body), 16384))
        handler.stream(pieces, {"content-encoding": encoding})

    return answer


def test_a_gzip_bomb_is_refused_once_decompressed_past_the_cap_with_memory_bounded(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = 4 * 1024 * 1024
    _small_http(monkeypatch, max_body=cap)
    with FakeServer() as fake:
        fake.route("/roles", _bomb(96 * 1024 * 1024))  # 96 MB decompressed, ~100 KB sent
        _config(ws, fake.url)
        tracemalloc.start()
        try:
            ran = cli("plan", str(ws.root))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert ran.code == 1, ran.out + ran.err
        assert ran.err.splitlines() == [
            "Error: klipfolio: GET /roles: answer larger than 4 MB (decompressed); refused"
        ]
        assert peak < 24 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
        # Refused, not retried.
        assert fake.log == [("GET", "/api/1/roles")]


def test_nested_content_encodings_are_refused(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    _small_http(monkeypatch, max_body=4 * 1024 * 1024)
    with FakeServer() as fake:
        fake.route("/roles", _bomb(1024 * 1024, "gzip, gzip"))
        _config(ws, fake.url)
        ran = cli("plan", str(ws.root))
        assert ran.code == 1, ran.out + ran.err
        assert ran.err.splitlines() == [
            "Error: klipfolio: GET /roles: answer in unsupported encoding 'gzip, gzip'"
        ]


def test_an_ordinary_gzip_answer_still_reads(
    ws: Workspace, cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = gzip.compress(b'{"meta": {"success": true}, "data": {"roles": []}}')

    def answer(handler: Handler) -> None:
        handler.stream(iter([body[:10], body[10:]]), {"content-encoding": "gzip"})

    with FakeServer() as fake:
        fake.route("/roles", answer)
        _config(ws, fake.url)
        ran = cli("plan", str(ws.root))
        assert ran.code == 0, ran.out + ran.err
        assert "KlipfolioRole" in ran.out


def _alias_heavy_documents(n: int) -> str:
    doc = """\
apiVersion: reconciler/v1
kind: KlipfolioRole
spec:
  name: Role {i}
  a: &a [x, x, x, x, x, x, x, x, x]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
"""
    return "---\n".join(doc.format(i=i) for i in range(n))


def test_alias_expansion_is_budgeted_per_file_not_per_document() -> None:
    # Each document expands to 59,049 nodes, under the budget alone; 300 of them are 17.7
    # million (111 s of CPU when each document had its own budget).
    text = _alias_heavy_documents(300)
    assert len(text) < 100_000
    started = time.process_time()
    docs, problems = load_text(text, "roles.yaml")
    assert time.process_time() - started < 1.0
    assert docs == []
    assert [str(p) for p in problems] == [
        "roles.yaml:21:1: YAML aliases in this file expand to more than 200000 nodes "
        "(near line 25); refusing to load it"
    ]


def test_a_million_levels_of_nesting_is_an_error_not_a_crash(tmp_path: Path) -> None:
    # libyaml composes recursively in C: this depth overflowed the stack (SIGSEGV).
    depth = 1_000_000
    (tmp_path / "roles.yaml").write_text(
        "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec:\n  name: x\n"
        "  description: " + "[" * depth + "]" * depth + "\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1, proc.stderr
    # The column is where the check saw it: level 101 here, or where a newer libyaml's own
    # limit stopped its scanner first.
    first = proc.stderr.splitlines()[0]
    assert first.startswith(f"{tmp_path / 'roles.yaml'}:5:"), first
    assert first.endswith(
        ": lists and mappings nest more than 100 levels deep here; refusing to load it"
    )
