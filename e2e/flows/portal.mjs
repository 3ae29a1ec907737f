// Flows of a customer's own portal user.
export const flows = [];
const flow = (name, run) => flows.push({ name, run });

flow('the customer user logs in and sees only its own data', async (ui) => {
  await ui.login('contoso-portal');
  await ui.waitForPath('/portal');
  await ui.heading('Contoso');
  await ui.see('main', 'Data sources');
  await ui.notSee('main', 'Alpine Ski House');
  await ui.notSee('nav.mainnav', 'Customers');
  // The staff pages answer "not allowed" or "not found", never another customer's data.
  const r = await ui.goto('/dashboard');
  if (![403, 404].includes(r.status())) throw new Error(`/dashboard answered ${r.status()} to a customer user`);
  await ui.notSee('main', 'Alpine Ski House');
  await ui.goto('/portal');
  await ui.logout();
});
