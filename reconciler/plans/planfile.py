"""The JSON plan (`--format json`, `--out`): written, and read back by `apply PLAN.json`."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler import __version__
from reconciler.core.errors import PlanFileError
from reconciler.core.escape import surrogates
from reconciler.core.model import (
    Action,
    Change,
    FieldChange,
    Governance,
    Ignored,
    LiveObject,
    MemberChange,
    Partial,
    Plan,
    ProviderInfo,
    Source,
)
from reconciler.input.schemas import describe, validator

FORMAT_VERSION = 1


def to_dict(plan: Plan) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "digest": plan.digest,
        "providers": [vars(p) for p in plan.providers],
        "summary": {a.value: plan.count(a) for a in Action},
        "changes": [_change(c) for c in plan.changes],
        "existing": [
            {"provider": p, "kind": k, "count": n} for (p, k), n in sorted(plan.existing.items())
        ],
        "ignored": [vars(i) for i in plan.ignored],
        "protected": list(plan.protected),
    }
    if plan.governance is not None and plan.governance.recorded:
        doc["governance"] = _governance(plan.governance)
    if plan.partial is not None:
        p = plan.partial
        doc["base"] = {
            "ref": p.ref,
            "commit": p.commit,
            "unread": p.unread,
            "removed": list(p.removed),
        }
    doc["checksum"] = _checksum(doc)
    return doc


def dumps(plan: Plan) -> str:
    text = json.dumps(to_dict(plan), indent=2, sort_keys=False, ensure_ascii=False)
    return surrogates(text) + "\n"  # as JSON escapes: a file no encoding refuses


def _change(c: Change) -> dict[str, Any]:
    out = {
        "address": c.address,
        "action": c.action.value,
        "kind": c.kind,
        "provider": c.provider,
        "identity": list(c.identity),
        "scope": c.scope,
        "desired": c.desired,
        "live": None
        if c.live is None
        else {"state": c.live.state, "handle": c.live.handle, "revision": c.live.revision},
        "absent": c.live is None,
        "managed": c.managed,
        "revision": c.revision,
        "fingerprint": c.fingerprint,
        "fields": [_field(f) for f in c.fields],
        "members": [_member(m) for m in c.members],
        "source": str(c.source) if c.source else None,
    }
    # Expiry (docs/governance.md), only where there is one: plans without stay as they were.
    out.update({k: v for k, v in (("expires", c.expires), ("reason", c.reason)) if v})
    # The members' names the plan showed (output only, never read by apply): `show` too.
    if c.labels:
        out["labels"] = dict(sorted(c.labels.items()))
    # Guards (docs/governance.md): shown, never read back; the allows are what apply honours.
    out["guards"] = [f.as_dict() for f in c.guards]
    if c.cause is not None:
        out["cause"] = c.cause
    if c.allows:
        out["allow"] = dict(c.allows)
    return out


def _governance(g: Governance) -> dict[str, Any]:
    """The governance block (reconciler/input/policy/), first in review and for the record:
    apply never reads it back."""
    out = {
        "policy": g.policy,
        "settings": g.settings,
        "ignores": g.ignores,
        "allows": g.allows,
        "providers": g.providers,
        "risks": g.risks,
    }
    if g.loosened:
        out["loosened"] = g.loosened
    return out


def _field(f: FieldChange) -> dict[str, Any]:
    # `cause` only in a `--base` plan: full plans stay as they were.
    return {k: v for k, v in vars(f).items() if v is not None or k != "cause"}


def _member(m: MemberChange) -> dict[str, Any]:
    return {k: v for k, v in vars(m).items() if v is not None or k in ("before", "after")}


def _checksum(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k != "checksum"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # A lone surrogate (a vendor's JSON can hold one) is hashed as is, not a crash.
    return "sha256:" + hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


def loads(text: str, name: str) -> Plan:
    """Read a plan file back, refusing one that is foreign, corrupt or edited by hand."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanFileError(
            f"{name}:{exc.lineno}:{exc.colno}: not a plan file (invalid JSON: {exc.msg})"
        ) from None
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise PlanFileError(f"{name}: not a reconciler plan file")
    if doc.get("format_version") != FORMAT_VERSION:
        raise PlanFileError(
            f"{name}: plan format {doc.get('format_version')} is not supported "
            f"(this is format {FORMAT_VERSION})"
        )
    if doc.get("tool_version") != __version__:
        raise PlanFileError(
            f"{name}: plan was made by reconciler {doc.get('tool_version')}, this is "
            f"{__version__}: run plan again with this version"
        )
    if doc.get("checksum") != _checksum(doc):
        raise PlanFileError(
            f"{name}: plan file was modified after it was written (checksum mismatch)"
        )
    # The checksum only catches accidents: the shape is checked like any other input.
    from jsonschema.exceptions import best_match  # start-up time

    error = best_match(validator("plan").iter_errors(doc))
    if error is not None:
        raise PlanFileError(f"{name}: plan file is malformed ({describe(error)})")
    try:
        changes = [_read_change(c) for c in doc["changes"]]
        providers = [_read_provider(p) for p in doc["providers"]]
        existing = {(e["provider"], e["kind"]): int(e["count"]) for e in doc.get("existing", [])}
        ignored = [Ignored(**i) for i in doc.get("ignored", [])]
        # Older plan files have no governance block: marked as not recorded.
        g = doc.get("governance")
        governance = Governance(**g) if g is not None else Governance(recorded=False)
        b = doc.get("base")
        partial = None
        if b is not None:
            partial = Partial(b["ref"], b["commit"], int(b["unread"]), tuple(b["removed"]))
        return Plan(
            changes,
            providers,
            doc["digest"],
            existing,
            ignored=ignored,
            governance=governance,
            partial=partial,
        )
    except KeyError as exc:
        raise PlanFileError(f"{name}: plan file is malformed (missing {exc})") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise PlanFileError(f"{name}: plan file is malformed ({exc})") from None


def _read_provider(p: dict[str, Any]) -> ProviderInfo:
    p = dict(p)
    options = p.pop("options", {})
    # Older plans carry one vendor setting, api_version, of their own.
    legacy = p.pop("api_version", "")
    if legacy:
        options = {"api_version": legacy, **options}
    return ProviderInfo(**p, options=options)


def _read_change(c: dict[str, Any]) -> Change:
    live = c["live"]
    source = None
    if c.get("source"):
        file, line, col = c["source"].rsplit(":", 2)
        source = Source(file, int(line), int(col))
    return Change(
        action=Action(c["action"]),
        kind=c["kind"],
        provider=c["provider"],
        identity=tuple(c["identity"]),
        desired=c["desired"],
        live=None
        if live is None
        else LiveObject(
            tuple(c["identity"]), live["state"], live["handle"], live["revision"], c["scope"]
        ),
        managed=list(c["managed"]),
        fields=[FieldChange(**f) for f in c["fields"]],
        members=[MemberChange(**m) for m in c["members"]],
        scope=c["scope"],
        source=source,
        expires=c.get("expires"),
        reason=c.get("reason"),
        allows=dict(c.get("allow") or {}),
        labels=dict(c.get("labels") or {}),
        cause=c.get("cause"),
    )
