#!/usr/bin/env bash
# Step 1 of the reconciler action (action.yml): install the code of the action's own
# checkout (exactly the ref the workflow pinned in `uses:`) into a virtualenv of its own,
# away from the calling repository's code. Nothing is installed by name from a package
# index: the dependencies and the build backend come from requirements.lock beside this
# script, every file checked against its hash (--require-hashes); reconciler itself is
# built from the checkout with that backend, offline.
#   in:  GITHUB_ACTION_PATH (the action's checkout), RECONCILER_PYTHON (interpreter to
#        build the venv with, default python3), RUNNER_TEMP
#   out: bin=<path to the reconciler executable> in $GITHUB_OUTPUT
# Regenerate the lock (Python 3.11, Linux) after changing pyproject's dependencies:
#   pip-compile --generate-hashes --allow-unsafe --all-build-deps --strip-extras \
#     --no-emit-index-url --no-emit-find-links \
#     --output-file .github/reconciler-action/requirements.lock pyproject.toml
set -euo pipefail

src="${GITHUB_ACTION_PATH:?is not set: install.sh runs as a step of the action}"
src="$(cd "$src" && pwd -P)"
lock="$src/.github/reconciler-action/requirements.lock"
[ -f "$src/pyproject.toml" ] && [ -f "$lock" ] || {
  echo "::error title=reconciler action::$src is not a reconciler checkout (no pyproject.toml or requirements.lock)"
  exit 1
}
python="${RECONCILER_PYTHON:-python3}"
[ -n "$python" ] || python=python3
tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
# One venv per action checkout: two refs of the action in one job never share one.
key="$(printf '%s' "$src" | sha256sum | cut -c1-16)"
venv="$tmp/reconciler-action-$key"

# Never run Python from the workspace: `python -m` puts the current directory first on
# sys.path, and the workspace holds the pull request's files.
cd "$tmp"
if [ ! -x "$venv/bin/reconciler" ]; then
  rm -rf "$venv"
  "$python" -I -m venv "$venv"
  pip=("$venv/bin/python" -I -m pip --disable-pip-version-check --no-input)
  # Every dependency and setuptools, each file matching a hash of the lock, or nothing.
  "${pip[@]}" install --quiet --require-hashes --no-deps --only-binary=:all: -r "$lock"
  # The checkout, built outside itself (setuptools writes build/ and *.egg-info) with the
  # backend just installed, no index, no dependency resolution.
  build="$(mktemp -d "$tmp/reconciler-build.XXXXXX")"
  tar -C "$src" --exclude=./.git --exclude=./.venv --exclude=./build --exclude=./dist \
    -cf - . | tar -C "$build" -xf -
  "${pip[@]}" install --quiet --no-index --no-deps --no-build-isolation "$build"
  rm -rf "$build"
  "$venv/bin/python" -I -m pip check --disable-pip-version-check >/dev/null
fi
"$venv/bin/reconciler" --version
echo "bin=$venv/bin/reconciler" >>"${GITHUB_OUTPUT:-/dev/null}"
