// graphile-worker draining no-op jobs, the peer of `siyu bench journeys`.
//
// Usage: node graphile.mjs <postgres-url> <jobs> <batch> <warm>
// Adds `warm` jobs and drains them with one runner (warm-up), then adds `jobs` jobs (not timed) and times a
// new runner from `run()` until every job is completed and gone from the queue. The runner fetches `batch`
// jobs at a time into its local queue, runs `batch` at once and batches their completions
// (completeJobBatchDelay 0): the same batch size as siyu's claims. Prints one JSON line.

import { makeWorkerUtils, run } from "graphile-worker";
import { createRequire } from "node:module";

const [url, jobsArg, batchArg, warmArg] = process.argv.slice(2);
const jobs = Number(jobsArg);
const batch = Number(batchArg);
const warm = Number(warmArg);
const version = createRequire(import.meta.url)("graphile-worker/package.json").version;

const utils = await makeWorkerUtils({ connectionString: url });
await utils.migrate();

async function add(n) {
  for (let i = 0; i < n; i += 1000) {
    const spec = Array.from({ length: Math.min(1000, n - i) }, () => ({ identifier: "noop", payload: {} }));
    await utils.addJobs(spec);
  }
}

async function remaining() {
  const { rows } = await utils.withPgClient((c) => c.query("SELECT count(*)::int AS n FROM graphile_worker.jobs"));
  return rows[0].n;
}

/** Starts a runner and resolves with the seconds it took until `n` jobs ran and the queue is empty. */
async function drain(n) {
  let done = 0;
  let finish;
  const ran = new Promise((resolve) => (finish = resolve));
  const started = process.hrtime.bigint();
  const runner = await run({
    connectionString: url,
    concurrency: batch,
    noHandleSignals: true,
    pollInterval: 1000,
    logger: undefined,
    preset: { worker: { localQueue: { size: batch }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } },
    taskList: {
      noop: async () => {
        done += 1;
        if (done === n) finish();
      },
    },
  });
  await ran;
  while ((await remaining()) > 0) {
    await new Promise((r) => setTimeout(r, 2));
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await runner.stop();
  return seconds;
}

await add(warm);
await drain(warm);
await add(jobs);
const seconds = await drain(jobs);
await utils.release();
console.log(JSON.stringify({ name: "graphile-worker", version, jobs, batch, seconds, rate: jobs / seconds }));
