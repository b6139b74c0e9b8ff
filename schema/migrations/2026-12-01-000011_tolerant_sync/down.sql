DROP TABLE sync_settings;
DROP TABLE sync_run_keys;
DROP INDEX quarantine_open_idx;
DROP INDEX quarantine_one_open;
ALTER TABLE quarantine DROP CONSTRAINT quarantine_resolution_known;
ALTER TABLE quarantine DROP COLUMN resolution, DROP COLUMN resolved_at, DROP COLUMN updated_at,
    DROP COLUMN attempts, DROP COLUMN canonical_entity;
DROP FUNCTION tentabo_add_counts(JSONB, JSONB);
ALTER TABLE sync_runs DROP COLUMN quarantine_reasons, DROP COLUMN warnings, DROP COLUMN warned;
ALTER TABLE canonical_leads DROP COLUMN stage;
ALTER TABLE canonical_invoices DROP COLUMN issues;
ALTER TABLE canonical_products DROP COLUMN issues;
ALTER TABLE canonical_orders DROP COLUMN issues;
ALTER TABLE canonical_leads DROP COLUMN issues;
ALTER TABLE canonical_contacts DROP COLUMN issues;
ALTER TABLE canonical_organizations DROP COLUMN issues;
