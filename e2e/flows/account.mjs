// The account's own security, and the access an owner gives its admins.
import { createHmac } from 'node:crypto';

export const flows = [];
const flow = (name, run) => flows.push({ name, run });

/** The current RFC 6238 code of a base32 secret, as an authenticator app shows it. */
function totp(secret, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret.replace(/\s|=/g, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const digest = createHmac('sha1', key).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(value).padStart(6, '0');
}

flow('an admin turns on two-factor authentication and logs in with a recovery code', async (ui) => {
  await ui.login('admin@fabrikam.example');
  await ui.clickLink('Two-factor', '.usermenu');
  await ui.heading('Two-factor authentication');
  await ui.clickButton('Set up two-factor authentication');
  await ui.see('main', 'Scan this code');
  const secret = (await ui.page.locator('#totp-secret').innerText()).replace(/\s/g, '');
  await ui.fill('Six-digit code', '000000' === totp(secret) ? '111111' : '000000');
  await ui.clickButton('Turn on');
  await ui.see('#code-error', 'does not match');
  await ui.fill('Six-digit code', totp(secret));
  await ui.clickButton('Turn on');
  await ui.heading('Two-factor authentication is on');
  const recovery = (await ui.page.locator('#recovery-codes li').first().innerText()).trim();
  await ui.clickLink('I have saved them');
  await ui.logout();
  await ui.login('admin@fabrikam.example');
  await ui.waitForPath('/login/two-factor');
  await ui.fill('Code', recovery);
  await ui.clickButton('Verify');
  await ui.heading('Dashboard');
});

flow('the reseller owner makes an admin read-only, who then sees pages but no controls', async (ui) => {
  const setAccess = async (rights) => {
    await ui.clickLink('Admins', 'nav.mainnav');
    await ui.page.locator('#admins tr', { hasText: 'admin@northwind.example' }).getByRole('link', { name: 'Access' }).click();
    await ui.settled('open the access page');
    await ui.page.getByLabel(rights).check();
    await ui.clickButton('Save access');
  };
  await ui.login('owner@northwind.example');
  await setAccess(/Read-only:/);
  await ui.flash(/now has read-only access to every customer/);
  await ui.see('#admins', 'Read-only');
  const owner = ui.page;
  const context = await owner.context().browser().newContext({ javaScriptEnabled: ui.js });
  const admin = await context.newPage();
  try {
    await admin.goto(`${ui.base}/login`);
    await admin.getByLabel('Username', { exact: true }).fill('admin@northwind.example');
    await admin.getByLabel('Password', { exact: true }).fill('demo-password');
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.waitForURL((u) => u.pathname === '/dashboard');
    await ui.expect('the read-only banner', async () => (await admin.locator('.read-only-banner').innerText()).includes('Read-only access'));
    await admin.goto(`${ui.base}/customers`);
    await admin.getByRole('link', { name: 'Contoso', exact: true }).first().click();
    await admin.waitForURL((u) => /^\/customers\/\d+$/.test(u.pathname));
    await ui.expect('no visible form that changes the customer', async () => (await admin.locator('main form[method="post"]:visible').count()) === 0);
    await ui.expect('no edit link', async () => (await admin.locator('main a[href$="/edit"]:visible').count()) === 0);
  } finally {
    await context.close();
  }
  await setAccess(/Full:/);
  await ui.flash(/now has full access to every customer/);
});
