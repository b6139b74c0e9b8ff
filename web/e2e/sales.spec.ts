import { test, expect, type Page } from '@playwright/test';
import { USERS, expectAccessible, login, logout, screenshot, unique } from './support';

async function moveCard(page: Page, title: string, to: string): Promise<void> {
  const card = page.getByTestId('lead-card').filter({ hasText: title });
  await card.getByRole('button', { name: `Move “${title}”` }).click();
  await page.getByRole('menuitem', { name: to, exact: true }).click();
  await expect(page.getByTestId(`column-${to.toLowerCase()}`).getByText(title)).toBeVisible();
}

test.describe.configure({ mode: 'serial' });

let leadTitle = '';
let orderReference = '';

test('a partner creates a lead, moves it to won on the kanban and converts it', async ({ page }) => {
  leadTitle = unique('Backup for Dupont');
  await login(page, USERS.partner);
  await expect(page.getByRole('heading', { name: 'Leads' })).toBeVisible();
  await expectAccessible(page, 'leads');
  await page.getByRole('link', { name: 'New lead' }).click();
  // The API's field errors come back where they belong.
  await page.getByLabel('Title').fill(leadTitle);
  await page.getByLabel('Organisation').fill('Dupont SA');
  await page.getByLabel('Contact name').fill('Jean Dupont');
  await page.getByLabel('Contact email').fill('jean@dupont.example');
  await page.getByLabel('Value').fill('12000.00');
  await page.getByLabel('Probability (%)').fill('40');
  await page.getByRole('button', { name: 'Create lead' }).click();
  await expect(page.getByRole('heading', { name: leadTitle })).toBeVisible();
  await expect(page.getByTestId('lead-state')).toHaveText('New');
  await page.getByRole('link', { name: 'Back to the board' }).click();

  await expect(page.getByTestId('column-new').getByText(leadTitle)).toBeVisible();
  for (const to of ['Contacted', 'Qualified', 'Proposal', 'Negotiation', 'Won']) {
    await moveCard(page, leadTitle, to);
  }
  // Only the allowed moves are offered: a won lead may only be converted.
  const card = page.getByTestId('lead-card').filter({ hasText: leadTitle });
  await card.getByRole('button', { name: `Move “${leadTitle}”` }).click();
  await expect(page.getByRole('menuitem')).toHaveText(['Convert to order']);
  await page.keyboard.press('Escape');

  await card.getByRole('link', { name: leadTitle }).click();
  await page.getByRole('button', { name: 'Convert to order' }).click();
  await expect(page.getByRole('link', { name: 'Open the order' })).toBeVisible({ timeout: 20_000 });
  await expect(page.getByText('Converted to order')).toBeVisible();
  await screenshot(page, 'lead-converted');
});

