import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, screenshot, unique } from './support';

test('an admin sees the tier editor refuse a gap, in place, then saves a product', async ({ page }) => {
  const name = unique('Archive Storage');
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Products' }).click();
  await expect(page.getByRole('heading', { name: 'Products' })).toBeVisible();
  await page.getByRole('button', { name: 'New product' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  await dialog.getByLabel('Type', { exact: true }).fill('storage');
  await dialog.getByLabel('Unit', { exact: true }).fill('TB');
  await dialog.getByLabel('Tier 1 up to').fill('10');
  await dialog.getByLabel('Tier 1 price per unit').fill('5.00');
  await dialog.getByRole('button', { name: 'Add a tier' }).click();
  await dialog.getByLabel('Tier 2 from').fill('12');
  await dialog.getByLabel('Tier 2 price per unit').fill('4.00');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByLabel('Tier 2 from')).toHaveAttribute('aria-invalid', 'true');
  await expect(dialog.locator('#tier-1-min-error')).toHaveText('Leaves a gap after the previous tier: start where it ends.');
  await expectAccessible(page, 'tier editor with errors');
  await screenshot(page, 'admin-tier-errors');
  await dialog.getByLabel('Tier 2 from').fill('10');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.getByRole('cell', { name: new RegExp(name) }).first()).toBeVisible();
  await page.getByRole('button', { name: `Price history of ${name}` }).click();
  await expect(page.getByRole('dialog')).toContainText('11+');
});

test('an admin creates a user, attaches a partner to a distributor, and sees the integrations', async ({ page }) => {
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('button', { name: 'New user' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.getByLabel('Email').fill('not-an-email');
  await dialog.getByLabel('Full name').fill('Paul Partner');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(dialog.getByText('Not a valid email address.')).toBeVisible();
  const email = `${unique('paul').replace(' ', '.')}@acme.example`;
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Partner').selectOption({ label: 'Acme Partner' }).catch(async () => {
    await dialog.getByLabel('Partner').selectOption({ index: 1 });
  });
  await dialog.getByLabel('Password').fill('long-enough-1');
  await dialog.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await page.getByLabel('Search').fill(email);
  await expect(page.getByText(email)).toBeVisible();
  await page.getByRole('button', { name: 'Disable Paul Partner' }).click();
  await expect(page.getByRole('row', { name: new RegExp(email) }).getByText('Disabled')).toBeVisible();
  await expectAccessible(page, 'users');

  await page.getByRole('link', { name: 'Organisations' }).click();
  await page.getByRole('button', { name: 'Partners attached to Demo Distribution' }).click();
  const org = page.getByRole('dialog');
  await expect(org.getByRole('listitem').first()).toBeVisible();
  await expectAccessible(page, 'organisations');

  await page.keyboard.press('Escape');
  await page.getByRole('link', { name: 'Integrations' }).click();
  await expect(page.getByRole('heading', { name: 'Integrations' })).toBeVisible();
  await expectAccessible(page, 'integrations');
  await page.getByRole('button', { name: 'Configure Odoo' }).click();
  const panel = page.getByRole('dialog');
  await expect(panel.getByText('Password or API key: not set')).toBeVisible();
  await panel.getByLabel('Url *').fill('not a url');
  await panel.getByRole('button', { name: 'Save settings' }).click();
  await expect(panel.getByLabel('Url *')).toHaveAttribute('aria-invalid', 'true');
  await expectAccessible(page, 'integration form');
  await screenshot(page, 'admin-integrations');
});
