import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, logout, navLabels, screenshot } from './support';

const EXPECTED: Record<keyof typeof USERS, string[]> = {
  admin: ['Leads', 'Orders', 'Contracts', 'Dashboards', 'Users', 'Organisations', 'Products', 'Integrations', 'Sync & data lake', 'Jobs'],
  restricted: ['Leads', 'Orders', 'Contracts', 'Dashboards'],
  partner: ['Leads', 'Orders', 'Contracts', 'Dashboards'],
  partner2: ['Leads', 'Orders', 'Contracts', 'Dashboards'],
  partner3: ['Leads', 'Orders', 'Contracts', 'Dashboards'],
  distributor: ['Leads', 'Orders', 'Contracts', 'Dashboards'],
  fulfiller: ['Orders', 'Contracts'],
};

test('the login page renders fast, lists the demo logins and passes axe', async ({ page }) => {
  // Stamp the moment the form's submit button is laid out (performance.now() counts
  // from the navigation start).
  await page.addInitScript(() => {
    const w = window as unknown as { __loginVisibleAt?: number };
    const check = () => {
      const b = document.querySelector('form button[type="submit"]') as HTMLElement | null;
      if (b && b.offsetParent !== null && w.__loginVisibleAt === undefined) w.__loginVisibleAt = performance.now();
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true });
  });
  await page.goto('/login');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  const ms = await page.evaluate(() => (window as unknown as { __loginVisibleAt?: number }).__loginVisibleAt ?? performance.now());
  console.log(`first screen: navigation start → login form visible in ${Math.round(ms)} ms`);
  expect(ms).toBeLessThan(3000);
  await expect(page.getByRole('button', { name: /am1@salescommand\.com/ })).toBeVisible();
  await expectAccessible(page, 'login');
  await page.getByRole('button', { name: /am1@salescommand\.com/ }).click();
  await expect(page.getByLabel('Email')).toHaveValue('am1@salescommand.com');
  await expect(page.getByLabel('Password')).toHaveValue('demo123');
  await screenshot(page, 'login');
});

for (const role of Object.keys(EXPECTED) as (keyof typeof USERS)[]) {
  test(`${role} sees exactly its navigation`, async ({ page }) => {
    await login(page, USERS[role]);
    expect(await navLabels(page)).toEqual(EXPECTED[role]);
    if (role === 'fulfiller') {
      await page.goto('/leads');
      await expect(page.getByRole('heading', { name: 'Forbidden' })).toBeVisible();
    }
    // A reload keeps the session (refresh cookie).
    await page.reload();
    expect(await navLabels(page)).toEqual(EXPECTED[role]);
    await screenshot(page, `navigation-${role}`);
    await logout(page);
  });
}

test('a phone-width screen offers the navigation behind a menu button', async ({ page }) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await page.goto('/login');
  await page.getByLabel('Email').fill(USERS.partner);
  await page.getByLabel('Password').fill('demo123');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Leads' })).toBeVisible();
  await page.getByRole('button', { name: 'Menu' }).click();
  expect(await navLabels(page)).toEqual(EXPECTED.partner);
  await expectAccessible(page, 'leads at 375 px');
  await screenshot(page, 'navigation-phone');
});
