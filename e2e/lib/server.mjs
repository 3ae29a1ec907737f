// Starts the real portal binary on a fresh, seeded database of its own, and stops it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

const PG = process.env.E2E_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';

function psql(sql) {
  const r = spawnSync('psql', [`${PG}/postgres`, '-Atqc', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed on "${sql}": ${r.stderr || r.error}`);
}

// Servers still running when the suite ends (a failure, the watchdog, Ctrl-C) are stopped with it.
const running = new Set();
process.on('exit', () => {
  for (const child of running) child.kill('SIGTERM');
});

async function answers(base) {
  try {
    await fetch(`${base}/healthz`);
    return true;
  } catch {
    return false;
  }
}

function withoutKeys(env, keys) {
  const copy = { ...env };
  for (const k of keys) delete copy[k];
  return copy;
}

export async function startServer(options) {
  try {
    return await startOnce(options);
  } catch (e) {
    // A server killed from outside while seeding (a busy shared machine) gets one more chance.
    if (!e.killed) throw e;
    console.log(`e2e: ${e.message}; starting it once more`);
    return startOnce(options);
  }
}

async function startOnce({ binary, database, port, logDir }) {
  if (!existsSync(binary)) {
    throw new Error(`the portal binary ${binary} is missing: run "cargo build" first (or set E2E_SERVER)`);
  }
  const base = `http://127.0.0.1:${port}`;
  if (await answers(base)) {
    throw new Error(`something already answers on ${base}: stop it or set E2E_PORT to a free port`);
  }
  // A fresh database each run: the server creates, migrates and seeds it on start.
  psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  mkdirSync(logDir, { recursive: true });
  const log = openSync(join(logDir, `server-${port}.log`), 'w');
  const child = spawn(binary, [], {
    env: {
      ...withoutKeys(process.env, ['APP_DATABASE_URL', 'PUBLIC_URL']),
      DATABASE_URL: `${PG}/${database}`,
      BIND: `127.0.0.1:${port}`,
      SEED_DEMO: 'true',
      // No engine ticks: the demo stays as seeded while the flows look at it.
      ENGINE_TICK_SECONDS: '0',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', log, log],
  });
  let exited = null;
  let signal = null;
  running.add(child);
  child.on('exit', (code, sig) => { exited = code ?? sig; signal = sig; running.delete(child); });
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited !== null) {
      const e = new Error(`the portal exited with ${exited} before answering; see ${logDir}/server-${port}.log`);
      e.killed = signal !== null;
      throw e;
    }
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`the portal did not answer on ${base} within 120 s; see ${logDir}/server-${port}.log`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    base,
    async stop() {
      if (exited === null) {
        child.kill('SIGTERM');
        await new Promise((r) => { if (exited !== null) r(); else child.on('exit', r); });
      }
      try { psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`); } catch { /* left for the next run */ }
    },
  };
}
