// Every page of the demo, for every role: found by following the links a user can follow, opened
// in Chromium and checked by axe-core (no serious or critical violation), and its HTML as the
// server sent it checked by the Nu HTML Checker (no error).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PASSWORD, slug } from './ui.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

// Who logs in, and where each starts. Pages reached only through a POST (form errors) are
// checked from the flows run without JavaScript.
const ROLES = [
  { name: 'anonymous', user: null, start: ['/login', '/customers/999999999'] },
  { name: 'operator', user: 'operator', start: ['/dashboard'] },
  { name: 'reseller-owner', user: 'owner@northwind.example', start: ['/dashboard'] },
  { name: 'reseller-admin', user: 'admin@northwind.example', start: ['/dashboard', '/customers/999999999', '/account/password'] },
  { name: 'customer-user', user: 'contoso-portal', start: ['/portal', '/dashboard'] },
];
const MAX_PAGES_PER_ROLE = 150;
const BLOCKING = new Set(['serious', 'critical']);

/** One page per route shape: ids become ":id" and only the names of query parameters count. */
function shapeOf(url) {
  const path = url.pathname.split('/').map((s) => (/^\d+$/.test(s) ? ':id' : s)).join('/');
  const keys = [...new Set(url.searchParams.keys())].sort().join('&');
  return keys ? `${path}?${keys}` : path;
}

function followable(url, base) {
  if (url.origin !== base) return false;
  if (/^\/(static|api)\//.test(url.pathname) || url.pathname === '/logout' || url.pathname === '/healthz') return false;
  if (url.pathname.endsWith('.csv') || url.pathname.endsWith('.json') || url.searchParams.get('format') === 'csv') return false;
  return true;
}

async function login(page, base, user) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username', { exact: true }).fill(user);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((u) => u.pathname !== '/login');
}

async function crawlRole(browser, base, role, htmlDir, pages) {
  // bypassCSP lets axe's script in; the flows run with the real policy.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`script error: ${e.message}`));
  if (role.user) await login(page, base, role.user);
  const seen = new Set();
  const queue = role.start.map((p) => new URL(p, base));
  let visited = 0;
  while (queue.length && visited < MAX_PAGES_PER_ROLE) {
    const url = queue.shift();
    const shape = shapeOf(url);
    if (seen.has(shape)) continue;
    seen.add(shape);
    const response = await page.goto(url.href);
    if (!response || !(response.headers()['content-type'] ?? '').startsWith('text/html')) continue;
    visited += 1;
    const file = join(htmlDir, `${role.name}--${slug(url.pathname + url.search) || 'root'}.html`);
    writeFileSync(file, await response.text());
    await page.addScriptTag({ path: AXE });
    const axe = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
    // A 1280-pixel laptop screen shows the page without scrolling sideways.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    // Text cut short by an ellipsis carries its whole value in a tooltip.
    const cut = await page.$$eval('*', (els) => els
      .filter((e) => getComputedStyle(e).textOverflow === 'ellipsis' && e.scrollWidth > e.clientWidth)
      .filter((e) => !e.title && !e.querySelector('[title]') && !e.closest('[title]'))
      .map((e) => e.textContent.trim().slice(0, 40)));
    const record = { role: role.name, url: url.pathname + url.search, status: response.status(), file, axe: axe.violations, overflow, cut };
    pages.push(record);
    const links = await page.$$eval('a[href]', (as) => as.map((a) => a.href));
    for (const href of links) {
      const next = new URL(href);
      next.hash = '';
      if (followable(next, base) && !seen.has(shapeOf(next))) queue.push(next);
    }
  }
  await context.close();
  return problems.map((p) => `${role.name}: ${p}`);
}

