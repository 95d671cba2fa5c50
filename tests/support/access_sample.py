"""Synthetic access reports for the renderer, browser and benchmark tests (no live state)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.access.model import Access, Report, RoleRow, Row, Status

AT = datetime(2027, 1, 10, tzinfo=UTC)
COMMIT = "0f3c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"
"""The sample's Git commit (a made-up one)."""
GENERATED = datetime(2027, 1, 10, 9, 30, tzinfo=UTC)
KLIP = "0123456789abcdef0123456789abcdef"
GOLEM = "5b1d9e3f-7a2c-4e8b-9d6f-3c5a7e9b1d55"


def row(
    principal: str,
    obj: str,
    *,
    label: str | None = None,
    person: str | None = None,
    provider: str = "klipfolio",
    kind: str = "KlipfolioClientShareRights",
    object_label: str = "Acme",
    access: Access = "view",
    detail: str = "",
    status: Status = "in-sync",
    expires: str | None = None,
    privileged: bool = False,
    source: str = "access/acme.yaml:4",
) -> Row:
    return Row(
        principal=principal,
        principal_label=label if label is not None else principal.split(":", 1)[-1],
        person=person,
        provider=provider,
        kind=kind,
        object=obj,
        object_label=object_label,
        access=access,
        detail=detail,
        status=status,
        expires=expires,
        privileged=privileged,
        source=source,
    )


def sample_report() -> Report:
    """A small estate across the four vendors, every status and mark present."""
    acme = f"klipfolio/KlipfolioClientShareRights/{KLIP}"
    rows = [
        row(
            f"klipfolio-group:{'1' * 32}",
            acme,
            label="Finance",
            person="Jane Doe",
            access="manage",
            detail="can_manage",
            privileged=True,
        ),
        row(f"klipfolio-group:{'2' * 32}", acme, label="Sales", source="access/acme.yaml:9"),
        row(
            "email:jane@acme.com",
            "bitsight/BitsightFolderSharing/7d3c1a2e-0f4b-4c55-8e61-2a9b3c4d5e6f",
            person="Jane Doe",
            provider="bitsight",
            kind="BitsightFolderSharing",
            object_label="Vendors",
            access="edit",
            detail="contents",
            expires="2027-01-20",
            source="access/bitsight.yaml:12",
        ),
        row(
            "email:mallory@example.org",
            "bitsight/BitsightFolderSharing/7d3c1a2e-0f4b-4c55-8e61-2a9b3c4d5e6f",
            provider="bitsight",
            kind="BitsightFolderSharing",
            object_label="Vendors",
            access="manage",
            detail="properties",
            status="live-only",
            privileged=True,
            source="live",
        ),
        row(
            f"golem-account:{GOLEM}",
            f"golem/GolemPermissionShare/{GOLEM}/component",
            label="jane (golem)",
            person="Jane Doe",
            provider="golem",
            kind="GolemPermissionShare",
            object_label="billing component",
            access="view",
            detail="ViewComponent, ViewWorker",
            status="expired",
            expires="2027-01-01",
            source="access/golem.yaml:3",
        ),
        row(
            "salesforce-organization",
            "salesforce/SalesforceFolderShares/00l5e000001AbCd",
            label="Everyone in the org",
            provider="salesforce",
            kind="SalesforceFolderShares",
            object_label="Board reports",
            access="view",
            privileged=True,
            status="declared-only",
            source="access/salesforce.yaml:7",
        ),
        row(
            "salesforce-user:0055e000003JaNeAAK",
            "salesforce/SalesforceFolderShares/00l5e000001AbCd",
            label="Jane Doe",
            person="Jane Doe",
            provider="salesforce",
            kind="SalesforceFolderShares",
            object_label="Board reports",
            access="manage",
            privileged=True,
            source="access/salesforce.yaml:9",
        ),
    ]
    roles = [
        RoleRow(
            provider="klipfolio",
            kind="KlipfolioRole",
            object="klipfolio/KlipfolioRole/Admins",
            object_label="Admins",
            scope="company",
            permissions=("admin.client", "admin.klip", "klip.edit"),
            privileged=("admin.client", "admin.klip"),
            status="in-sync",
            source="access/roles.yaml:1",
        ),
        RoleRow(
            provider="klipfolio",
            kind="KlipfolioRole",
            object=f"klipfolio/KlipfolioRole/{KLIP}/Viewers",
            object_label="Viewers",
            scope="client Acme",
            permissions=("klip.view",),
            privileged=(),
            status="live-only",
            source="live",
        ),
    ]
    return Report.build(
        rows, roles, at=AT, generated_at=GENERATED, workspace=("access/",), commit=COMMIT
    )


STATUSES: tuple[Status, ...] = ("in-sync", "in-sync", "in-sync", "live-only", "declared-only")
LEVELS: tuple[Access, ...] = ("view", "view", "edit", "manage")
VENDORS = (
    ("klipfolio", "KlipfolioClientShareRights"),
    ("bitsight", "BitsightFolderSharing"),
    ("golem", "GolemPermissionShare"),
    ("salesforce", "SalesforceFolderShares"),
)


def synthetic_report(n: int = 5000) -> Report:
    """`n` rows over 50 objects and n/5 principals, deterministic, every mark present."""
    rows = []
    for i in range(n):
        provider, kind = VENDORS[i % 4]
        status = STATUSES[i % 5] if i % 97 else "expired"
        expires = (AT + timedelta(days=i % 40 - 5)).date().isoformat() if i % 7 == 0 else None
        rows.append(
            row(
                f"email:user{i % (n // 5 or 1):05d}@example.com",
                f"{provider}/{kind}/object-{i % 50:03d}",
                person=f"Person {i % (n // 10 or 1):04d}" if i % 3 else None,
                provider=provider,
                kind=kind,
                object_label=f"Object {i % 50:03d}",
                access=LEVELS[i % 4],
                detail=f"detail {i}",
                status=status,
                expires=expires,
                privileged=i % 11 == 0,
                source="live" if status == "live-only" else f"access/{provider}.yaml:{i + 1}",
            )
        )
    return Report.build(rows, at=AT, generated_at=GENERATED)
