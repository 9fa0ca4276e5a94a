/**
 * Micro-benchmark: process CPU per spend row of a batch write (`writeSpend`), by batch size, and the
 * fixed CPU of one batch (a one-row batch). With PGlite every part of it — the JSON text, PostgreSQL's
 * parse, plan, insert, indexes and WAL in WebAssembly, PGlite's in-memory file system — is the
 * gateway's own CPU; with PostgreSQL only the client's side is (JSON text, pg's protocol work).
 *
 *   npx turbo run build --filter=@llmux/control
 *   node packages/control/micro/spend-batch.mjs [pglite|pg] [batch sizes, default 1,100,700,5000] [rows per size, default 35000]
 *
 * A/B of two builds in one process (interleaved rounds, medians; the machine's noise hits both):
 *   CONTROL_DIST_B=/path/to/other/dist/index.js node packages/control/micro/spend-batch.mjs pglite 700
 * (CONTROL_DIST_A replaces this checkout's build as A.)
 *
 * PostgreSQL: BENCH_CONTROL_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); fresh
 * databases, dropped at the end.
 */
import pg from "pg";

const storeKind = process.argv[2] ?? "pglite";
const sizes = (process.argv[3] ?? "1,100,700,5000").split(",").map(Number);
const rowsPerSize = Number(process.argv[4] ?? 35_000);
const adminUrl = process.env.BENCH_CONTROL_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const builds = [process.env.CONTROL_DIST_A ?? new URL("../dist/index.js", import.meta.url).href];
if (process.env.CONTROL_DIST_B) builds.push(process.env.CONTROL_DIST_B);

async function createDatabase() {
  const name = `llmux_micro_${process.pid}_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

const KEY = "5f1e0c8b3a2d4e6f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f";
const T0 = Date.now();
let sequence = 0;
/** A row as the enforcer makes one for the bench's virtual key (no user, no team). */
const row = () => [
  `chatcmpl-${process.pid}-${sequence++}-0123456789abcdef`,
  "chat",
  KEY,
  "bench",
  null,
  null,
  null,
  "gpt-4o-mini",
  "gpt-4o-mini",
  "gpt-4o-mini-0",
  "openai",
  20,
  12,
  32,
  0,
  0,
  0.000017,
  "success",
  6,
  T0,
  T0 + 6,
  null,
  [],
  {},
];

const stores = [];
for (const build of builds) {
  const { openStore } = await import(build);
  const database = storeKind === "pg" ? await createDatabase() : undefined;
  const store = await openStore(database ? { databaseUrl: database.url } : { dataDir: "memory://" });
  await store.insert("key", { token: KEY, key_name: "sk-...cdef", max_budget: 1e9 });
  await store.writeSpend({ rows: Array.from({ length: 100 }, row) });
  stores.push({ build, store, database });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const size of sizes) {
  const results = stores.map(() => []);
  const rounds = 6;
  const perRound = Math.max(size, Math.round(rowsPerSize / rounds));
  for (let round = 0; round < rounds; round++) {
    const order =
      round % 2 === 0 ? stores.map((_, index) => index) : stores.map((_, index) => index).reverse();
    for (const index of order) {
      const cpu = process.cpuUsage();
      let rows = 0;
      while (rows < perRound) {
        await stores[index].store.writeSpend({ rows: Array.from({ length: size }, row) });
        rows += size;
      }
      const used = process.cpuUsage(cpu);
      results[index].push((used.user + used.system) / rows);
    }
  }
  const text = stores
    .map(
      (_entry, index) =>
        `${builds.length > 1 ? `${index === 0 ? "A" : "B"} ` : ""}${median(results[index]).toFixed(1)} µs/row (batch ${((median(results[index]) * size) / 1000).toFixed(2)} ms)`,
    )
    .join(", ");
  console.log(`${storeKind} batch ${size}: ${text}`);
}
for (const { store, database } of stores) {
  await store.close();
  await database?.drop();
}
