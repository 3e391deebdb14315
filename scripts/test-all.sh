#!/usr/bin/env bash
# Every test: the TypeScript typecheck, vitest (unit and integration tests against a real
# redis-server, sshd and the Python trainer), then pytest in the trainer's venv.
# Fails when any step fails, and also when a test runner ran no test at all.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
report_dir="$(mktemp -d)"
trap 'rm -rf "$report_dir"' EXIT

echo "== typecheck"
npx tsc --noEmit -p .

echo "== vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report_dir/vitest.json"
node -e '
  const report = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  if (!(report.numTotalTests > 0)) { console.error("vitest ran no tests"); process.exit(1); }
  console.log(`vitest: ${report.numPassedTests} of ${report.numTotalTests} tests passed`);
' "$report_dir/vitest.json"

echo "== pytest"
bash scripts/test-python.sh
