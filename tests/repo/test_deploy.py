"""Dockerfile (linted statically: no engine here) and examples/deploy/kubernetes/ (validated
against the Kubernetes JSON schemas, offline, with kubernetes-validate from the dev extra)."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import reconciler

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
LOCK = ROOT / ".github" / "reconciler-action" / "requirements.lock"
KUBE = ROOT / "examples" / "deploy" / "kubernetes"
EXAMPLE_CONFIG = ROOT / "examples" / "reconciler.yaml"
# The oldest Kubernetes release the manifests promise to fit (CronJob timeZone: 1.27+).
KUBERNETES_VERSION = "1.29.0"


@pytest.fixture(scope="module")
def kv() -> ModuleType:
    """kubernetes-validate (dev extra). Missing is a failure, never a skip."""
    try:
        import kubernetes_validate
    except ImportError:
        pytest.fail("kubernetes-validate is not installed: pip install -e '.[dev]'")
    return kubernetes_validate


def kube_docs() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(KUBE.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                docs.append((path.name, doc))
    return docs


def by_kind(kind: str) -> dict[str, Any]:
    found = [doc for _, doc in kube_docs() if doc["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def credential_envs() -> set[str]:
    config = yaml.safe_load(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    return {v for p in config["providers"].values() for k, v in p.items() if k.endswith("_env")}


# --- Kubernetes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "doc"),
    [d for d in kube_docs() if d[1]["kind"] != "Kustomization"],
    ids=lambda x: x if isinstance(x, str) else x["kind"],
)
def test_manifest_matches_the_kubernetes_schema(kv: ModuleType, name: str, doc: dict) -> None:
    kv.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest(kv: ModuleType) -> None:
    """Guards against a validator that passes everything (e.g. a missing schema)."""
    bad = copy.deepcopy(by_kind("CronJob"))
    bad["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"secretRef": {"name": "x"}, "secretReff": {}}
    ]
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, KUBERNETES_VERSION, strict=True)
    bad = copy.deepcopy(by_kind("CronJob"))
    bad["spec"]["schedule"] = 5
    with pytest.raises(kv.ValidationError):
        kv.validate(bad, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = by_kind("Kustomization")
    files = {p.name for p in KUBE.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    namespaces = {
        doc["metadata"].get("namespace") for _, doc in kube_docs() if doc["kind"] != "Kustomization"
    }
    namespaces -= {None}
    assert namespaces == {kustomization["namespace"]}


def test_cronjob_runs_nightly_drift_locked_down() -> None:
    cron = by_kind("CronJob")
    assert re.fullmatch(r"\d+ \d+ \* \* \*", cron["spec"]["schedule"])
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    job = cron["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0, "drift is not retried: a failed Job is the signal"
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    [container] = pod["containers"]
    assert container["args"][0] == "drift"
    image, _, tag = container["image"].rpartition(":")
    assert image.endswith("/saas-reconciler") and tag == reconciler.__version__
    sc = container["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(container["resources"])
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    # Credentials from the Secret; the manifests from the clone, read-only, where args point.
    [source] = container["envFrom"]
    assert source["secretRef"]["name"] == by_kind("Secret")["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    [clone] = pod["initContainers"]
    clone_mounts = {m["mountPath"]: m for m in clone["volumeMounts"]}
    repo_mount = next(m for m in mounts.values() if container["args"][1].startswith(m["mountPath"]))
    assert repo_mount["readOnly"] is True
    assert clone_mounts[repo_mount["mountPath"]]["name"] == repo_mount["name"]
    assert "emptyDir" in volumes[repo_mount["name"]], "a fresh clone each run, no ConfigMap"
    assert not [v for v in volumes.values() if "configMap" in v], "a ConfigMap drops folders"
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]], "a writable /tmp on a read-only root"
    # The pod's user is the image's.
    uid = pod["securityContext"]["runAsUser"]
    assert f"USER {uid}:" in DOCKERFILE.read_text(encoding="utf-8")


def test_secret_example_is_fake_and_names_the_config_variables() -> None:
    secret = by_kind("Secret")
    assert set(secret["stringData"]) == credential_envs()
    for value in secret["stringData"].values():
        assert value.startswith("FAKE-"), "placeholders only"
    assert "EXAMPLE ONLY" in (KUBE / "secret.yaml").read_text(encoding="utf-8")


def git_sync_flags(container: dict[str, Any]) -> dict[str, str]:
    flags = {}
    for arg in container["args"]:
        name, _, value = arg.partition("=")
        assert name.startswith("--"), arg
        flags[name[2:]] = value
    return flags


def test_cronjob_clones_the_access_repository_with_git_sync_once() -> None:
    pod = by_kind("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [clone] = pod["initContainers"]
    image, _, tag = clone["image"].rpartition(":")
    assert image == "registry.k8s.io/git-sync/git-sync"
    assert re.fullmatch(r"v4\.\d+\.\d+", tag), "a pinned git-sync v4 release"
    flags = git_sync_flags(clone)
    assert "one-time" in flags, "an init container must exit after one sync"
    assert flags["repo"].startswith("https://") and flags["ref"] and flags["depth"] == "1"
    sc = clone["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    # drift reads the link git-sync makes, at the access/ folder the templates use.
    [container] = pod["containers"]
    mount = {m["name"]: m["mountPath"] for m in clone["volumeMounts"]}["repository"]
    assert flags["root"].startswith(mount + "/"), "--root a subfolder of the volume"
    assert container["args"][1] == f"{flags['root']}/{flags['link']}/access"


def test_drift_reads_a_git_sync_checkout_with_folders(tmp_path: Path) -> None:
    """What the CronJob reads: git-sync's layout (the link --link names, pointing at a
    worktree under --root), with the manifests in folders, as an access repository has
    them (a ConfigMap copy would have dropped every folder: the validate below would
    then find no manifests)."""
    pod = by_kind("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [clone] = pod["initContainers"]
    [container] = pod["containers"]
    flags = git_sync_flags(clone)
    mount = {m["name"]: m["mountPath"] for m in clone["volumeMounts"]}["repository"]
    root = tmp_path / "volume" / Path(flags["root"]).relative_to(mount)
    worktree = root / ".worktrees" / ("0" * 40)
    access = worktree / "access"
    # The repository's example workspace, folders and all (its deploy recipes aside).
    shutil.copytree(
        ROOT / "examples",
        access,
        ignore=shutil.ignore_patterns("deploy", "github-workflows", "sandbox-state.yaml"),
    )
    (root / flags["link"]).symlink_to(Path(".worktrees") / ("0" * 40))
    path = tmp_path / "volume" / Path(container["args"][1]).relative_to(mount)
    assert [p for p in access.iterdir() if p.is_dir()], "folders, as a repository has them"
    env = {e["name"]: e["value"] for e in container["env"]}
    res = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(path), "--no-color"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    assert res.returncode == 0, res.stdout + res.stderr
    count = re.search(r"Valid: (\d+) objects?", res.stdout)
    assert count and int(count.group(1)) > 5, res.stdout


# --- Dockerfile ---------------------------------------------------------------------------


def instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_base_images_are_slim_and_pinned() -> None:
    froms = [rest for word, rest in instructions() if word == "FROM"]
    assert froms
    for rest in froms:
        image = rest.split()[0]
        m = re.fullmatch(r"python:(3\.11\.\d+)-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image)
        assert m, f"base image {image!r}: python 3.11 slim, pinned to a patch release"
        assert "latest" not in image


def test_dockerfile_runs_as_non_root_with_the_cli_as_entrypoint() -> None:
    ins = instructions()
    users = [rest for word, rest in ins if word == "USER"]
    assert users, "no USER: the image would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0") and int(user) >= 1000
    last_from = max(i for i, (word, _) in enumerate(ins) if word == "FROM")
    assert any(word == "USER" for word, _ in ins[last_from:]), "USER in the final stage"
    assert ("ENTRYPOINT", '["reconciler"]') in ins


def test_dockerfile_installs_hash_pinned_dependencies() -> None:
    """The image's dependencies are the action's (tests/repo/test_action_install.py checks
    the lock against pyproject), each file checked against its hash."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "PIP_CONSTRAINT" not in text and "constraints.txt" not in text
    assert not (ROOT / "examples" / "deploy" / "constraints.txt").exists()
    runs = [rest for word, rest in instructions() if word == "RUN"]
    lock = str(LOCK.relative_to(ROOT))
    fetching = [r for r in runs if "pip wheel" in r and "--no-index" not in r.split("&&")[0]]
    assert fetching and all("--require-hashes" in r and lock in r for r in fetching)
    assert any("--no-build-isolation" in r and "--no-index" in r for r in runs)
    for rest in runs:
        if "pip install" in rest:
            for part in rest.split("&&"):
                if "pip install" in part:
                    assert "--no-index" in part, "installs only the built wheels"
    assert "docker build" in text and "docker run" in text, "build and run are documented"


def test_dockerignore_keeps_the_context_to_what_the_build_needs() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allowlist: secrets, .git, .venv never reach the context"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {"pyproject.toml", "reconciler", str(LOCK.relative_to(ROOT))}
    needed.add(project["readme"])
    needed.update(project.get("license-files", []))
    assert needed <= allowed
    for path in needed:
        assert (ROOT / path).exists(), path