test('a stale move is explained in words', async ({ page, browser }) => {
  const title = unique('Race');
  await login(page, USERS.partner);
  await page.getByRole('link', { name: 'New lead' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Organisation').fill('Race Ltd');
  await page.getByLabel('Contact name').fill('R. Acer');
  await page.getByLabel('Contact email').fill('r@race.example');
  await page.getByRole('button', { name: 'Create lead' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();
  const url = page.url();
  // Someone else moves it first.
  const other = await browser.newPage();
  await login(other, USERS.partner);
  await other.goto(url);
  await other.getByRole('button', { name: 'Contacted' }).click();
  await expect(other.getByTestId('lead-state')).toHaveText('Contacted');
  await other.close();
  await page.getByRole('button', { name: 'Lost' }).click();
  // Losing asks for the reason first; the stale version is explained once it is sent.
  const dialog = page.getByRole('dialog', { name: 'Mark the lead lost' });
  await dialog.getByLabel('Reason lost').fill('No budget this year');
  await dialog.getByRole('button', { name: 'Mark lost' }).click();
  await expect(page.getByRole('dialog')).toHaveCount(0);
  await expect(page.getByRole('alert')).toContainText('Someone else changed this record');
  await page.getByRole('button', { name: 'Reload' }).click();
  await expect(page.getByTestId('lead-state')).toHaveText('Contacted');
});

test('a partner builds an order in the wizard, the created total is the previewed one, and sends it', async ({ page }) => {
  await login(page, USERS.partner);
  await page.getByRole('link', { name: 'Orders' }).click();
  await expect(page.getByRole('heading', { name: 'Orders' })).toBeVisible();
  await expectAccessible(page, 'orders');
  await page.getByRole('link', { name: 'New order' }).click();
  await page.getByLabel('Product').selectOption({ label: 'Backup Storage (TB)' });
  await page.getByLabel('Duration').selectOption({ label: '24 months (−5 %)' });
  await page.getByLabel('Quantity').fill('12');
  const total = page.getByTestId('preview-total');
  await expect(page.getByTestId('quote-tier')).toHaveCount(2);
  await expect(page.getByTestId('quote-tier').first()).toContainText('1–10');
  await expect(page.getByTestId('quote-tier').nth(1)).toContainText('11–50');
  const previewed = await total.getAttribute('data-amount');
  expect(previewed).toBeTruthy();
  await expectAccessible(page, 'order wizard');
  await page.getByRole('button', { name: 'Review' }).click();
  await page.getByRole('button', { name: 'Create order' }).click();
  await expect(page.getByRole('heading', { name: /^Order ORD-/ })).toBeVisible();
  await expect(page.getByTestId('order-total')).toHaveAttribute('data-amount', previewed!);
  orderReference = (await page.getByRole('heading', { name: /^Order ORD-/ }).innerText()).replace('Order ', '');
  await page.getByRole('button', { name: 'Send to the customer' }).click();
  await expect(page.getByTestId('order-state')).toHaveText('Sent');
  // The billing quote is asked for in the background; its reference shows up.
  await expect(page.getByTestId('billing-quote')).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('effect').filter({ hasText: 'Billing quote' })).toContainText('Done', { timeout: 30_000 });
  await screenshot(page, 'order-sent');
});

test('the fulfiller fulfils it and the contract appears for the partner', async ({ page }) => {
  await login(page, USERS.fulfiller);
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByLabel('Reference').fill(orderReference);
  await page.getByRole('link', { name: orderReference }).click();
  await page.getByRole('button', { name: 'Start fulfilment' }).click();
  await expect(page.getByTestId('order-state')).toHaveText('In fulfilment');
  await page.getByRole('button', { name: 'Mark fulfilled' }).click();
  await expect(page.getByTestId('order-state')).toHaveText('Fulfilled');
  await expect(page.getByRole('link', { name: 'Open the contract' })).toBeVisible({ timeout: 30_000 });
  await screenshot(page, 'order-fulfilled');
  await logout(page);

  await login(page, USERS.partner);
  await page.getByRole('link', { name: 'Contracts' }).click();
  await expect(page.getByRole('heading', { name: 'Contracts' })).toBeVisible();
  await expectAccessible(page, 'contracts');
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByLabel('Reference').fill(orderReference);
  await page.getByRole('link', { name: orderReference }).click();
  await page.getByRole('link', { name: 'Open the contract' }).click({ timeout: 30_000 });
  await expect(page.getByTestId('contract-state')).toHaveText('Active');
  // Managing a contract is for admins: the partner is offered nothing.
  await expect(page.getByRole('button', { name: 'Mark lost' })).toHaveCount(0);
  await screenshot(page, 'contract-for-partner');
});

test('another partner cannot see any of it', async ({ page }) => {
  await login(page, USERS.partner2);
  await expect(page.getByRole('heading', { name: 'Leads' })).toBeVisible();
  await page.getByLabel('Search').fill(leadTitle);
  await expect(page.getByTestId('column-won').getByText('No leads')).toBeVisible();
  await expect(page.getByText(leadTitle)).toHaveCount(0);
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByLabel('Reference').fill(orderReference);
  await expect(page.getByText('No orders.')).toBeVisible();
  await page.getByRole('link', { name: 'Contracts' }).click();
  await expect(page.getByText('No contracts.')).toBeVisible();
  await screenshot(page, 'other-partner');
});

test('the distributor sees its attached partner’s lead, filtered by partner', async ({ page }) => {
  await login(page, USERS.distributor);
  await page.getByLabel('Partner').selectOption({ label: 'Acme Partner' });
  await page.getByLabel('Search').fill(leadTitle);
  await expect(page.getByTestId('column-won').getByText(leadTitle)).toBeVisible();
  await page.getByLabel('Partner').selectOption({ label: 'Beta Partner' });
  await expect(page.getByTestId('column-won').getByText('No leads')).toBeVisible();
  await expectAccessible(page, 'leads (distributor, filtered)');
  await screenshot(page, 'distributor-filter');
});

test('an admin marks the contract lost', async ({ page }) => {
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Orders' }).click();
  await page.getByLabel('Reference').fill(orderReference);
  await page.getByRole('link', { name: orderReference }).click();
  await page.getByRole('link', { name: 'Open the contract' }).click({ timeout: 30_000 });
  await expect(page.getByRole('button', { name: 'Upgrade' })).toBeVisible();
  await page.getByRole('button', { name: 'Mark lost' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Mark lost' }).click();
  await expect(page.getByTestId('contract-state')).toHaveText('Lost');
  await expect(page.getByText('Marked lost: Active → Lost')).toBeVisible();
  await screenshot(page, 'contract-lost');
});
