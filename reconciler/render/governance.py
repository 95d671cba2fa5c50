"""The governance block and the risk summary that open every plan view: the policy in
force, what is looser than the defaults, and each change a guard or the policy flags."""

from __future__ import annotations

import click

from reconciler.core.escape import text as esc
from reconciler.core.model import Governance


def governance_items(gov: Governance | None) -> list[str]:
    """The governance block as plain lines (unescaped; each renderer escapes): the policy
    in force, then everything looser than the built-in defaults."""
    if gov is None or not gov.recorded:
        return ["Policy: not recorded (a plan file made before governance blocks)"]
    out = []
    if gov.policy:
        out.append(f"Policy: {gov.policy['path']} (sha256 {gov.policy['sha256']})")
    else:
        out.append("Policy: none (no --policy, no RECONCILER_POLICY)")
    for s in gov.settings:
        line = f"Looser setting {s['setting']}: {s['value']} (default {s['default']})"
        if s.get("lacks"):
            line += f"; lacks {', '.join(s['lacks'])}"
        out.append(line + (f" at {s['source']}" if s.get("source") else ""))
    for i in gov.ignores:
        scope = [f"member {i['member']}"] if i.get("member") else []
        if i.get("fields"):
            scope.append(f"fields {', '.join(i['fields'])}")
        what = f" ({', '.join(scope)})" if scope else ""
        out.append(
            f"Ignore {i['address']}{what}: owner {i['owner']}, until {i['until']}: "
            f"{i['reason']}" + (f" at {i['source']}" if i.get("source") else "")
        )
    for a in gov.allows:
        out.append(f"Allow {a['rule']} on {a['address']}: {a['reason']}")
    for p in gov.providers:
        default = p.get("default") or "none"
        out.append(
            f"Provider {p['alias']} ({p['type']}) at {p['base_url']}: not the vendor's "
            f"default host ({default})"
        )
    if len(out) == 1:
        out.append("Nothing looser than the built-in defaults.")
    for item in gov.loosened:
        out.append(f"Loosens the base config: {item['message']}")
    return out


def risk_items(gov: Governance | None) -> list[str]:
    """One plain line per risk (policy.risks): address, rule, status and message."""
    if gov is None:
        return []
    out = []
    for r in gov.risks:
        status = r["status"] + (f": {r['reason']}" if r.get("reason") else "")
        cause = {"pr": " [pull request]", "drift": " [drift]"}.get(r.get("cause", ""), "")
        out.append(f"{r['address']}: {r['rule']} ({status}){cause}: {r['message']}")
    return out


def governance_block(gov: Governance | None) -> list[str]:
    """`Governance:` and `Risks:` for the top of a plan (text)."""
    lines = ["Governance:"] + [f"  {esc(x)}" for x in governance_items(gov)]
    risks = risk_items(gov)
    if risks:
        lines.append(click.style("Risks:", bold=True))
        lines += [click.style(f"  ! {esc(x)}", fg="red") for x in risks]
    return [*lines, ""]
