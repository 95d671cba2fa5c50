"""Which files a workspace's manifests are read from."""

from __future__ import annotations

from pathlib import Path

from reconciler.input.manifest import discover

K8S = "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: drift}\n"


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_reconcilerignore_leaves_out_what_it_names_and_nothing_else(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".reconcilerignore": "# deployment files\ndeploy/\n*.draft.yaml\n",
            "roles.yaml": "x: 1\n",
            "deploy/kubernetes/cronjob.yaml": K8S,
            "deploy.yaml": "x: 1\n",
            "klipfolio/new.draft.yaml": "x: 1\n",
            ".github/workflows/ci.yml": "on: push\n",
            "reconciler.yaml": "kind: Config\n",
        },
    )
    found, problems = discover([str(tmp_path)], None)
    assert problems == []
    assert sorted(p.relative_to(tmp_path).as_posix() for p in found) == [
        "deploy.yaml",
        "roles.yaml",
    ]


def test_without_an_ignore_file_foreign_yaml_is_read_and_then_refused(tmp_path: Path) -> None:
    _tree(tmp_path, {"deploy/cronjob.yaml": K8S})
    found, _ = discover([str(tmp_path)], None)
    assert [p.name for p in found] == ["cronjob.yaml"]
