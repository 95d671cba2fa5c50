"""The merge of a workspace's config over the operator's policy (reconciler/input/policy/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.errors import ManifestError
from reconciler.core.settings import Config
from reconciler.input import policy
from reconciler.input.config import load_config
from reconciler.plugin.registry import defaults


def _config(tmp_path: Path, settings: str = "", providers: str = "") -> Config:
    path = tmp_path / "reconciler.yaml"
    text = "apiVersion: reconciler/v1\nkind: Config\n"
    text += providers or "providers:\n  klipfolio: {type: klipfolio}\n"
    if settings:
        text += "settings:\n" + "".join(f"  {line}\n" for line in settings.splitlines())
    path.write_text(text)
    return load_config(path, defaults())


def _policy(tmp_path: Path, body: str) -> policy.Policy:
    path = tmp_path / "policy.yaml"
    path.write_text("apiVersion: reconciler/v1\nkind: Policy\n" + body)
    return policy.load(str(path))


FLOOR = """settings:
  safety: {max_delete_percent: 20, max_update_percent: 25, min_existing: 5}
  guards: {disabled: [mass-grant], admin_permissions: [admin.client], max_new_members: 10}
  protect: ["klipfolio/KlipfolioRole/Break*"]
  max_grant_days: 30
"""


def test_keys_the_workspace_omits_take_the_policys_values(tmp_path: Path) -> None:
    merged, _ = policy.effective(_config(tmp_path), _policy(tmp_path, FLOOR))
    assert (merged.safety.max_delete_percent, merged.safety.max_update_percent) == (20, 25)
    assert merged.safety.min_existing == 5
    assert merged.guards.disabled == ("mass-grant",)
    assert merged.guards.admin_permissions == frozenset({"admin.client"})
    assert merged.guards.max_new_members == 10
    assert merged.max_grant_days == 30
    assert merged.protect == ("klipfolio/KlipfolioRole/Break*",)


def test_the_workspace_may_tighten_and_its_globs_join_the_policys(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "safety: {max_delete_percent: 5, min_existing: 1}\n"
        "guards: {disabled: [], admin_permissions: [admin.client, user.manage]}\n"
        "protect: [golem/*]\nmax_grant_days: 7",
    )
    merged, _ = policy.effective(config, _policy(tmp_path, FLOOR))
    assert merged.safety.max_delete_percent == 5 and merged.safety.min_existing == 1
    assert merged.safety.max_update_percent == 25  # omitted: the policy's
    assert merged.guards.disabled == ()
    assert merged.guards.admin_permissions == frozenset({"admin.client", "user.manage"})
    assert merged.max_grant_days == 7
    assert merged.protect == ("klipfolio/KlipfolioRole/Break*", "golem/*")


def test_every_loosening_is_one_problem_at_its_key(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        "safety: {max_delete_percent: 21}\n"
        "guards: {disabled: [everyone], admin_permissions: [user.manage]}\n"
        "max_grant_days: 31",
    )
    with pytest.raises(ManifestError) as caught:
        policy.effective(config, _policy(tmp_path, FLOOR))
    found = {(p.line, p.message.split(":")[0]) for p in caught.value.problems}
    assert found == {
        (6, "settings.safety.max_delete_percent"),
        (7, "settings.guards.disabled.0"),
        (7, "settings.guards.admin_permissions"),
        (8, "settings.max_grant_days"),
    }
    assert all(p.file == config.file and "policy.yaml" in p.message for p in caught.value.problems)


def test_a_floor_the_policy_omits_is_the_built_in_default(tmp_path: Path) -> None:
    config = _config(tmp_path, "safety: {max_update_percent: 31}")
    with pytest.raises(ManifestError, match="31 is looser than the policy's 30"):
        policy.effective(config, _policy(tmp_path, "settings: {}\n"))


def test_without_a_policy_the_config_is_in_force_as_it_is(tmp_path: Path) -> None:
    config = _config(tmp_path, "safety: {max_delete_percent: 90}")
    merged, gov = policy.effective(config, None)
    assert merged == config and gov.policy is None
    assert [(s["setting"], s["value"]) for s in gov.settings] == [
        ("safety.max_delete_percent", "90")
    ]
    assert gov.settings[0]["source"].endswith("reconciler.yaml:6:32")


def test_the_governance_block_lists_what_is_looser_than_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_ALLOW_LOOPBACK", "1")
    config = _config(
        tmp_path,
        "guards: {disabled: [everyone, mass-grant], admin_permissions: [admin.client],"
        " max_new_members: 26}\nsafety: {min_existing: 11}\nmax_ignore_days: 91",
        providers="providers:\n  klipfolio: {type: klipfolio, base_url: 'http://127.0.0.1:9/api/1'}\n",
    )
    _, gov = policy.effective(config, None)
    settings = {s["setting"]: s for s in gov.settings if s["setting"] != "guards.disabled"}
    assert [s["value"] for s in gov.settings if s["setting"] == "guards.disabled"] == [
        "everyone",
        "mass-grant",
    ]
    assert settings["guards.max_new_members"]["value"] == "26"
    assert settings["safety.min_existing"]["default"] == "10"
    assert settings["max_ignore_days"]["value"] == "91"
    assert "user.manage" in settings["guards.admin_permissions"]["lacks"]
    assert [p["alias"] for p in gov.providers] == ["klipfolio"]


def test_with_no_config_the_policys_providers_are_the_providers(tmp_path: Path) -> None:
    pol = _policy(
        tmp_path,
        "providers:\n  kf-ops: {type: klipfolio, api_key_env: KLIPFOLIO_OPS_KEY}\n",
    )
    merged, gov = policy.effective(load_config(None, defaults()), pol)
    assert list(merged.providers) == ["kf-ops"]
    assert merged.providers["kf-ops"].credential_env == "KLIPFOLIO_OPS_KEY"
    assert gov.policy == {"path": pol.file, "sha256": pol.sha256}


def test_policy_hosts_and_allowable(tmp_path: Path) -> None:
    pol = _policy(
        tmp_path,
        "settings: {guards: {allowable: [everyone]}}\nproviders:\n"
        "  sf: {type: salesforce, base_url: 'https://Acme.my.salesforce.com'}\n",
    )
    assert pol.hosts == frozenset({"acme.my.salesforce.com"})
    assert pol.allowable == ("everyone",)
    assert _policy(tmp_path, "settings: {}\n").allowable == policy.guards.RULES
