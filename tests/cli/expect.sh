# tests/cli/expect.sh — sourced by the CLI tests that assert a command's exit status and message,
# so that every such test checks and reports alike.
#   fail MESSAGE   prints "FAILED: MESSAGE" and exits 1
#   expect RC PATTERN [VAR=VALUE... --] ARGS...
#       runs "$munet" ARGS (in the environment VAR=VALUE... and ${expect_env[@]}, when given),
#       within $expect_timeout seconds (default 300), output in out.log; fails unless it exits RC
#       and its output matches the extended regex PATTERN. With $expect_no_work set to a regex,
#       it also fails when the output matches that (the command started working before refusing).
fail() { echo "FAILED: $*"; exit 1; }
expect() {
  local rc=$1 pattern=$2 envs=() a
  shift 2
  for a in "$@"; do
    if [ "$a" = -- ]; then
      while [ "$1" != -- ]; do envs+=("$1"); shift; done
      shift
      break
    fi
  done
  timeout "${expect_timeout:-300}" env ${expect_env[@]+"${expect_env[@]}"} ${envs[@]+"${envs[@]}"} \
    "$munet" "$@" > out.log 2>&1
  local got=$?
  [ "$got" = "$rc" ] || fail "munet $*: exit $got, expected $rc: $(tail -5 out.log)"
  grep -qE -- "$pattern" out.log || fail "munet $*: no '$pattern' in: $(tail -5 out.log)"
  if [ -n "${expect_no_work:-}" ] && grep -qE "$expect_no_work" out.log; then
    fail "munet $*: it started working first: $(head -2 out.log)"
  fi
  echo "ok (exit $got): munet $* -> $(grep -oE -- "$pattern.*" out.log | head -1)"
}
