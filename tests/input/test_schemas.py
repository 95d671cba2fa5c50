"""Schema messages, each at its line: `validate_against` on loaded YAML, with no CLI."""

from __future__ import annotations

from reconciler.core.yamlload import load_text
from reconciler.input.schemas import validate_against
from reconciler.plugin.registry import providers

KLIP_ID = "0123456789abcdef0123456789abcdef"
UUID = "6f1c5a8e-3b7d-4c2a-9e10-2d4b8f0a1c11"


def problems(kind: str, text: str) -> list[str]:
    docs, load_problems = load_text(text, "m.yaml")
    assert load_problems == [] and len(docs) == 1
    return sorted(f"{p.line}:{p.column} {p.message}" for p in validate_against(kind, docs[0]))


def manifest(kind: str, spec: str) -> str:
    return f"apiVersion: reconciler/v1\nkind: {kind}\nspec:\n{spec}"


def test_a_valid_manifest_has_no_problem() -> None:
    text = manifest("KlipfolioRole", f"  name: R\n  client_id: {KLIP_ID}\n  permissions: []\n")
    assert problems("KlipfolioRole", text) == []


def test_unknown_field_is_reported_at_its_key_with_the_closest_name() -> None:
    text = manifest("KlipfolioRole", "  name: R\n  descripton: x\n")
    assert problems("KlipfolioRole", text) == [
        "5:3 spec: unknown field 'descripton' (did you mean 'description'?)"
    ]


def test_unknown_top_level_field_has_no_prefix() -> None:
    text = "apiVersion: reconciler/v1\nkind: KlipfolioRole\nspec: {name: R}\nlabls: {}\n"
    assert problems("KlipfolioRole", text) == ["4:1 unknown field 'labls'"]


def test_a_misspelt_required_field_is_one_problem_not_two() -> None:
    text = manifest("KlipfolioRole", "  nam: R\n")
    assert problems("KlipfolioRole", text) == [
        "4:3 spec: unknown field 'nam' (did you mean 'name'?)"
    ]


def test_missing_required_field_is_named() -> None:
    text = "apiVersion: reconciler/v1\nkind: KlipfolioRole\n"
    assert problems("KlipfolioRole", text) == ["1:1 missing required field 'spec'"]


def test_short_enum_lists_its_values_and_suggests_the_closest() -> None:
    text = manifest(
        "KlipfolioClientShareRights",
        f"  client_id: {KLIP_ID}\n  members: additve\n  groups: []\n",
    )
    assert problems("KlipfolioClientShareRights", text) == [
        "5:12 spec.members: 'additve' is not one of authoritative, additive; "
        "did you mean 'additive'?"
    ]


def test_long_enum_names_the_item_and_suggests_without_listing() -> None:
    # Klipfolio's permission list is a long enum in the config (a role's permissions are
    # checked by the vendor: tests/test_klipfolio.py).
    text = (
        "apiVersion: reconciler/v1\nkind: Config\nproviders: {}\n"
        "settings: {guards: {admin_permissions: [user.manag, zzzz]}}\n"
    )
    found = problems("config", text)
    assert len(found) == 2
    prefix = "4:41 settings.guards.admin_permissions.0: unknown admin_permission 'user.manag'; "
    assert found[0].startswith(prefix)
    assert "did you mean" in found[0]
    assert found[1] == "4:53 settings.guards.admin_permissions.1: unknown admin_permission 'zzzz'"


def test_case_insensitive_choice_patterns_read_as_enums() -> None:
    text = manifest(
        "SalesforceFolderShares",
        "  folder_id: 00l000000000001AAA\n"
        "  shares: [{share_type: Grop, access_type: Veiw, shared_with_id: 00G000000000001}]\n",
    )
    assert problems("SalesforceFolderShares", text) == [
        "5:25 spec.shares.0.share_type: unknown value 'Grop'; did you mean 'group'?",
        "5:44 spec.shares.0.access_type: 'Veiw' is not one of view, edit, manage; "
        "did you mean 'view'?",
    ]


def test_id_patterns_say_what_id_is_expected() -> None:
    klip = manifest("KlipfolioRole", "  name: R\n  client_id: nothex\n")
    assert problems("KlipfolioRole", klip) == [
        "5:14 spec.client_id: 'nothex' is not a Klipfolio id (32 hex characters)"
    ]
    golem = manifest(
        "GolemPermissionShare",
        f"  owner_account_id: {UUID}\n  name: s\n  target_account_id: xyz\n",
    )
    assert problems("GolemPermissionShare", golem) == [
        "6:22 spec.target_account_id: 'xyz' is not a UUID (8-4-4-4-12 hex digits)"
    ]
    sf = manifest("SalesforceFolderShares", "  folder_id: abc\n  shares: []\n")
    assert problems("SalesforceFolderShares", sf) == [
        "4:14 spec.folder_id: 'abc' is not a Salesforce id (15 or 18 letters and digits)"
    ]


def test_email_pattern_says_email() -> None:
    text = manifest(
        "BitsightFolderSharing",
        f"  folder_guid: {UUID}\n  shared_with_users: [{{email: notanemail}}]\n",
    )
    assert problems("BitsightFolderSharing", text) == [
        "5:31 spec.shared_with_users.0.email: 'notanemail' is not a valid email address"
    ]


def test_type_errors_name_both_types_and_hint_at_quoting() -> None:
    text = manifest("KlipfolioRole", "  name: 12\n  permissions: notalist\n")
    assert problems("KlipfolioRole", text) == [
        "4:9 spec.name: expected string, got integer (quote it to keep it as text)",
        "5:16 spec.permissions: expected list, got string",
    ]
    dated = manifest("KlipfolioRole", "  name: 2024-01-02\n")
    assert problems("KlipfolioRole", dated) == [
        "4:9 spec.name: expected string, got date (quote it to keep it as text)"
    ]


def test_const_and_empty_string() -> None:
    text = "apiVersion: reconciler/v2\nkind: KlipfolioRole\nspec: {name: ''}\n"
    assert problems("KlipfolioRole", text) == [
        "1:13 apiVersion: expected 'reconciler/v1', got 'reconciler/v2'",
        "3:14 spec.name: must not be empty",
    ]


def test_one_of_names_the_alternatives() -> None:
    text = manifest(
        "KlipfolioClientShareRights",
        f"  client_id: {KLIP_ID}\n  groups:\n    - {{can_manage: true}}\n",
    )
    assert problems("KlipfolioClientShareRights", text) == [
        "6:7 spec.groups.0: give exactly one of group_id, group_name"
    ]


def test_config_messages() -> None:
    text = (
        "apiVersion: reconciler/v1\nkind: Config\nproviders:\n  kf:\n    type: klipfolo\n"
        "    api_key_env: lower\n    rate_limit_per_second: 0.0001\n"
        "settings:\n  parallelism: '10'\n"
    )
    found = problems("config", text)
    assert found == [
        f"5:11 providers.kf.type: 'klipfolo' is not one of {', '.join(sorted(providers()))}; "
        "did you mean 'klipfolio'?",
        "6:18 providers.kf.api_key_env: 'lower' is not a valid environment variable name "
        "(upper-case letters, digits and _)",
        "7:28 providers.kf.rate_limit_per_second: 0.0001 is out of range "
        "(0 = no limit, otherwise at least 0.1 calls per second)",
        "9:16 settings.parallelism: expected integer, got string",
    ]


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = manifest(
        "GolemPermissionShare", "  owner_account_id: abc\n  name: s\n  target_account_id: xyz\n"
    )
    assert len(problems("GolemPermissionShare", text)) == 2
