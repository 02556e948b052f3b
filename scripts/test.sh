#!/usr/bin/env bash
# The test suite. Usage: scripts/test.sh all|unit|integration
#   unit         **/*.test.ts except integration and e2e: no infrastructure, no set-up
#   integration  **/*.integration.test.ts and **/*.e2e.test.ts against the real stack
#   all          set-up (Node 24, npm ci, infrastructure), lint, typecheck, then every test
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
mode=${1:-all}

run_tests() {
  [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ] || die "tests need Node 24, found $(node --version)"
  # --conditions=development makes workspace packages resolve to their TypeScript sources.
  node --conditions=development --test --test-reporter=spec "$@"
}

unit_tests() {
  mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.test.ts' \
    | grep -v -e '\.integration\.test\.ts$' -e '\.e2e\.test\.ts$' -e '^test/fixtures/')
  run_tests "${files[@]}"
}
infra_tests() {
  mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.integration.test.ts' '*.e2e.test.ts')
  [ ${#files[@]} -gt 0 ] || return 0
  run_tests "${files[@]}"
}

# Set-up may have just fetched Node 24: read lib.sh again so it comes first on PATH.
setup() { bash scripts/setup.sh "$@" && source scripts/lib.sh; }

case $mode in
  unit) setup node; unit_tests ;;
  integration) setup; bash scripts/infra.sh up; infra_tests ;;
  all)
    setup
    bash scripts/infra.sh up
    step "lint"; bash scripts/run.sh eslint . --max-warnings=0
    step "typecheck"; tsc -p tsconfig.json
    step "tests"
    mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.test.ts' | grep -v '^test/fixtures/')
    run_tests "${files[@]}"
    ;;
  *) die "usage: scripts/test.sh all|unit|integration" ;;
esac
