import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, screenshot } from './support';

test('the French UI shows French labels and French API errors', async ({ page }) => {
  await page.goto('/login');
  await page.getByRole('button', { name: 'French' }).click();
  await expect(page.getByRole('heading', { name: 'Connexion' })).toBeVisible();
  await page.getByLabel('Adresse e-mail').fill(USERS.partner);
  await page.getByLabel('Mot de passe').fill('wrong-password');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  // The API's own message, in French (Accept-Language: fr).
  await expect(page.getByRole('alert')).toHaveText('Adresse e-mail ou mot de passe incorrect');
  await page.getByLabel('Mot de passe').fill('demo123');
  await page.getByRole('button', { name: 'Se connecter' }).click();
  const nav = page.getByRole('navigation', { name: 'Navigation principale' });
  await expect(nav.getByRole('link')).toHaveText(['Pistes', 'Commandes', 'Contrats', 'Tableaux de bord']);
  await expect(page.getByRole('heading', { name: 'Pistes' })).toBeVisible();
  await expect(page.getByTestId('column-negotiation').getByRole('heading', { name: 'Négociation' })).toBeVisible();
  // The choice survives a reload.
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Pistes' })).toBeVisible();
  // A field error from the API, in French, where it belongs.
  await page.getByRole('link', { name: 'Nouvelle piste' }).click();
  await page.getByLabel('Titre').fill('Piste à date impossible');
  await page.getByLabel('Organisation').fill('Durand SARL');
  await page.getByLabel('Nom du contact').fill('Marie Durand');
  await page.getByLabel('E-mail du contact').fill('marie@durand.example');
  await page.getByLabel('Date de clôture prévue').fill('1990-01-01');
  await page.getByRole('button', { name: 'Créer la piste' }).click();
  await expect(page.getByLabel('Date de clôture prévue')).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#lead-expected_close_date-error')).toHaveText(/\S/);
  await expectAccessible(page, 'lead form (fr)');
  await screenshot(page, 'french');
});
