/** The master key the "all" configuration requires; the load generator always sends it. */
export const BENCH_MASTER_KEY = "sk-bench-master-key-0123456789";
