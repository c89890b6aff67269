// pg-boss draining no-op jobs, the peer of `siyu bench journeys`.
//
// Usage: node pgboss.mjs <postgres-url> <jobs> <batch> <warm>
// Adds `warm` jobs and drains them (warm-up), then inserts `jobs` jobs (not timed) and times one consumer
// fetching `batch` jobs at a time and completing them together, until the queue is empty. This is pg-boss's
// fastest single consumer: `work()` polls at most every 0.5 s between batches, which would cap it at
// 2 batches a second. Prints one JSON line.

import PgBoss from "pg-boss";
import { createRequire } from "node:module";

const [url, jobsArg, batchArg, warmArg] = process.argv.slice(2);
const jobs = Number(jobsArg);
const batch = Number(batchArg);
const warm = Number(warmArg);
const version = createRequire(import.meta.url)("pg-boss/package.json").version;
const queue = "noop";

const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
boss.on("error", (e) => console.error(e));
await boss.start();
await boss.createQueue(queue);

async function add(n) {
  for (let i = 0; i < n; i += 1000) {
    await boss.insert(Array.from({ length: Math.min(1000, n - i) }, () => ({ name: queue, data: {} })));
  }
}

/** Fetches and completes until the queue is empty; resolves with the seconds it took. */
async function drain(n) {
  let done = 0;
  const started = process.hrtime.bigint();
  for (;;) {
    const got = await boss.fetch(queue, { batchSize: batch });
    if (!got || got.length === 0) break;
    await boss.complete(queue, got.map((j) => j.id));
    done += got.length;
  }
  if (done !== n) throw new Error(`pg-boss drained ${done} jobs, expected ${n}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

await add(warm);
await drain(warm);
await add(jobs);
const seconds = await drain(jobs);
await boss.stop({ graceful: false, wait: false });
console.log(JSON.stringify({ name: "pg-boss", version, jobs, batch, seconds, rate: jobs / seconds }));
process.exit(0);