function runVnu(vnuJar, dirs, fileToPage) {
  const files = dirs.filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.html')).map((f) => join(d, f)));
  const r = spawnSync('java', ['-jar', vnuJar, '--errors-only', '--format', 'json', '--exit-zero-always', ...files], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error || r.status !== 0) {
    throw new Error(`the Nu HTML Checker did not run (java -jar ${vnuJar}): ${r.error?.message ?? r.stderr}`);
  }
  const report = JSON.parse(r.stderr || r.stdout);
  return { checked: files.length, errors: report.messages.filter((m) => m.type === 'error' || m.subType === 'fatal').map((m) => ({
    page: fileToPage.get(decodeURIComponent(new URL(m.url).pathname)) ?? decodeURIComponent(new URL(m.url).pathname),
    line: m.lastLine,
    message: m.message,
    extract: (m.extract ?? '').replace(/\s+/g, ' ').trim(),
  })) };
}

export async function runChecks(browser, base, { outDir, flowHtmlDir, vnuJar }) {
  const htmlDir = join(outDir, 'e2e-html', 'pages');
  rmSync(htmlDir, { recursive: true, force: true });
  mkdirSync(htmlDir, { recursive: true });
  const pages = [];
  const problems = [];
  for (const role of ROLES) problems.push(...(await crawlRole(browser, base, role, htmlDir, pages)));

  let failures = 0;
  console.log(`\naccessibility (axe-core) on ${pages.length} pages:`);
  for (const p of pages) {
    const blocking = p.axe.filter((v) => BLOCKING.has(v.impact));
    if (!blocking.length) continue;
    failures += blocking.length;
    console.log(`FAIL ${p.role} ${p.url}`);
    for (const v of blocking) {
      console.log(`       ${v.impact} ${v.id}: ${v.help} (${v.nodes.length}×, e.g. ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(' | ')})`);
    }
  }
  const minor = pages.flatMap((p) => p.axe.filter((v) => !BLOCKING.has(v.impact)).map((v) => v.id));
  console.log(`  ${pages.length - pages.filter((p) => p.axe.some((v) => BLOCKING.has(v.impact))).length}/${pages.length} pages without serious or critical violations` +
    (minor.length ? `; minor or moderate findings (not failing): ${[...new Set(minor)].join(', ')}` : ''));
  for (const p of problems) { console.log(`FAIL ${p}`); failures += 1; }

  const wide = pages.filter((p) => p.overflow > 0);
  console.log(`\nlayout at 1280×720: ${pages.length - wide.length}/${pages.length} pages fit the width; ${pages.filter((p) => !p.cut.length).length}/${pages.length} show cut-short text in full in a tooltip`);
  for (const p of wide) {
    console.log(`FAIL ${p.role} ${p.url}: ${p.overflow} px wider than the window`);
    failures += 1;
  }

  for (const p of pages.filter((p) => p.cut.length)) {
    console.log(`FAIL ${p.role} ${p.url}: text cut short without a tooltip: ${p.cut.join('; ')}`);
    failures += 1;
  }

  const fileToPage = new Map(pages.map((p) => [p.file, `${p.role} ${p.url}`]));
  const vnu = runVnu(vnuJar, [htmlDir, ...(flowHtmlDir ? [flowHtmlDir] : [])], fileToPage);
  console.log(`\nHTML (Nu HTML Checker) on ${vnu.checked} documents: ${vnu.errors.length} error(s)`);
  for (const e of vnu.errors) console.log(`FAIL ${e.page}:${e.line}: ${e.message}\n       ${e.extract}`);
  failures += vnu.errors.length;

  writeFileSync(join(outDir, 'e2e-checks.json'), JSON.stringify({ pages: pages.map(({ role, url, status, axe, overflow }) => ({ role, url, status, overflow, axe: axe.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => ({ target: n.target, summary: n.failureSummary })) })) })), html: vnu.errors }, null, 2));
  console.log(`pages checked per role: ${ROLES.map((r) => `${r.name} ${pages.filter((p) => p.role === r.name).length}`).join(', ')}`);
  return failures;
}
