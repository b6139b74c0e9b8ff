import { test, expect, type APIRequestContext, type Page, type PlaywrightWorkerArgs } from '@playwright/test';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD, USERS, expectAccessible, login, logout, screenshot, sql } from './support';

// Single sign-on against a real OpenID provider (tests/oidc/oidc.sh: panva's certified
// oidc-provider with static accounts and a plain login form), configured and activated
// through the admin API as the demo admin. The journeys share one database: the last
// journey deactivates the provider from the integrations screen, and the teardown makes
// sure of it through the API, so later logins see the password form alone.

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CLIENT_ID = 'tentabo';
const CLIENT_SECRET = 'tentabo-secret';
const LABEL = 'Test IdP';

let idp: ChildProcess | undefined;
let issuer = '';

/** Starts the provider and answers its port (its first run installs the npm package). */
function startProvider(origin: string): Promise<number> {
  const logs = path.join(repo, 'target/e2e-logs');
  mkdirSync(logs, { recursive: true });
  const child = spawn('bash', [path.join(repo, 'tests/oidc/oidc.sh')], {
    env: {
      ...process.env,
      OIDC_PORT: '0',
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_REDIRECT_URIS: `${origin}/api/v1/auth/sso/oidc/callback`,
    },
    stdio: ['ignore', 'pipe', openSync(path.join(logs, 'oidc.err.log'), 'w')],
  });
  idp = child;
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const m = /^READY (\d+)$/.exec(line.trim());
      if (m) resolve(Number(m[1]));
      else reject(new Error(`the OpenID provider said ${JSON.stringify(line)} (see target/e2e-logs/oidc.err.log)`));
    });
    child.once('exit', (code) => reject(new Error(`the OpenID provider exited (${code}); see target/e2e-logs/oidc.err.log`)));
  });
}

/** An API client of the console's origin (the hooks run before any test's own fixtures). */
function apiClient(playwright: PlaywrightWorkerArgs['playwright']): Promise<APIRequestContext> {
  return playwright.request.newContext({ baseURL: process.env.E2E_BASE_URL });
}

async function adminToken(request: APIRequestContext): Promise<string> {
  const res = await request.post('/api/v1/auth/login', { data: { email: USERS.admin, password: PASSWORD } });
  expect(res.status(), await res.text()).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** Fills the provider's own login form (it is not Tentabo's page). */
async function signInAtProvider(page: Page, login: string, password: string): Promise<void> {
  await page.waitForURL((u) => u.origin === issuer && u.pathname.startsWith('/interaction/'));
  await page.locator('#login').fill(login);
  await page.locator('#password').fill(password);
  await page.locator('#submit').click();
}

test.beforeAll(async ({ playwright }) => {
  // The first run of oidc.sh installs oidc-provider from npm.
  test.setTimeout(300_000);
  const origin = process.env.E2E_BASE_URL;
  if (!origin) throw new Error('E2E_BASE_URL is not set (global setup did not run?)');
  const port = await startProvider(origin);
  issuer = `http://127.0.0.1:${port}`;

  const request = await apiClient(playwright);
  const token = await adminToken(request);
  const headers = { Authorization: `Bearer ${token}` };
  const put = await request.put('/api/v1/providers/auth/oidc', {
    headers,
    data: {
      configuration: {
        label: LABEL,
        issuer,
        client_id: CLIENT_ID,
        public_url: origin,
        role_claim: 'roles',
        role_mappings: [{ group: 'Tentabo.Admin', role: 'admin' }],
      },
      credentials: { client_secret: CLIENT_SECRET },
    },
  });
  expect(put.status(), await put.text()).toBe(200);
  const activate = await request.post('/api/v1/providers/auth/oidc/activate', { headers });
  expect(activate.status(), await activate.text()).toBe(200);
  await request.dispose();
});

test.afterAll(async ({ playwright }) => {
  // Back to the password form alone for the journeys after this one: the provider is
  // deactivated through the API (already done if the last journey passed), then its
  // configuration deleted (refused while it is active).
  const request = await apiClient(playwright);
  const token = await adminToken(request);
  const headers = { Authorization: `Bearer ${token}` };
  const off = await request.post('/api/v1/providers/auth/oidc/deactivate', { headers });
  expect(off.status(), await off.text()).toBe(200);
  expect(typeof ((await off.json()) as { was_active: unknown }).was_active).toBe('boolean');
  const del = await request.delete('/api/v1/providers/auth/oidc', { headers });
  expect([204, 404], await del.text()).toContain(del.status());
  const methods = await (await request.get('/api/v1/auth/methods')).json();
  expect(methods.sso).toEqual([]);
  await request.dispose();
  if (idp && idp.exitCode === null) idp.kill('SIGTERM');
});

