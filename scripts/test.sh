#!/usr/bin/env bash
# The test suite. Usage: scripts/test.sh all|unit|integration|affected BASE|deploy|faults
#   unit         **/*.test.ts except integration, e2e and deploy: no infrastructure, no set-up
#   integration  **/*.integration.test.ts and **/*.e2e.test.ts against the real stack
#   all          set-up (Node 24, npm ci, infrastructure), lint, typecheck, then every test but deploy
#   affected     lint, typecheck and the tests of the projects a change since BASE touches
#   deploy       the deploy targets for real (npm run test:deploy): the compose file on the Docker
#                engine, then the chart on a single-node Kubernetes, each torn down after its tests
#   faults       faults injected into the running platform under traffic, invariants checked after
#                each (npm run test:faults; test/faults, docs/reliability.md)
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
    | grep -v -e '\.integration\.test\.ts$' -e '\.e2e\.test\.ts$' -e '\.deploy\.test\.ts$' -e '\.faults\.test\.ts$' \
      -e '^test/fixtures/')
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
    step "typecheck"; tsc -p tsconfig.json && tsc -p apps/web/tsconfig.json
    step "dependencies (knip: none unused, none unlisted)"; knip --dependencies --no-progress
    step "tests"
    mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.test.ts' \
      | grep -v -e '^test/fixtures/' -e '\.deploy\.test\.ts$' -e '\.faults\.test\.ts$')
    run_tests "${files[@]}"
    ;;
  affected)
    # The lint, typecheck and tests of the Nx projects changed since BASE and of those depending on
    # them (scripts/affected.ts): what a pull request's workflow runs. Usage: affected BASE [HEAD]
    [ -n "${2:-}" ] || die "usage: scripts/test.sh affected BASE [HEAD]"
    setup
    mapfile -t roots < <(node scripts/affected.ts --base "$2" ${3:+--head "$3"} \
      | node -e 'for (const r of JSON.parse(require("fs").readFileSync(0, "utf8")).roots) console.log(r)')
    [ ${#roots[@]} -gt 0 ] || { say "nothing affected since $2"; exit 0; }
    say "affected: ${roots[*]}"
    bash scripts/infra.sh up
    step "lint"; bash scripts/run.sh eslint "${roots[@]}" --max-warnings=0
    step "typecheck"; tsc -p tsconfig.json && tsc -p apps/web/tsconfig.json
    step "tests"
    mapfile -t files < <(git ls-files --cached --others --exclude-standard "${roots[@]/%//*.test.ts}" \
      | grep -v -e '\.deploy\.test\.ts$' -e '\.faults\.test\.ts$')
    [ ${#files[@]} -eq 0 ] || run_tests "${files[@]}"
    ;;
  deploy)
    setup
    bash scripts/setup.sh deploy
    t0=$SECONDS
    step "deploy: docker compose (the real compose file, stand-in images)"
    trap 'bash scripts/compose.sh down; bash scripts/cluster.sh down' EXIT
    bash scripts/compose.sh up
    run_tests test/deploy/compose.deploy.test.ts
    bash scripts/compose.sh down
    step "deploy: the chart on a single-node Kubernetes"
    bash scripts/standins/build.sh cluster
    bash scripts/cluster.sh up
    run_tests test/deploy/cluster.deploy.test.ts
    bash scripts/cluster.sh down
    trap - EXIT
    say "deploy: both targets passed in $((SECONDS - t0)) s"
    ;;
  faults)
    setup
    # Toxiproxy and vegeta: read lib.sh again so a fresh build is on PATH.
    setup faults
    bash scripts/infra.sh up
    mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.faults.test.ts')
    run_tests "${files[@]}"
    ;;
  *) die "usage: scripts/test.sh all|unit|integration|deploy|faults" ;;
esac
