// Flows for pages another branch is building: each skips, reported as such, while its route
// answers 404, and runs as soon as the page exists.
export const flows = [];
const flow = (name, run) => flows.push({ name, run });

flow('the reseller admin logs in as a customer and exits', async (ui) => {
  await ui.login('admin@northwind.example');
  await ui.clickLink('Customers', 'nav.mainnav');
  await ui.clickLink('Contoso', 'table');
  const href = await ui.page.getByRole('link', { name: 'Log in as this customer' }).getAttribute('href');
  await ui.skipUnlessRoute(href);
  await ui.clickLink('Log in as this customer');
  await ui.page.locator('form[action="/impersonation"] button[type="submit"]').click();
  await ui.settled('start impersonation');
  await ui.see('.banner-impersonation', 'Contoso');
  await ui.page.locator('form[action="/impersonation/end"] button[type="submit"]').first().click();
  await ui.settled('end impersonation');
  await ui.expect('the impersonation banner to be gone', async () => (await ui.page.locator('.banner-impersonation').count()) === 0);
  await ui.see('.usermenu', 'Log out');
});

flow('the reseller owner opens the admins and licence pages', async (ui) => {
  await ui.login('owner@northwind.example');
  await ui.skipUnlessRoute('/admins');
  await ui.goto('/admins');
  await ui.see('main h1', /admin/i);
  await ui.skipUnlessRoute('/license');
  await ui.goto('/license');
  await ui.see('main', /MAU|licen/i);
});
