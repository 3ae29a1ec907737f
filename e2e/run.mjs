// The browser suite: starts the real portal on fresh demo databases and drives Debian's headless
// Chromium through it.
//
//   node run.mjs                 flows with JavaScript, flows without, then the page checks
//   node run.mjs flows           flows only (both modes)      node run.mjs checks   checks only
//   node run.mjs docs            screenshots for the README (docs/screenshots/)
//
// Environment: E2E_SERVER (portal binary, default $CARGO_TARGET_DIR/debug/msp-portal), E2E_CHROMIUM
// (default /usr/bin/chromium), E2E_PORT (first of three ports, default 8090), E2E_DATABASE
// (database name prefix, default msp_portal_browser_e2e), E2E_OUT (artefacts, default ../target).
import { chromium } from 'playwright-core';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './lib/server.mjs';
import { Skip, Ui, slug } from './lib/ui.mjs';
import { runChecks } from './lib/checks.mjs';
import { takeDocsScreenshots } from './lib/docs.mjs';
import { flows as staffFlows } from './flows/staff.mjs';
import { flows as portalFlows } from './flows/portal.mjs';
import { flows as pendingFlows } from './flows/pending.mjs';
import { flows as accountFlows } from './flows/account.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const target = resolve(root, process.env.CARGO_TARGET_DIR ?? 'target');
const out = resolve(process.env.E2E_OUT ?? target);
const binary = resolve(process.env.E2E_SERVER ?? join(target, 'debug/msp-portal'));
const chromiumPath = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const firstPort = Number(process.env.E2E_PORT ?? 8090);
const dbPrefix = process.env.E2E_DATABASE ?? 'msp_portal_browser_e2e';
const FLOWS = [...staffFlows, ...portalFlows, ...pendingFlows, ...accountFlows];

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

async function launch() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`no Chromium at ${chromiumPath}: install Debian's (apt-get install -y chromium) or set E2E_CHROMIUM`);
  }
  // playwright-core gives every launch a fresh temporary --user-data-dir of its own.
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
}

async function runFlows(browser, { js, port }) {
  const mode = js ? 'with-js' : 'without-js';
  const server = await startServer({ binary, database: `${dbPrefix}_${js ? 'js' : 'nojs'}`, port, logDir: join(out, 'e2e-logs') });
  const results = [];
  try {
    for (const f of FLOWS) {
      const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(15_000);
      const page = await context.newPage();
      const ui = new Ui(page, {
        base: server.base,
        js,
        shotsDir: join(out, 'e2e-screenshots', mode, slug(f.name)),
        htmlDir: join(out, 'e2e-html', 'flows'),
      });
      const started = Date.now();
      let outcome;
      try {
        await f.run(ui);
        if (ui.problems.length) throw new Error(ui.problems.join('\n'));
        outcome = { status: 'passed' };
      } catch (e) {
        if (e instanceof Skip) {
          outcome = { status: 'skipped', reason: e.message };
        } else {
          await ui.shot('FAILED');
          outcome = { status: 'failed', reason: e.message };
        }
      }
      await context.close();
      const ms = Date.now() - started;
      results.push({ name: `[${mode}] ${f.name}`, ...outcome });
      const mark = { passed: 'ok  ', failed: 'FAIL', skipped: 'skip' }[outcome.status];
      console.log(`${mark} [${mode}] ${f.name} (${ms} ms)${outcome.reason ? `\n       ${outcome.reason.replace(/\n/g, '\n       ')}` : ''}`);
    }
  } finally {
    await server.stop();
  }
  return results;
}

async function main() {
  const what = process.argv[2] ?? 'all';
  if (!['all', 'flows', 'checks', 'docs'].includes(what)) {
    throw new Error(`unknown command "${what}": use all, flows, checks or docs`);
  }
  const browser = await launch();
  let failed = 0;
  try {
    if (what === 'docs') {
      const server = await startServer({ binary, database: `${dbPrefix}_docs`, port: firstPort, logDir: join(out, 'e2e-logs') });
      try {
        await takeDocsScreenshots(browser, server.base, join(root, 'docs/screenshots'));
      } finally {
        await server.stop();
      }
      return;
    }
    if (what === 'all' || what === 'flows') {
      rmSync(join(out, 'e2e-screenshots'), { recursive: true, force: true });
      rmSync(join(out, 'e2e-html', 'flows'), { recursive: true, force: true });
      const results = [
        ...(await runFlows(browser, { js: true, port: firstPort })),
        ...(await runFlows(browser, { js: false, port: firstPort + 1 })),
      ];
      const count = (s) => results.filter((r) => r.status === s).length;
      console.log(`\nflows: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped`);
      for (const r of results.filter((r) => r.status === 'skipped')) console.log(`  skipped: ${r.name}: ${r.reason}`);
      for (const r of results.filter((r) => r.status === 'failed')) console.log(`  FAILED: ${r.name}`);
      if (count('failed')) console.log(`screenshots of every step: ${join(out, 'e2e-screenshots')}`);
      failed += count('failed');
    }
    if (what === 'all' || what === 'checks') {
      const server = await startServer({ binary, database: `${dbPrefix}_checks`, port: firstPort + 2, logDir: join(out, 'e2e-logs') });
      try {
        failed += await runChecks(browser, server.base, {
          outDir: out,
          flowHtmlDir: what === 'all' ? join(out, 'e2e-html', 'flows') : null,
          vnuJar: join(here, 'node_modules/vnu-jar/build/dist/vnu.jar'),
        });
      } finally {
        await server.stop();
      }
    }
  } finally {
    await browser.close();
  }
  if (failed) {
    console.log(`\n${failed} failure(s)`);
    process.exitCode = 1;
  }
}

// Nothing here should take long: a hung browser or server ends the run instead of the CI job.
const WATCHDOG_MINUTES = 20;
setTimeout(() => {
  console.error(`e2e: still running after ${WATCHDOG_MINUTES} minutes: stopped`);
  process.exit(1);
}, WATCHDOG_MINUTES * 60_000).unref();
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

main().catch((e) => {
  console.error(`e2e: ${e.message}`);
  process.exitCode = 1;
});
