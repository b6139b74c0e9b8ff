import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, screenshot } from './support';

test('a partner opens an empty notifications inbox from the header', async ({ page }) => {
  await login(page, USERS.partner);
  // The demo data has no contract due for renewal: no badge, an empty inbox.
  const link = page.getByRole('banner').getByRole('link', { name: /^Notifications/ });
  await expect(link).toBeVisible();
  await expect(link).toHaveAccessibleName('Notifications');
  await link.click();
  await expect(page).toHaveURL(/\/notifications$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Notifications' })).toBeVisible();
  await expect(page.getByText('No notifications yet.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Mark all as read' })).toBeDisabled();
  await expectAccessible(page, 'notifications (empty)');
  await screenshot(page, 'notifications-empty');

  await page.getByRole('checkbox', { name: 'Unread only' }).check();
  await expect(page.getByText('No unread notifications.')).toBeVisible();
});
