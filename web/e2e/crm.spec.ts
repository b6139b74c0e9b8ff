import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, screenshot, sql, unique } from './support';

// The e2e API runs with the recording CRM active: an activity added in Tentabo is not
// pushed anywhere, so it stays local and keeps its "Pending push" badge.
test('a partner adds an activity to a lead and sees it listed, pending its push to the CRM', async ({ page }) => {
  const title = unique('Backup for Leroy');
  const subject = unique('Call Paul about the quote');
  await login(page, USERS.partner);
  await page.getByRole('link', { name: 'New lead' }).click();
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Organisation').fill('Leroy SAS');
  await page.getByLabel('Contact name').fill('Paul Leroy');
  await page.getByLabel('Contact email').fill('paul@leroy.example');
  await page.getByRole('button', { name: 'Create lead' }).click();
  await expect(page.getByRole('heading', { name: title })).toBeVisible();

  await expect(page.getByRole('heading', { name: 'CRM', exact: true })).toBeVisible();
  await expect(page.getByText('No activities yet.')).toBeVisible();
  const form = page.getByRole('form', { name: 'Add activity' });

  // A due time without a date is refused in place, before anything is sent.
  await form.getByLabel('Subject').fill(subject);
  await form.getByLabel('Due time (UTC)').fill('10:30');
  await form.getByRole('button', { name: 'Add activity' }).click();
  await expect(form.getByLabel('Due date')).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByText('A due time needs a due date.')).toBeVisible();
  await expectAccessible(page, 'lead activities with an error');

  await form.getByLabel('Type').selectOption('meeting');
  await form.getByLabel('Due date').fill('2030-05-14');
  await form.getByRole('button', { name: 'Add activity' }).click();
  await expect(form.getByRole('status')).toContainText('Activity added.');

  const item = page.getByRole('list', { name: 'Activities' }).getByTestId('activity').filter({ hasText: subject });
  await expect(item).toBeVisible();
  await expect(item).toContainText('Meeting');
  await expect(item).toContainText('14 May 2030 · 10:30 UTC');
  await expect(item).toContainText('To do');
  await expect(item.getByText('Pending push')).toBeVisible();
  await expectAccessible(page, 'lead activities');

  // Still there after a reload: it was stored, with the lead.
  await page.reload();
  await expect(page.getByRole('list', { name: 'Activities' }).getByTestId('activity').filter({ hasText: subject })).toContainText('Pending push');
  expect(
    sql(`SELECT a.kind || ' ' || a.provider FROM crm_activities a JOIN leads l ON l.id = a.lead_id
         WHERE l.title = '${title.replace(/'/g, "''")}' AND a.subject = '${subject.replace(/'/g, "''")}'`),
  ).toBe('meeting tentabo');
  await screenshot(page, 'partner-lead-activity-added');
});
