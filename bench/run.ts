// npm run bench: every benchmark suite in turn. BENCH_ROUNDS, BENCH_DURATION, BENCH_WARMUP,
// BENCH_CONNECTIONS and BENCH_MODES (pinned,unpinned) shorten or focus a run.
const suites = ['./http-kit.ts', './catalog.ts', './order.ts', './edge.ts', './web.ts']
for (const suite of suites) await import(suite)
