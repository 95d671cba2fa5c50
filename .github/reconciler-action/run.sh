#!/usr/bin/env bash
# Step 2 of the reconciler action (action.yml): run one reconciler command, record its
# exit code exactly, publish the output (job summary; for `plan --format markdown` on a
# pull request, one upserted PR comment), then pass or fail the step:
#   0                      pass
#   2                      pass for `plan --detailed-exitcode`, `expiring
#                          --detailed-exitcode` (grants expiring soon) and `drift`
#                          (changes/drift present; the caller reads the `exitcode`
#                          output), else fail
#   1, 3, 130, anything    fail (3 is a bug in reconciler: always fails)
# Inputs come in through the environment, never through ${{ }} in the script:
#   RECONCILER_BIN (default: reconciler on PATH), RECONCILER_COMMAND, RECONCILER_PATHS,
#   RECONCILER_ARGS (shell-like words), RECONCILER_SUMMARY, RECONCILER_COMMENT,
#   RECONCILER_COMMENT_AUTHOR (the login whose comment is the plan comment, default
#   github-actions[bot]), GH_TOKEN, RECONCILER_PYTHON (default python3), and the runner's
#   GITHUB_* variables.
# Outputs (to $GITHUB_OUTPUT): exitcode, output-file.
set -uo pipefail # no -e: the tool's exit code is data, read explicitly below

MARKER='<!-- reconciler-plan -->'
bin="${RECONCILER_BIN:-reconciler}"
[ -n "$bin" ] || bin=reconciler
python="${RECONCILER_PYTHON:-python3}"
[ -n "$python" ] || python=python3
command="${RECONCILER_COMMAND:-}"
tmp="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
github_output="${GITHUB_OUTPUT:-/dev/null}"

fail() {
  echo "::error title=reconciler ${command}::$1"
  exit "${2:-1}"
}

case "$command" in
  validate | plan | apply | drift | show | export | expiring | access) ;;
  *) fail "input 'command' must be one of validate, plan, apply, drift, show, export, expiring, access" ;;
esac

# Shell-like words (quotes allowed, no expansion, no evaluation). Python runs isolated
# (-I) so that nothing in the workspace (the pull request's files) can be imported.
words() {
  "$python" -I -c 'import shlex, sys
sys.stdout.write("".join(w + "\0" for w in shlex.split(sys.argv[1])))' "$1"
}
split_file="$(mktemp "$tmp/reconciler-words.XXXXXX")"
words "${RECONCILER_PATHS:-}" >"$split_file" || fail "cannot parse input 'paths'"
mapfile -d '' -t paths <"$split_file"
words "${RECONCILER_ARGS:-}" >"$split_file" || fail "cannot parse input 'args'"
mapfile -d '' -t args <"$split_file"
rm -f "$split_file"

# A path that looks like an option (`--config=...`, a file the pull request named so) is
# passed as `./-...`: paths name files, never flags.
for ((i = 0; i < ${#paths[@]}; i++)); do
  [[ "${paths[i]}" == -* ]] && paths[i]="./${paths[i]}"
done

# A value inside a workflow command (after `::`): GitHub's escaping, so that a newline in
# an input cannot start a command of its own.
command_data() {
  local s="$1"
  s="${s//'%'/%25}"
  s="${s//$'\r'/%0D}"
  s="${s//$'\n'/%0A}"
  printf '%s' "$s"
}

format=text
allow2=false
[ "$command" = drift ] && allow2=true
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --format) format="${args[i + 1]:-}" ;;
    --format=*) format="${args[i]#--format=}" ;;
    --detailed-exitcode)
      case "$command" in plan | expiring | access) allow2=true ;; esac
      ;;
  esac
done

# Run it. stdout is copied to a file and to the log; PIPESTATUS[0] is the tool's own
# exit code, whatever tee does (a bare `reconciler ... | tee` would report tee's).
out="$(mktemp "$tmp/reconciler-${command}.XXXXXX")"
echo "::group::$(command_data "reconciler ${command} ${paths[*]} ${args[*]}")"
"$bin" "$command" "${paths[@]}" "${args[@]}" | tee "$out"
code="${PIPESTATUS[0]}"
echo "::endgroup::"
{
  echo "exitcode=$code"
  echo "output-file=$out"
} >>"$github_output"

case "$code" in
  0) meaning="success" ;;
  1) meaning="an error" ;;
  2) meaning="changes present" ;;
  3) meaning="an internal error in reconciler, a bug" ;;
  130) meaning="interrupted" ;;
  *) meaning="an unexpected exit code" ;;
esac
ok=false
if [ "$code" -eq 0 ] || { [ "$code" -eq 2 ] && [ "$allow2" = true ]; }; then ok=true; fi
has_output=false
grep -q '[^[:space:]]' "$out" && has_output=true

