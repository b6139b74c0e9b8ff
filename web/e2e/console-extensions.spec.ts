import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, screenshot, sql, unique } from './support';

test('an admin edits a created order’s lines, the total follows the preview; then reassigns and deletes it', async ({ page }) => {
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByRole('link', { name: 'New order' }).click();
  await page.getByLabel('Product').selectOption({ label: 'Backup Storage (TB)' });
  await page.getByLabel('Quantity').fill('5');
  await expect(page.getByTestId('quote-tier')).toHaveCount(1);
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('button', { name: 'Create order' }).click();
  const heading = page.getByRole('heading', { name: /^Order ORD-/ });
  await expect(heading).toBeVisible();
  const reference = (await heading.innerText()).replace('Order ', '');
  const created = await page.getByTestId('order-total').getAttribute('data-amount');

  // Edit the lines: the wizard's editor, filled with the order's lines, priced live.
  await page.getByRole('link', { name: 'Edit lines' }).click();
  await expect(page.getByRole('heading', { name: `Edit the lines of ${reference}` })).toBeVisible();
  await expect(page.getByLabel('Quantity')).toHaveValue('5');
  await page.getByLabel('Quantity').fill('12');
  await expect(page.getByTestId('quote-tier')).toHaveCount(2);
  const total = page.getByTestId('preview-total');
  await expect(total).not.toHaveAttribute('data-amount', created!);
  const previewed = await total.getAttribute('data-amount');
  await expectAccessible(page, 'order line editor');
  await page.getByRole('button', { name: 'Save lines' }).click();
  await expect(heading).toBeVisible();
  await expect(page.getByTestId('order-total')).toHaveAttribute('data-amount', previewed!);
  await screenshot(page, 'admin-order-lines-edited');

  // Reassign it to a partner.
  await page.getByRole('button', { name: 'Reassign' }).click();
  const dialog = page.getByRole('dialog', { name: `Reassign ${reference}` });
  await dialog.getByLabel('Partner').selectOption({ index: 1 });
  const partner = (await dialog.getByLabel('Partner').locator('option:checked').innerText()).trim();
  await expectAccessible(page, 'reassign dialog');
  await dialog.getByRole('button', { name: 'Reassign' }).click();
  await expect(page.getByText(`${reference} was reassigned.`)).toBeVisible();
  expect(sql(`SELECT p.name FROM orders o JOIN partners p ON p.id = o.partner_id WHERE o.reference = '${reference}'`)).toBe(partner);
  await screenshot(page, 'admin-order-reassigned');

  // And delete it.
  await page.getByRole('button', { name: 'Delete order' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Delete order' }).click();
  await expect(page.getByRole('heading', { name: 'Orders' })).toBeVisible();
  expect(sql(`SELECT count(*) FROM orders WHERE reference = '${reference}'`)).toBe('0');
});

test('a partner loses a lead with a reason, and the reason shows on the lead', async ({ page }) => {
  const title = unique('Archive for Martin');
  const reason = 'Chose a competitor with on-site storage';
  await login(page, USERS.partner);
  await page.getByRole('link', { name: 'New lead' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Organisation').fill('Martin SARL');
  await page.getByLabel('Contact name').fill('Luc Martin');
  await page.getByLabel('Contact email').fill('luc@martin.example');
  await page.getByRole('button', { name: 'Create lead' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  await page.getByRole('link', { name: 'Back to the board' }).click();

  const card = page.getByTestId('lead-card').filter({ hasText: title });
  await card.getByRole('button', { name: `Move “${title}”` }).click();
  await page.getByRole('menuitem', { name: 'Lost', exact: true }).click();
  const dialog = page.getByRole('dialog', { name: 'Mark the lead lost' });
  await dialog.getByRole('button', { name: 'Mark lost' }).click();
  await expect(dialog.getByLabel('Reason lost')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.getByTestId('column-new').getByText(title)).toBeVisible();
  await expectAccessible(page, 'lost reason dialog');
  await dialog.getByLabel('Reason lost').fill(reason);
  await dialog.getByRole('button', { name: 'Mark lost' }).click();
  await expect(page.getByTestId('column-lost').getByText(title)).toBeVisible();

  await page.getByTestId('lead-card').filter({ hasText: title }).getByRole('link', { name: title }).click();
  await expect(page.getByTestId('lead-state')).toHaveText('Lost');
  await expect(page.getByText(reason)).toBeVisible();
  await screenshot(page, 'partner-lead-lost-reason');
});

test('an admin saves sync settings: a bad value is refused in place, then a good one is saved', async ({ page }) => {
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Sync & data lake' }).click();
  await page.getByRole('tab', { name: 'Settings' }).click();
  const country = page.getByLabel('Default country');
  await country.fill('ZZ');
  await page.getByLabel('Bad phone').selectOption('error');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(country).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#settings-country-error')).toHaveText('Not a known country code.');
  await expectAccessible(page, 'sync settings with errors');
  await screenshot(page, 'admin-sync-settings-error');
  await country.fill('FR');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('Settings saved.', { exact: false })).toBeVisible();
  await expect(country).toHaveAttribute('aria-invalid', 'false');
  expect(sql(`SELECT settings->>'default_country' FROM sync_settings WHERE provider = 'odoo'`)).toBe('FR');
  expect(sql(`SELECT settings->'severity'->>'bad_phone' FROM sync_settings WHERE provider = 'odoo'`)).toBe('error');
  await screenshot(page, 'admin-sync-settings-saved');
  sql(`DELETE FROM sync_settings WHERE provider = 'odoo'`);
});

test('an admin links a source owner to a partner', async ({ page }) => {
  const owner = unique('odoo-user').replace(' ', '-');
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Sync & data lake' }).click();
  await page.getByRole('tab', { name: 'Owners' }).click();
  await page.getByLabel('Owner id in the source').fill(owner);
  await page.getByLabel('Organisation').selectOption({ index: 1 });
  const partner = (await page.getByLabel('Organisation').locator('option:checked').innerText()).trim();
  await page.getByRole('button', { name: 'Link', exact: true }).click();
  await expect(page.getByText(`Owner ${owner} is linked to ${partner}.`)).toBeVisible();
  await expect(page.getByTestId('owner-link').filter({ hasText: owner })).toContainText(partner);
  await expectAccessible(page, 'owner links');
  await screenshot(page, 'admin-owner-linked');
});

test('an admin edits a canonical row from the lake explorer', async ({ page }) => {
  const ext = unique('odoo-edit').replace(' ', '-');
  sql(`INSERT INTO canonical_organizations (provider, external_id, name, email, city, content_hash)
       VALUES ('odoo', '${ext}', 'Bernard SA', 'contact@bernard.example', 'Nantes', '\\x00')`);
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Sync & data lake' }).click();
  await page.getByRole('tab', { name: 'Lake explorer' }).click();
  await page.getByRole('tab', { name: 'Canonical' }).click();
  await expect(page.getByRole('button', { name: /^Edit row / }).first()).toBeVisible();
  const edit = page.getByRole('button', { name: `Edit row ${ext}` });
  for (let i = 0; i < 20 && !(await edit.isVisible()); i++) {
    await page.getByRole('button', { name: 'Load more' }).click();
    await page.waitForTimeout(300);
  }
  await edit.click();
  const dialog = page.getByRole('dialog', { name: `Edit canonical row ${ext}` });
  await dialog.getByLabel('city', { exact: true }).fill('Rennes');
  await expectAccessible(page, 'canonical row editor');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  expect(sql(`SELECT city || ' ' || (local_modified_at IS NOT NULL) FROM canonical_organizations WHERE external_id = '${ext}'`)).toBe('Rennes true');
  await screenshot(page, 'admin-canonical-row-edited');
});
