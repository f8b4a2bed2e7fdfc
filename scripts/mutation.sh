#!/usr/bin/env bash
# Mutation testing (not part of every CI run): mutmut over the pure modules named in pyproject.toml's
# [tool.mutmut] (kiosk/flow/, kiosk/identity/ticket.py, nik.py, base45.py) with their fast tests only.
#
#   scripts/mutation.sh                      # every module
#   scripts/mutation.sh 'kiosk.identity.*'   # only mutants whose name matches (mutmut's globs)
#
# mutmut works on a copy of the tree (it writes mutants/ next to pyproject.toml), so the copy is made in
# a temporary folder and the working tree stays clean. Prints the killed and surviving counts, then each
# survivor's id and diff. Equivalent survivors are listed with their reason in docs/mutation.md.
# MUTATION_KEEP=1 keeps the copy (to rerun `mutmut show` or `mutmut browse` there).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mutmut="$root/.venv/bin/mutmut"
if [[ ! -x $mutmut ]]; then
  "$root/.venv/bin/pip" install -q "mutmut>=3.8"
fi

work=$(mktemp -d /tmp/kiosk-mutation.XXXXXX)
if [[ -z ${MUTATION_KEEP:-} ]]; then
  trap 'rm -rf "$work"' EXIT
fi
# the tracked and new (not ignored) files of the package and the tests, as they are in the working tree
git ls-files -co --exclude-standard -- kiosk tests pyproject.toml | tar -cf - -T - | tar -xf - -C "$work"
cd "$work"
if [[ -n ${MUTATION_TESTS:-} ]]; then
  # a quicker run: MUTATION_TESTS="tests/test_ticket.py tests/test_nik.py" replaces the test selection
  MUTATION_TESTS=$MUTATION_TESTS "$root/.venv/bin/python" - <<'EOF'
import json, os, re
from pathlib import Path
p = Path("pyproject.toml")
tests = json.dumps(os.environ["MUTATION_TESTS"].split())
text = re.sub(r"pytest_add_cli_args_test_selection = \[[^\]]*\]", lambda m: f"pytest_add_cli_args_test_selection = {tests}", p.read_text())
p.write_text(text)
EOF
fi

# the tests' external data stays beside the real tree (tests/conftest.py looks for ../shared)
export KIOSK_SHARED=${KIOSK_SHARED:-$(cd "$root/.." && pwd)/shared}
# the property tests run once per mutant: fewer examples each (the suite's own run uses 400)
export FLOW_PROPERTY_EXAMPLES=${FLOW_PROPERTY_EXAMPLES:-60}
export KIVY_NO_ARGS=1 KIVY_NO_FILELOG=1 KIVY_NO_CONSOLELOG=1 KIVY_USE_DEFAULTCONFIG=1
"$mutmut" run --max-children "${MUTATION_JOBS:-2}" "$@" >mutmut-run.log 2>&1 || {
  echo "mutmut run failed; its last lines:" >&2
  tail -n 40 mutmut-run.log >&2
  exit 1
}

"$mutmut" results --all true >results.txt
# each line reads "    <mutant name>: <status>"
filter=("$@")
selected() {
  if [[ ${#filter[@]} -eq 0 ]]; then
    cat
  else
    local name pattern line
    while IFS= read -r line; do
      name=${line%%:*}
      name=${name//[[:space:]]/}
      for pattern in "${filter[@]}"; do
        # shellcheck disable=SC2053  # the filter is a glob on purpose
        if [[ $name == $pattern ]]; then
          printf '%s\n' "$line"
          break
        fi
      done
    done
  fi
}
selected <results.txt >chosen.txt
count() { grep -c ": $1\$" chosen.txt || true; }
killed=$(count killed)
survived=$(count survived)
timeout=$(count timeout)
total=$(grep -c ': ' chosen.txt || true)
other=$((total - killed - survived - timeout))
pct=0
if [[ $total -gt 0 ]]; then
  pct=$((100 * survived / total))
fi
echo "== mutants: $total, killed $killed, timeout $timeout (killed by time), survived $survived ($pct%), other $other"
grep -v -E ": (killed|survived|timeout)\$" chosen.txt | sed 's/^/   other: /' || true
grep ": survived\$" chosen.txt | while IFS= read -r line; do
  name=${line%%:*}
  name=${name//[[:space:]]/}
  echo
  echo "== survived: $name"
  "$mutmut" show "$name" | sed -n '/^---/,$p'
done
if [[ -n ${MUTATION_KEEP:-} ]]; then
  echo "(copy kept in $work)"
fi
