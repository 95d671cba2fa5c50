"""The vendor plug-in contract: handlers per kind, one vocabulary, composed schemas."""

from __future__ import annotations

import ast
import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest

import reconciler.vendors as vendors_package
from reconciler.core.errors import ReconcilerError
from reconciler.core.model import KindSpec
from reconciler.input.schemas import provider_settings, schema
from reconciler.plans import planfile
from reconciler.plugin.provider import (
    Export,
    GuardFacts,
    KindHandler,
    KindIO,
    MemberListHandler,
    OfflineChecks,
    Provider,
    ReportFacts,
)
from reconciler.plugin.registry import PROVIDERS, vendors
from reconciler.vendors.bitsight import vocab as bitsight
from reconciler.vendors.golem import vocab as golem
from reconciler.vendors.klipfolio import vocab as klipfolio
from reconciler.vendors.salesforce import vocab as salesforce
from tests.support.plans import saved_plan


def _spec(kind: str) -> dict[str, Any]:
    properties: dict[str, Any] = schema(kind)["properties"]["spec"]["properties"]
    return properties


def _words(pattern: str) -> list[str]:
    """The words of a case-insensitive choice pattern such as ^([vV][iI][eE][wW]|...)$."""
    body = re.fullmatch(r"\^\((.*)\)\$", pattern)
    assert body is not None
    return [re.sub(r"\[(.)(.)\]", r"\1", alt).lower() for alt in body.group(1).split("|")]


def test_klipfolio_permissions_come_from_the_vocabulary() -> None:
    # A role's permissions are checked by the vendor (a warning for an unknown dotted name);
    # the admin_permissions setting takes the same list as an enum.
    items = _spec("KlipfolioRole")["permissions"]["items"]
    assert "enum" not in items
    assert len(klipfolio.PERMISSIONS) == 60 and "dashboard.links" in klipfolio.PERMISSIONS


def test_schemas_agree_with_the_vocabularies_they_cannot_import() -> None:
    data = _spec("GolemPermissionShare")["data"]["properties"]
    assert list(data) == list(golem.DATA_KEYS)
    folder = _spec("BitsightFolderSharing")
    assert {k for k, v in folder.items() if v.get("type") == "boolean"} == set(bitsight.FLAGS)
    user = folder["shared_with_users"]["items"]["properties"]
    assert {k for k, v in user.items() if v.get("type") == "boolean"} == set(bitsight.USER_FLAGS)
    share = _spec("SalesforceFolderShares")["shares"]["items"]["properties"]
    assert _words(share["share_type"]["pattern"]) == list(salesforce.SHARE_TYPES)
    assert _words(share["access_type"]["pattern"]) == list(salesforce.ACCESS_TYPES)
    assert set(salesforce.ORG_WIDE) <= set(salesforce.SHARE_TYPES)


def test_core_schemas_list_the_registry_words() -> None:
    config = schema("config")["$defs"]["provider"]["properties"]
    assert config["type"]["enum"] == sorted(vendors())
    assert set(config["prune"]["items"]["enum"]) == {"roles", "permission_shares"}
    for vtype, cls in PROVIDERS.items():
        assert cls.DEFAULTS.credential_key in provider_settings(vtype)
        assert set(provider_settings(vtype)) <= set(config)
    plan = schema("plan")
    kinds = {k for cls in PROVIDERS.values() for k in cls.KINDS}
    assert set(plan["$defs"]["change"]["properties"]["kind"]["enum"]) == kinds


def test_a_handler_missing_a_hook_cannot_be_made() -> None:
    class Partial(KindHandler[Provider]):
        SPEC = KindSpec("Partial", identity=("name",))

        def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="abstract"):
        Partial()  # type: ignore[abstract]  # the refused instance is the test


def test_a_share_list_kind_needs_a_member_list_handler() -> None:
    class Plain(KindHandler[Provider]):
        SPEC = KindSpec("Plain", identity=("id",), members_field="members")

        def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
            return {}

        async def read(self, p: Provider, resources: Any, prune: bool) -> Any:
            return []

        async def read_one(self, p: Provider, change: Any) -> Any:
            return None

        async def write(self, p: Provider, change: Any, current: Any) -> None:
            return None

        async def export(self, p: Provider, scopes: list[str]) -> Any:
            return []

    with pytest.raises(TypeError, match="MemberListHandler"):

        class Broken(Provider):
            HANDLERS = (Plain(),)

    assert issubclass(MemberListHandler, KindHandler)


