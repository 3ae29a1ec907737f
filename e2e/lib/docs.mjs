// The README's screenshots: the main pages at 1280×800, as the reseller admin and the customer user.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PASSWORD } from './ui.mjs';

const SHOTS = [
  { user: 'admin@northwind.example', file: 'dashboard.png', path: '/dashboard/expiring' },
  { user: 'admin@northwind.example', file: 'exceeding.png', path: '/dashboard/exceeding' },
  { user: 'admin@northwind.example', file: 'customers.png', path: '/customers' },
  { user: 'admin@northwind.example', file: 'customer-summary.png', customer: 'Contoso', tab: '' },
  { user: 'admin@northwind.example', file: 'customer-sla.png', customer: 'Contoso', tab: '/sla' },
  { user: 'admin@northwind.example', file: 'space.png', path: '/space' },
  { user: 'contoso-portal', file: 'portal.png', path: '/portal' },
];

export async function takeDocsScreenshots(browser, base, dir) {
  mkdirSync(dir, { recursive: true });
  for (const shot of SHOTS) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    await page.getByLabel('Username', { exact: true }).fill(shot.user);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL((u) => u.pathname !== '/login');
    let path = shot.path;
    if (shot.customer) {
      await page.goto(`${base}/customers?q=${encodeURIComponent(shot.customer)}`);
      const href = await page.locator('main table').getByRole('link', { name: shot.customer, exact: true }).first().getAttribute('href');
      path = href + shot.tab;
    }
    await page.goto(base + path);
    await page.screenshot({ path: join(dir, shot.file) });
    console.log(`docs/screenshots/${shot.file}: ${path}`);
    await context.close();
  }
}
