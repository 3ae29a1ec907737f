// What a flow uses to act like a user: log in, click links and buttons by their visible name,
// fill labelled fields, and wait until the page shows what it should. Every page it lands on is
// screenshotted, so a failed run leaves a picture of each step.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PASSWORD = 'demo-password';
const TIMEOUT = 10_000;

/** Thrown by a flow whose page does not exist in this build: reported as skipped, not failed. */
export class Skip extends Error {}

export class Ui {
  constructor(page, { base, js, shotsDir, htmlDir }) {
    this.page = page;
    this.base = base;
    this.js = js;
    this.shotsDir = shotsDir;
    this.htmlDir = htmlDir;
    this.step = 0;
    this.problems = [];
    mkdirSync(shotsDir, { recursive: true });
    page.on('pageerror', (e) => this.problems.push(`script error: ${e.message}`));
    page.on('console', (m) => {
      // 4xx answers are part of the flows (a form error is a 422); 5xx are caught below.
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) this.problems.push(`console error: ${m.text()}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 500) this.problems.push(`${r.status()} from ${r.request().method()} ${r.url()}`);
    });
  }

  /** Opens a path the way a user types it in the address bar. */
  async goto(path) {
    const response = await this.page.goto(this.base + path);
    await this.shot(`open ${path}`);
    return response;
  }

  /** Fails the flow with a readable message unless `check` becomes true. */
  async expect(what, check) {
    const deadline = Date.now() + TIMEOUT;
    let last;
    for (;;) {
      try {
        if (await check()) return;
      } catch (e) {
        last = e;
      }
      if (Date.now() > deadline) {
        throw new Error(`expected ${what} on ${this.page.url()}${last ? ` (${last.message})` : ''}`);
      }
      await this.page.waitForTimeout(100);
    }
  }

  /** Waits until an element matching `selector` shows `text` (a string it contains, or a RegExp). */
  async see(selector, text) {
    const loc = this.page.locator(selector);
    await this.expect(`${selector} to show ${text}`, async () => {
      const texts = await loc.allInnerTexts();
      return texts.some((t) => (text instanceof RegExp ? text.test(t) : t.includes(text)));
    });
  }

  /** Waits until no element matching `selector` shows `text`. */
  async notSee(selector, text) {
    const loc = this.page.locator(selector);
    await this.expect(`${selector} not to show ${text}`, async () => {
      const texts = await loc.allInnerTexts();
      return !texts.some((t) => (text instanceof RegExp ? text.test(t) : t.includes(text)));
    });
  }

  /** The page's main heading. */
  async heading(text) {
    await this.see('main h1', text);
  }

  /** The flash message after a redirect. */
  async flash(text) {
    await this.see('.flash', text);
  }

  async waitForPath(path) {
    await this.expect(`the address to be ${path}`, async () => {
      const url = new URL(this.page.url());
      return path instanceof RegExp ? path.test(url.pathname + url.search) : url.pathname === path;
    });
  }

  /** Clicks a link by its accessible name, inside `within` (a CSS selector) if given. */
  async clickLink(name, within = 'body') {
    await this.page.locator(within).getByRole('link', { name, exact: typeof name === 'string' }).first().click();
    await this.settled(`click link ${name}`);
  }

  /** Clicks a button by its accessible name, inside `within` if given. */
  async clickButton(name, within = 'body') {
    await this.page.locator(within).getByRole('button', { name, exact: typeof name === 'string' }).first().click();
    await this.settled(`click button ${name}`);
  }

  /** The field labelled `label` (the whole label, or a RegExp when the label carries a hint). */
  field(label) {
    return this.page.getByLabel(label, { exact: typeof label === 'string' });
  }

  async fill(label, value) {
    await this.field(label).fill(String(value));
  }

  async login(username, password = PASSWORD) {
    await this.goto('/login');
    await this.fill('Username', username);
    await this.fill('Password', password);
    await this.clickButton('Log in');
    await this.expect('to leave the login page', async () => new URL(this.page.url()).pathname !== '/login');
  }

  async logout() {
    await this.clickButton('Log out');
    await this.waitForPath('/login');
    await this.flash('You have logged out.');
  }

  /** Throws Skip when `path` answers 404 for the logged-in user: that page is not built yet. */
  async skipUnlessRoute(path) {
    const r = await this.page.request.get(this.base + path, { maxRedirects: 0 });
    if (r.status() === 404) throw new Skip(`${path} answers 404: not in this build`);
  }

  /** After an action: wait for the page to load (or htmx to swap) and take its picture. */
  async settled(label) {
    await this.page.waitForLoadState('load');
    if (this.js) {
      await this.page
        .waitForFunction(() => !document.querySelector('.htmx-request'), null, { timeout: TIMEOUT })
        .catch(() => {});
    }
    await this.shot(label);
  }

  async shot(label) {
    this.step += 1;
    const name = `${String(this.step).padStart(2, '0')}-${slug(label)}`;
    await this.page.screenshot({ path: join(this.shotsDir, `${name}.png`), fullPage: true, caret: 'initial' }).catch(() => {});
    // Without JavaScript the DOM is the server's HTML: keep it for the HTML checker (form errors
    // and flashes are only reachable this way).
    if (!this.js && this.htmlDir) {
      const html = await this.page.content().catch(() => null);
      const url = new URL(this.page.url());
      if (html && url.origin === this.base) {
        mkdirSync(this.htmlDir, { recursive: true });
        writeFileSync(join(this.htmlDir, `${slug(this.shotsDir.split('/').pop())}-${name}.html`), html);
      }
    }
  }
}

export function slug(text) {
  return String(text).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}
