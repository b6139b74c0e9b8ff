import { expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

export const PASSWORD = 'demo123';
export const USERS = {
  admin: 'superadmin@salescommand.com',
  restricted: 'restricted@salescommand.com',
  partner: 'am1@salescommand.com',
  partner2: 'am2@salescommand.com',
  partner3: 'am3@salescommand.com',
  distributor: 'distributor@salescommand.com',
  fulfiller: 'fulfiller@salescommand.com',
} as const;

/** Signs in through the login form and waits for the app shell. */
export async function login(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.goto('/login');
  await page.getByLabel(/^(Email|Adresse e-mail)$/).fill(email);
  await page.getByLabel(/^(Password|Mot de passe)$/).fill(password);
  await page.getByRole('button', { name: /^(Sign in|Se connecter)$/ }).click();
  await expect(page.getByRole('navigation', { name: /Main navigation|Navigation principale/ })).toBeVisible();
}

export async function logout(page: Page): Promise<void> {
  await page.getByRole('button', { name: /Sign out|Se déconnecter/ }).click();
  await expect(page.getByRole('heading', { name: /^(Sign in|Connexion)$/ })).toBeVisible();
}

/** The labels of the visible main navigation. */
export async function navLabels(page: Page): Promise<string[]> {
  const nav = page.getByRole('navigation', { name: /Main navigation|Navigation principale/ });
  await expect(nav.getByRole('link').first()).toBeVisible();
  return (await nav.getByRole('link').allInnerTexts()).map((s) => s.trim());
}

export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.E2E_SCREENSHOTS ?? path.resolve('../target/e2e-screenshots');
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

/** No serious or critical accessibility violation on the page as it stands. */
export async function expectAccessible(page: Page, label: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('\n    ')}`);
  expect(report, `axe on ${label}`).toEqual([]);
}

/** Runs SQL on the journey's database. */
export function sql(query: string): string {
  const url = process.env.E2E_DATABASE_URL;
  if (!url) throw new Error('E2E_DATABASE_URL is not set (global setup did not run?)');
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', query], { encoding: 'utf8' }).trim();
}

export function unique(prefix: string): string {
  return `${prefix} ${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
}
