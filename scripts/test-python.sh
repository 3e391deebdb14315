#!/usr/bin/env bash
# The trainer's tests: pytest in the trainer's venv (scripts/python-env.sh sets it up).
# Extra arguments go to pytest (`bash scripts/test-python.sh tests/test_x.py -x`).
# Fails when pytest fails, and also when it ran no test at all.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
report_dir="$(mktemp -d)"
trap 'rm -rf "$report_dir"' EXIT

python="$(bash scripts/python-env.sh)"
(cd python && "$python" -m pytest -q -p no:cacheprovider --junitxml="$report_dir/pytest.xml" "$@")
node -e '
  const xml = require("fs").readFileSync(process.argv[1], "utf8");
  const tests = Number((xml.match(/<testsuite[^>]* tests="(\d+)"/) ?? [])[1] ?? 0);
  if (!(tests > 0)) { console.error("pytest ran no tests"); process.exit(1); }
  console.log(`pytest: ${tests} tests ran`);
' "$report_dir/pytest.xml"
