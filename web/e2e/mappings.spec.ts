import { test, expect } from '@playwright/test';
import { USERS, expectAccessible, login, screenshot, sql } from './support';

/** A draft of `res.partner → contact` as an auto-map would leave it (the live Odoo is
 * not part of the e2e stack): two rules waiting for a person, one approved by itself. */
function insertDraft(): string {
  return sql(`
    WITH v AS (
      INSERT INTO mapping_versions (id, provider, object, entity, version, status, origin)
      SELECT gen_random_uuid(), 'odoo', 'res.partner', 'contact', COALESCE(max(version), 0) + 1, 'draft', 'auto_map'
      FROM mapping_versions WHERE provider = 'odoo' AND object = 'res.partner' AND entity = 'contact'
      RETURNING id
    ), r AS (
      INSERT INTO mapping_rules (version_id, position, source_field, source_label, source_type, samples,
                                 target_field, transform, confidence, reason, engine, status)
      SELECT v.id, x.position, x.source_field, x.label, x.type, x.samples::jsonb, x.target, x.transform,
             x.confidence, x.reason, 'rules', x.status
      FROM v, (VALUES
        (0, 'email', 'Email', 'char', '["info@deco-addict.example.com"]', 'email', 'as_is', 0.99,
         'name ''email'' is a synonym of email; samples look like email addresses', 'approved'),
        (1, 'mobile', 'Mobile', 'char', '["+32 473 12 34 56"]', 'mobile', 'as_is', 0.72,
         'label ''Mobile'' is a synonym of mobile', 'proposed'),
        (2, 'x_studio_segment', 'Segment', 'selection', '["smb","ent"]', NULL, 'keep_in_extras', 0,
         'no canonical field fits; kept in the row''s extras', 'proposed')
      ) AS x (position, source_field, label, type, samples, target, transform, confidence, reason, status)
      RETURNING version_id
    )
    SELECT DISTINCT version_id FROM r`);
}

test('an admin reviews a proposed mapping, changes a target, is refused a taken one, and approves it', async ({ page }) => {
  await login(page, USERS.admin);
  await page.goto('/integrations');
  await page.getByRole('link', { name: 'Field mappings' }).click();
  await page.getByLabel('Source object').selectOption({ label: 'res.partner → Contact (odoo)' });
  await expect(page.getByRole('heading', { name: 'Active version' })).toBeVisible();
  await expect(page.getByText(/Version 1 \(Built-in\)/)).toBeVisible();

  const id = insertDraft();
  await page.goto(`/integrations/mappings/versions/${id}`);
  await expect(page.getByRole('heading', { name: /res\.partner → Contact, version \d+/ })).toBeVisible();
  await expect(page.getByText('label \'Mobile\' is a synonym of mobile')).toBeVisible();

  // The mobile number becomes the contact's phone.
  await page.getByRole('button', { name: 'Change the target of mobile' }).click();
  await page.getByLabel('Target of mobile').selectOption('phone');
  await page.getByRole('button', { name: 'Save the change to mobile' }).click();
  await expect.poll(() => sql(`SELECT target_field || '/' || status || '/' || engine FROM mapping_rules
      WHERE version_id = '${id}' AND source_field = 'mobile'`)).toBe('phone/approved/person');

  // The email cannot take the phone too: refused on its row, nothing stored.
  await page.getByRole('button', { name: 'Change the target of email' }).click();
  await page.getByLabel('Target of email').selectOption('phone');
  await page.getByRole('button', { name: 'Save the change to email' }).click();
  await expect(page.getByText('Another rule already writes this target.')).toBeVisible();
  expect(sql(`SELECT target_field FROM mapping_rules WHERE version_id = '${id}' AND source_field = 'email'`)).toBe('email');
  await page.getByRole('button', { name: 'Cancel the change to email' }).click();

  await page.getByRole('button', { name: 'Approve x_studio_segment' }).click();
  await expect.poll(() => sql(`SELECT status FROM mapping_rules WHERE version_id = '${id}' AND source_field = 'x_studio_segment'`))
    .toBe('approved');
  await expectAccessible(page, 'mapping review');
  await screenshot(page, 'admin-mapping-review');

  // Approving the version makes it active and replays the raw zone (the worker runs it).
  await page.getByRole('button', { name: 'Approve version' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Approve and replay' }).click();
  await expect(page.getByText(/is active: the raw zone is being replayed with it/)).toBeVisible();
  expect(sql(`SELECT status FROM mapping_versions WHERE id = '${id}'`)).toBe('active');
  await expect(page.getByTestId('replay-panel')).toBeVisible({ timeout: 30_000 });
  await expect.poll(() => sql(`SELECT r.status FROM mapping_versions v JOIN sync_runs r ON r.id = v.replay_run_id
      WHERE v.id = '${id}'`), { timeout: 30_000 }).toBe('succeeded');
  await screenshot(page, 'admin-mapping-approved');
});
