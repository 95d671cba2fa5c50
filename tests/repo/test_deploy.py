"""Dockerfile (linted statically: no engine here) and examples/deploy/kubernetes/ (validated
against the Kubernetes JSON schemas, offline, with kubernetes-validate from the dev extra)."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

import reconciler

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
CONSTRAINTS = ROOT / "examples" / "deploy" / "constraints.txt"
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
    # Credentials from the Secret; manifests from the ConfigMap, mounted where args point.
    [source] = container["envFrom"]
    assert source["secretRef"]["name"] == by_kind("Secret")["metadata"]["name"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    manifests = mounts[container["args"][1]]
    assert manifests["readOnly"] is True
    config_map = volumes[manifests["name"]]["configMap"]["name"]
    assert config_map == by_kind("ConfigMap")["metadata"]["name"]
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


def test_configmap_manifests_validate(tmp_path: Path) -> None:
    """What the CronJob would read is a valid workspace (checked by the CLI itself)."""
    data = by_kind("ConfigMap")["data"]
    [container] = by_kind("CronJob")["spec"]["jobTemplate"]["spec"]["template"]["spec"][
        "containers"
    ]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert "reconciler.yaml" in data
    for key, text in data.items():
        assert "/" not in key
        (tmp_path / key).write_text(text, encoding="utf-8")
    res = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(tmp_path), "--no-color"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **env},
    )
    assert res.returncode == 0, res.stdout + res.stderr


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


def test_dockerfile_installs_pinned_dependencies() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "PIP_CONSTRAINT=/src/examples/deploy/constraints.txt" in text
    for word, rest in instructions():
        if word == "RUN" and "pip install" in rest:
            assert "--no-index" in rest, "the final stage installs only the built wheels"
    assert "docker build" in text and "docker run" in text, "build and run are documented"


def constraints() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and re.fullmatch(r"[\w.]+", version), f"not an exact pin: {line!r}"
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


def test_constraints_pin_the_whole_dependency_tree() -> None:
    from packaging.requirements import Requirement

    pins = constraints()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [Requirement(r) for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": "", "sys_platform": "linux"}):
            continue
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen:
            continue
        seen.add(name)
        assert name in pins, f"{name} is not pinned in {CONSTRAINTS.name}"
        assert req.specifier.contains(pins[name], prereleases=True), (name, pins[name])
        try:
            todo.extend(Requirement(r) for r in metadata.requires(req.name) or [])
        except metadata.PackageNotFoundError:
            pass
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]
    for r in build["requires"]:
        req = Requirement(r)
        assert req.specifier.contains(pins[req.name.lower()]), req


def test_dockerignore_keeps_the_context_to_what_the_build_needs() -> None:
    lines = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "an allowlist: secrets, .git, .venv never reach the context"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = {"pyproject.toml", "reconciler", str(CONSTRAINTS.relative_to(ROOT))}
    needed.add(project["readme"])
    if isinstance(project.get("license"), dict) and "file" in project["license"]:
        needed.add(project["license"]["file"])
    assert needed <= allowed
    for path in needed:
        assert (ROOT / path).exists(), path