def test_every_kind_has_its_handler() -> None:
    for cls in PROVIDERS.values():
        assert set(cls.handlers) == set(cls.KINDS)
        for kind, handler in cls.handlers.items():
            assert handler.SPEC is cls.KINDS[kind]
            assert isinstance(handler, MemberListHandler) == bool(handler.SPEC.members_field)


def test_a_plan_saved_with_api_version_still_reads() -> None:
    doc = saved_plan()
    doc["providers"][0].pop("options", None)
    doc["providers"][0]["api_version"] = "v60.0"
    doc["checksum"] = planfile._checksum(doc)
    plan = planfile.loads(json.dumps(doc), "plan.json")
    assert plan.providers[0].options == {"api_version": "v60.0"}
    again = planfile.loads(planfile.dumps(plan), "plan.json")
    assert again.providers == plan.providers


VENDORS = Path(vendors_package.__file__).parent
SIMULATOR = {"sandbox.py", "contract.py", "__init__.py"}
"""A vendor's sandbox app and contract case build on `reconciler.sandbox`; its `__init__`
registers it with `reconciler.plugin.registry`. Every other module is the provider's code."""
PROVIDER_FILES = sorted(p for p in VENDORS.glob("*/*.py") if p.name not in SIMULATOR) + [
    Path(__file__).parent / "plugin_vendor" / "provider.py"
]


def _imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.split(".")[0] in ("reconciler", "tests")}


def test_a_vendor_provider_imports_from_reconciler_plugin_only() -> None:
    assert {p.parent.name for p in PROVIDER_FILES} == {
        "bitsight",
        "golem",
        "klipfolio",
        "salesforce",
        "plugin_vendor",
    }
    for path in PROVIDER_FILES:
        own = ".".join(path.parent.relative_to(VENDORS.parents[1]).parts)
        other = {m for m in _imported(path) if m != "reconciler.plugin" and m != own}
        other = {m for m in other if not m.startswith(own + ".")}
        assert not other, f"{path.parent.name}/{path.name} imports {sorted(other)}"


def test_handlers_reach_their_provider_only_through_public_names() -> None:
    # A write the engine starts (Provider.write -> the handler's write) is followed by "go to
    # definition": no handler calls a private method of its provider found by convention.
    for path in PROVIDER_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        private = [
            f"{path.parent.name}:{n.lineno} p.{n.attr}"
            for n in ast.walk(tree)
            if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name)
            and n.value.id == "p"
            and n.attr.startswith("_")
        ]
        assert not private, private


def test_a_minimal_handler_writes_four_hooks_and_gets_every_other_default() -> None:
    class Minimal(KindHandler[Provider]):
        SPEC = KindSpec("Minimal", identity=("name",))

        def normalise(self, spec: dict[str, Any]) -> dict[str, Any]:
            return {"x": spec.get("x")}

        async def read(self, p: Provider, resources: Any, prune: bool) -> Any:
            return []

        async def read_one(self, p: Provider, change: Any) -> Any:
            return None

        async def write(self, p: Provider, change: Any, current: Any) -> None:
            return None

    h = Minimal()
    assert KindHandler.__abstractmethods__ == {"normalise", "read", "read_one", "write"}
    assert h.identity({"name": "a"}) == ("a",) and h.scope({}) == ""
    assert h.check({}, ()) == [] and h.advise({}, ()) == []
    assert h.managers({}) is None and h.openness({}) == {} and h.admin_vocabulary() == set()
    assert h.admin_grants(None, {}, None) == []
    assert h.grants({}, {}) is None and h.role((), {}, None) is None and h.claims({}) == set()
    assert isinstance(h, KindIO | OfflineChecks | GuardFacts | ReportFacts | Export)
    with pytest.raises(ReconcilerError, match="Minimal cannot be exported"):
        asyncio.run(h.export(None, [""]))  # type: ignore[arg-type]  # never reads p