# Job summary.
if [ "${RECONCILER_SUMMARY:-true}" = true ] && [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    if [ "$has_output" = false ]; then
      echo "reconciler ${command}: exit ${code} (${meaning}), no output."
    elif [ "$format" = markdown ]; then
      cat "$out"
    else
      # A fence longer than any run of tildes the output holds, so that no line of it
      # (a name read from a vendor) can close the block and be read as markdown.
      fence="$("$python" -I -c 'import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
print("~" * max([8] + [len(run) + 1 for run in re.findall("~+", text)]))' "$out")" || fence='~~~~~~~~'
      echo "**reconciler ${command}**: exit ${code} (${meaning})"
      echo
      echo "${fence}text"
      cat "$out"
      echo "$fence"
    fi
    echo
  } >>"$GITHUB_STEP_SUMMARY"
fi

# One pull-request comment per PR, found again by its hidden marker and updated in place.
# Its body is the plan, or, when there is no plan to show, a short failure note (so an
# earlier plan is never left standing as if current); never empty.
pr_number() {
  [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
  "$python" -I -c 'import json, sys
event = json.load(open(sys.argv[1], encoding="utf-8"))
number = (event.get("pull_request") or {}).get("number")
print(number if isinstance(number, int) else "")' "$GITHUB_EVENT_PATH"
}

upsert_comment() {
  local pr="$1" body json ids id repo="${GITHUB_REPOSITORY:?}"
  body="$(mktemp "$tmp/reconciler-comment.XXXXXX")"
  json="$(mktemp "$tmp/reconciler-comment-json.XXXXXX")"
  {
    echo "$MARKER"
    if [ "$ok" = true ] && [ "$has_output" = true ]; then
      cat "$out"
    else
      local run_url="${GITHUB_SERVER_URL:-https://github.com}/${repo}/actions/runs/${GITHUB_RUN_ID:-}"
      echo "### reconciler plan failed"
      echo
      if [ "$has_output" = false ] && [ "$ok" = true ]; then
        echo "\`reconciler plan\` exited ${code} but printed no plan."
      else
        echo "\`reconciler plan\` exited ${code} (${meaning}); there is no plan to show."
      fi
      echo "See the [workflow run](${run_url}) for the error. Any plan shown here before no longer applies."
    fi
  } >"$body"
  # GitHub refuses comment bodies over 65,536 characters; reconciler keeps plans under
  # 60,000, this is a last guard.
  "$python" -I -c 'import json, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
if len(text) > 65000:
    text = text[:64000] + "\n\n_(truncated: the full plan is in the job summary)_\n"
json.dump({"body": text}, sys.stdout)' "$body" >"$json" || return 1
  # Only our own comment: written by the token's login, its first line exactly the marker.
  # Anyone can post a comment that starts with the marker; editing theirs would put the
  # plan under their name, or leave their text standing as the plan.
  local author="${RECONCILER_COMMENT_AUTHOR:-github-actions[bot]}"
  [[ "$author" =~ ^[A-Za-z0-9][A-Za-z0-9-]*(\[bot\])?$ ]] || {
    echo "::warning title=reconciler plan::input 'comment-author' is not a GitHub login"
    return 1
  }
  ids="$(gh api --paginate "repos/${repo}/issues/${pr}/comments?per_page=100" \
    --jq ".[] | select(.user.login == \"${author}\" and ((.body // \"\") | split(\"\\n\") | .[0] | rtrimstr(\"\\r\")) == \"${MARKER}\") | .id")" ||
    return 1
  id="${ids%%$'\n'*}"
  if [[ "$id" =~ ^[0-9]+$ ]]; then
    gh api -X PATCH "repos/${repo}/issues/comments/${id}" --input "$json" >/dev/null || return 1
    echo "updated the plan comment on #${pr}"
  else
    gh api -X POST "repos/${repo}/issues/${pr}/comments" --input "$json" >/dev/null || return 1
    echo "posted the plan comment on #${pr}"
  fi
  rm -f "$body" "$json"
}

if [ "$command" = plan ] && [ "$format" = markdown ] && [ "${RECONCILER_COMMENT:-true}" = true ]; then
  pr="$(pr_number)"
  if [ -n "$pr" ]; then
    upsert_comment "$pr" || echo "::warning title=reconciler plan::could not post the plan comment on #${pr}"
  fi
fi

# Pass or fail the step.
case "$code" in
  0) exit 0 ;;
  2)
    if [ "$allow2" = true ]; then
      if [ "$command" = drift ]; then
        echo "::warning title=reconciler drift::live state differs from the manifests (exit 2)"
      elif [ "$command" = expiring ]; then
        echo "::notice title=reconciler expiring::grants expire within the window (exit 2)"
      else
        echo "::notice title=reconciler plan::changes present (exit 2)"
      fi
      exit 0
    fi
    fail "exit 2, which only plan --detailed-exitcode, expiring --detailed-exitcode and drift may return" 2
    ;;
  1) fail "reconciler ${command} failed (exit 1); its error is in the log above" 1 ;;
  3) fail "internal error in reconciler (exit 3, a bug): add -v to args for the traceback and report it" 3 ;;
  130) fail "reconciler ${command} was interrupted (exit 130)" 130 ;;
  *) fail "reconciler ${command} exited ${code}" "$code" ;;
esac
