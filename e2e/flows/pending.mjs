// Flows for pages built in another branch (impersonation, admins, licence): each skips, reported
// as skipped, while its route answers 404 here, and runs once the page is merged.
export const flows = [];
const flow = (name, run) => flows.push({ name, run });

flow('the reseller admin logs in as a customer and exits', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink('Customers', 'nav.mainnav');
  await ui.clickLink('Contoso', 'table');
  const href = await ui.page.getByRole('link', { name: 'Log in as this customer' }).getAttribute('href');
  await ui.skipUnlessRoute(href);
  await ui.clickLink('Log in as this customer');
  if (await ui.page.getByLabel('Reason', { exact: true }).count()) {
    await ui.fill('Reason', 'Checking the backups the customer asked about');
  }
  await ui.clickButton(/^Log in as/, 'main form');
  await ui.waitForPath('/portal');
  await ui.see('.banner-impersonation', 'Contoso');
  await ui.heading('Contoso');
  await ui.notSee('main', 'Alpine Ski House');
  await ui.page.locator('form[action="/impersonation/end"] button[type="submit"]').first().click();
  await ui.settled('exit the customer');
  await ui.expect('the impersonation banner to be gone', async () => (await ui.page.locator('.banner-impersonation').count()) === 0);
  await ui.see('.usermenu', 'Log out');
  await ui.notSee('main h1', /^Contoso$/);
});

flow('the reseller owner creates an admin who can then log in', async (ui) => {
  await ui.login('owner@northwind.example');
  await ui.skipUnlessRoute('/admins');
  await ui.clickLink('Admins', 'nav.mainnav');
  await ui.clickLink('Add an admin');
  await ui.fill(/username/i, 'night-shift@northwind.example');
  await ui.fill('Name', 'Night Shift');
  await ui.page.getByLabel(/Choose one/).check();
  await ui.fill('Chosen password', 'a long night shift password');
  await ui.fill('Chosen password again', 'a long night shift password');
  await ui.clickButton('Add admin');
  await ui.flash('Night Shift can now log in as night-shift@northwind.example.');
  await ui.see('main table', 'night-shift@northwind.example');
  await ui.logout();
  await ui.login('night-shift@northwind.example', 'a long night shift password');
  await ui.heading('Dashboard');
});

flow('the reseller owner extends the MAU allowance', async (ui) => {
  await ui.login('owner@northwind.example');
  await ui.skipUnlessRoute('/license');
  await ui.clickLink('License', 'nav.mainnav');
  await ui.clickLink('Extend the allowance');
  await ui.heading('Extend the MAU allowance');
  await ui.page.locator('#offers tbody tr').first().getByRole('link', { name: 'Choose' }).click();
  await ui.settled('choose an offer');
  await ui.clickButton('Place the order', 'main form');
  await ui.flash(/the MAU allowance is now \d+/);
});
