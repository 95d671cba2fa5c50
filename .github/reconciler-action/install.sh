#!/usr/bin/env bash
# Step 1 of the reconciler action (action.yml): install a pinned saas-reconciler release
# into its own virtualenv, away from the calling repository's code.
#   in:  RECONCILER_VERSION (e.g. 0.2.0), RECONCILER_PYTHON (interpreter to build the venv)
#   out: bin=<path to the reconciler executable> in $GITHUB_OUTPUT
set -euo pipefail

version="${RECONCILER_VERSION:-}"
# An exact release only: no ranges, URLs, paths or extra pip options.
if ! [[ "$version" =~ ^[0-9]+(\.[0-9]+){1,3}((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$ ]]; then
  shown="${version//'%'/%25}"
  shown="${shown//$'\r'/%0D}"
  shown="${shown//$'\n'/%0A}"
  echo "::error title=reconciler action::input 'version' must be an exact release such as 0.2.0, got '${shown}'"
  exit 1
fi

python="${RECONCILER_PYTHON:-python3}"
venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/saas-reconciler-${version}"

# Never run Python from the workspace: `python -m` puts the current directory first on
# sys.path, and the workspace holds the pull request's files.
cd "${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
if [ ! -x "$venv/bin/reconciler" ]; then
  "$python" -I -m venv "$venv"
  "$venv/bin/python" -I -m pip install --quiet --disable-pip-version-check --no-input \
    "saas-reconciler==${version}"
fi
"$venv/bin/reconciler" --version
echo "bin=$venv/bin/reconciler" >> "$GITHUB_OUTPUT"
