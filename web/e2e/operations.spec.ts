import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, screenshot, sql, unique } from './support';

test('an admin resolves a sync conflict with the two versions side by side', async ({ page }) => {
  const ext = unique('odoo-partner').replace(' ', '-');
  sql(`INSERT INTO canonical_organizations (provider, external_id, name, email, city, content_hash, local_modified_at)
       VALUES ('odoo', '${ext}', 'Dupont SA (edited here)', 'contact@dupont.example', 'Lyon', '\\x00', now())`);
  sql(`INSERT INTO sync_conflicts (provider, entity, external_id, policy, local, remote, resolution)
       VALUES ('odoo', 'organization', '${ext}', 'manual',
               '{"name": "Dupont SA (edited here)", "email": "contact@dupont.example", "city": "Lyon", "is_customer": true, "is_supplier": false}',
               '{"name": "Dupont SA", "email": "contact@dupont.example", "city": "Villeurbanne", "is_customer": true, "is_supplier": false, "content_hash": "\\\\x01"}', 'pending')`);
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Sync & data lake' }).click();
  await expect(page.getByRole('heading', { name: 'Sync & data lake' })).toBeVisible();
  await expectAccessible(page, 'sync');
  await page.getByRole('tab', { name: 'Conflicts' }).click();
  const card = page.getByTestId('conflict').filter({ hasText: ext });
  await expect(card.getByRole('row', { name: /city/ })).toContainText('Lyon');
  await expect(card.getByRole('row', { name: /city/ })).toContainText('Villeurbanne');
  await expectAccessible(page, 'sync conflicts');
  await card.getByRole('button', { name: "Apply the source's version" }).click();
  await expect(page.getByText(`The source's version of ${ext} was applied.`)).toBeVisible();
  expect(sql(`SELECT city FROM canonical_organizations WHERE external_id = '${ext}'`)).toBe('Villeurbanne');
  expect(sql(`SELECT resolution FROM sync_conflicts WHERE external_id = '${ext}'`)).toBe('source_applied');
  await page.getByRole('tab', { name: 'Lake explorer' }).click();
  await expect(page.getByRole('heading', { name: 'Health per zone' })).toBeVisible();
  await expectAccessible(page, 'lake explorer');
  await screenshot(page, 'admin-conflict-resolved');
});

test('an admin retries a dead job', async ({ page }) => {
  const key = unique('e2e-dead').replace(' ', '-');
  const id = sql(`INSERT INTO outbox (queue, payload, idempotency_key, status, attempts, max_attempts, last_error, finished_at)
                  VALUES ('noop', '{}', '${key}', 'dead', 3, 3, 'provider answered 502 Bad Gateway', now()) RETURNING id`);
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Jobs' }).click();
  await expect(page.getByRole('heading', { name: 'Jobs', exact: true })).toBeVisible();
  const row = page.getByTestId('failed-job').filter({ hasText: `#${id}` });
  await expect(row).toContainText('provider answered 502 Bad Gateway');
  await expect(row).toContainText('Dead');
  await expectAccessible(page, 'jobs');
  await row.getByRole('button', { name: `Retry job ${id}` }).click();
  await expect(page.getByText(`Job ${id} will run again.`)).toBeVisible();
  await expect.poll(() => sql(`SELECT status FROM outbox WHERE id = ${id}`), { timeout: 20_000 }).not.toBe('dead');
  await screenshot(page, 'admin-job-retried');
});

test('the dashboards and the sync screens pass axe', async ({ page }) => {
  await login(page, USERS.admin);
  await page.getByRole('link', { name: 'Dashboards' }).click();
  await expect(page.getByRole('heading', { name: 'Leads by stage (this platform)' })).toBeVisible();
  await expect(page.getByTestId('win-rate')).toBeVisible();
  await expectAccessible(page, 'dashboards');
  await screenshot(page, 'dashboards');
});