test('a user signs in with the identity provider and lands in the console with the mapped role', async ({ page }) => {
  await page.goto('/login');
  const sso = page.getByRole('link', { name: `Sign in with ${LABEL}` });
  await expect(sso).toBeVisible();
  // The password form stays (the break-glass way in).
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  await expectAccessible(page, 'login with single sign-on');
  await screenshot(page, 'login-sso');

  await sso.click();
  await signInAtProvider(page, 'amelie', 'amelie-pw');
  // Back through /login/sso (the one-time code exchanged) to the console's home.
  await expect(page.getByRole('navigation', { name: 'Main navigation' })).toBeVisible();
  await expect(page).not.toHaveURL(/\/login/);
  await expect(page.getByTestId('current-user')).toHaveText('Amélie Dupré-Lefèvre (Administrator)');
  expect(sql(`SELECT role || ' ' || auth_provider FROM users WHERE email = 'amelie@tentabo.test'`)).toBe('admin oidc');

  // A reload keeps the session (the refresh cookie the exchange set).
  await page.reload();
  await expect(page.getByTestId('current-user')).toContainText('Amélie Dupré-Lefèvre');

  // The settings as the integrations page draws them: the role table and the lists.
  await page.goto('/integrations');
  await page.getByRole('button', { name: /^Configure OpenID Connect/ }).click();
  const dialog = page.getByRole('dialog');
  const row = dialog.getByRole('group', { name: 'Row 1 of Role mappings' });
  await expect(row.getByLabel('Claim value *')).toHaveValue('Tentabo.Admin');
  await expect(row.getByLabel('Role *')).toHaveValue('admin');
  const scopes = dialog.getByRole('group', { name: 'Scopes', exact: true });
  await expect(scopes.getByRole('textbox')).toHaveCount(3);
  await expect(dialog.getByTestId('oidc-redirect-uri')).toContainText('/api/v1/auth/sso/oidc/callback');
  await expectAccessible(page, 'OpenID Connect settings');
  await screenshot(page, 'integrations-oidc');
});

test('single sign-on returns to the page asked for, and explains a refused account', async ({ browser }) => {
  // A fresh browser: no session at the provider nor in the console.
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/orders');
  await expect(page).toHaveURL(/\/login\?next=%2Forders/);
  await page.getByRole('link', { name: `Sign in with ${LABEL}` }).click();
  await signInAtProvider(page, 'amelie', 'amelie-pw');
  await expect(page).toHaveURL(/\/orders$/);
  await expect(page.getByRole('heading', { name: 'Orders' })).toBeVisible();
  await context.close();

  // An account the role table does not map: back on the login page, told why.
  const other = await browser.newContext();
  const page2 = await other.newPage();
  await page2.goto('/login');
  await page2.getByRole('link', { name: `Sign in with ${LABEL}` }).click();
  await signInAtProvider(page2, 'nobody', 'nobody-pw');
  await expect(page2.getByRole('alert')).toHaveText(
    'Your account is in no group that gives access to Tentabo. Ask your administrator for access.',
  );
  // The reason is dropped from the address once shown (a reload does not repeat it).
  await expect(page2).not.toHaveURL(/sso_error/);
  expect(sql(`SELECT count(*) FROM users WHERE email = 'nobody@elsewhere.test'`)).toBe('0');
  await screenshot(page2, 'login-sso-refused');
  await other.close();
});

test('an admin deactivates single sign-on: the login page offers the password form alone', async ({ page }) => {
  await login(page, USERS.admin);
  await page.goto('/integrations');
  const card = page.getByTestId('provider-auth-oidc');
  await expect(card.getByText('Active', { exact: true })).toBeVisible();
  await card.getByRole('button', { name: /^Deactivate OpenID Connect/ }).click();
  const confirm = page.getByRole('dialog', { name: /^Deactivate OpenID Connect.*\?$/ });
  await expect(confirm).toContainText(
    'Only Tentabo passwords will work: the single sign-on buttons and directory logins stop at once.',
  );
  await expectAccessible(page, 'deactivation confirmation');
  await screenshot(page, 'integrations-deactivate-oidc');
  await confirm.getByRole('button', { name: 'Deactivate', exact: true }).click();
  await expect(page.getByTestId('deactivation-outcome')).toContainText('is no longer active. Only Tentabo passwords work now.');
  await expect(confirm).toBeHidden();
  // The list is read again: no longer active, nothing left to deactivate.
  await expect(card.getByText('Active', { exact: true })).toHaveCount(0);
  await expect(card.getByRole('button', { name: /^Deactivate/ })).toHaveCount(0);
  expect(sql(`SELECT is_active FROM provider_configs WHERE kind = 'auth' AND name = 'oidc'`)).toBe('f');

  await logout(page);
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: `Sign in with ${LABEL}` })).toHaveCount(0);
  // A fresh visit too: the API no longer offers it.
  await page.reload();
  await expect(page.getByRole('button', { name: 'Sign in', exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: `Sign in with ${LABEL}` })).toHaveCount(0);
});
