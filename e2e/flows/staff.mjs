// Flows of a reseller admin: the dashboard tabs, revive, seat limits, customer details and edits.
export const flows = [];
const flow = (name, run) => flows.push({ name, run });

flow('the reseller admin logs in and switches the dashboard tabs', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.waitForPath(/^\/dashboard/);
  await ui.heading('Dashboard');
  await ui.see('.usermenu', 'Log out');
  // With JavaScript, htmx swaps the tabs in place: the page itself is never reloaded.
  if (ui.js) await ui.page.evaluate(() => { window.e2eSamePage = true; });
  for (const [tab, path] of [
    ['Expiring soon', '/dashboard/expiring'],
    ['Exceeding usage', '/dashboard/exceeding'],
    ['Approaching limits', '/dashboard/approaching'],
    ['Critical connectors', '/dashboard/critical'],
  ]) {
    await ui.clickLink(new RegExp(`^${tab}`), 'nav.tabs');
    await ui.waitForPath(path);
    await ui.see('.tabs [aria-current="page"]', tab);
    await ui.see('#dashboard-tabs caption', tab);
  }
  if (ui.js && !(await ui.page.evaluate(() => window.e2eSamePage === true))) {
    throw new Error('switching tabs reloaded the page: htmx did not swap the tab in place');
  }
  // Only Northwind's customers: Fabrikam's are not on its dashboard.
  await ui.clickLink(/^Expiring soon/, 'nav.tabs');
  await ui.see('#tab-table', 'Alpine Ski House');
});

flow('the reseller admin revives a customer scheduled for deletion', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink(/^Expiring soon/, 'nav.tabs');
  const row = ui.page.locator('#tab-table tr', { hasText: 'Alpine Ski House' });
  await row.getByRole('link', { name: 'Revive' }).click();
  await ui.settled('revive');
  await ui.heading('Alpine Ski House');
  await ui.clickButton('Revive customer');
  await ui.waitForPath('/dashboard/expiring');
  await ui.flash('Alpine Ski House is active again.');
  await ui.notSee('#tab-table', 'Alpine Ski House');
});

flow('the reseller admin schedules a seat limit raise from the exceeding tab', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink(/^Exceeding usage/, 'nav.tabs');
  const row = ui.page.locator('#tab-table tbody tr', { has: ui.page.getByRole('link', { name: 'Raise limit' }) }).first();
  const customer = (await row.locator('td.customer-cell').innerText()).trim();
  await row.getByRole('link', { name: 'Raise limit' }).click();
  await ui.settled('raise limit');
  await ui.heading('Seat limits');
  await ui.see('.breadcrumb', customer);
  const earliest = await ui.field('Takes effect on').getAttribute('min');
  await ui.fill('New limit', '950');
  await ui.fill('Takes effect on', earliest);
  await ui.clickButton('Schedule limit');
  await ui.flash(`of ${customer} becomes 950 on ${earliest}.`);
  await ui.see('#seat-limits', `950 from`);
  await ui.clickLink('Back to the dashboard');
  await ui.waitForPath('/dashboard/exceeding');
  await ui.see('#tab-table tr', '950');
});

flow('the reseller admin opens a customer and switches to the SLA tab', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink('Customers', 'nav.mainnav');
  await ui.heading('Customers');
  await ui.fill('Search', 'Contoso');
  await ui.clickButton('Search', 'form[role="search"]');
  await ui.clickLink('Contoso', 'table');
  await ui.heading('Contoso');
  await ui.see('.tabs [aria-current="page"]', 'Summary');
  await ui.see('main h2', 'Contacts');
  await ui.clickLink('SLA', 'nav.tabs');
  await ui.waitForPath(/^\/customers\/\d+\/sla/);
  await ui.see('.tabs [aria-current="page"]', 'SLA');
  await ui.see('main', /SLA score/i);
});

flow('the reseller admin adds a contact and deletes it', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink('Customers', 'nav.mainnav');
  await ui.clickLink('Contoso', 'table');
  await ui.clickLink('Add contact');
  await ui.heading('Add a contact');
  // An invalid email first: the form comes back with the message and what was typed.
  await ui.fill('Name', 'Dana Whitfield');
  await ui.fill('Email', 'dana-at-contoso');
  await ui.clickButton('Add contact');
  await ui.see('#email-error', /email/i);
  await ui.expect('the typed name to be kept', async () => (await ui.field('Name').inputValue()) === 'Dana Whitfield');
  await ui.fill('Email', 'dana@contoso.example');
  await ui.clickButton('Add contact');
  await ui.flash('Dana Whitfield is added.');
  await ui.see('#contacts-table', 'dana@contoso.example');
  await ui.clickLink('Delete Dana Whitfield', '#contacts-table');
  await ui.clickButton(/^Delete/, 'main form');
  await ui.flash('Dana Whitfield is deleted.');
  await ui.notSee('#contacts', 'Dana Whitfield');
});

flow('the reseller admin edits a customer, fixes a validation error and saves', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink('Customers', 'nav.mainnav');
  await ui.clickLink('Contoso', 'table');
  await ui.clickLink('Edit all settings');
  await ui.fill(/^Email/, 'not an email');
  await ui.fill(/^City/, 'Redmond');
  await ui.clickButton('Save changes');
  await ui.see('#email-error', /email/i);
  await ui.expect('the email field to be marked invalid', async () => (await ui.field(/^Email/).getAttribute('aria-invalid')) === 'true');
  await ui.expect('the typed city to be kept', async () => (await ui.field(/^City/).inputValue()) === 'Redmond');
  await ui.fill(/^Email/, 'it@contoso.example');
  await ui.clickButton('Save changes');
  await ui.flash('The settings of Contoso were saved.');
  await ui.expect('the saved email to be shown', async () => (await ui.field(/^Email/).inputValue()) === 'it@contoso.example');
  await ui.clickLink('Contoso', '.page-head');
  await ui.heading('Contoso');
  await ui.see('main', 'Redmond');
});

flow('a reseller admin does not see another reseller\'s customers', async (ui) => {
  await ui.login('admin@fabrikam.example');
  await ui.clickLink('Customers', 'nav.mainnav');
  await ui.heading('Customers');
  await ui.notSee('main table', 'Contoso');
  await ui.notSee('main table', 'Alpine Ski House');
});

flow('the dashboard works from the keyboard with a visible focus', async (ui) => {
  await ui.login('admin@northwind.example');
  const page = ui.page;
  // The first Tab lands on the skip link, which shows itself.
  await page.keyboard.press('Tab');
  await ui.expect('the skip link to be focused and on screen', async () =>
    page.evaluate(() => {
      const el = document.activeElement;
      const box = el.getBoundingClientRect();
      return el.classList.contains('skip-link') && box.left >= 0 && box.width > 0;
    }));
  // Every element reached with Tab shows where the focus is.
  const unmarked = new Set();
  for (let i = 0; i < 25; i += 1) {
    await page.keyboard.press('Tab');
    const seen = await page.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      const marked = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
      return { marked, what: `${el.tagName.toLowerCase()} ${el.textContent.trim().slice(0, 30)}` };
    });
    if (!seen.marked) unmarked.add(seen.what);
  }
  if (unmarked.size) throw new Error(`no visible focus on: ${[...unmarked].join('; ')}`);
  // A tab opens with Enter.
  await page.locator('nav.tabs a', { hasText: 'Exceeding usage' }).focus();
  await page.keyboard.press('Enter');
  await ui.waitForPath('/dashboard/exceeding');
  await ui.see('.tabs [aria-current="page"]', 'Exceeding usage');
  await ui.shot('tab opened with the keyboard');
});
