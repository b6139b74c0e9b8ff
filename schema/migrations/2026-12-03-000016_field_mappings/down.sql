DELETE FROM provider_configs WHERE kind = 'llm';
ALTER TABLE provider_configs DROP CONSTRAINT provider_configs_kind_known;
ALTER TABLE provider_configs ADD CONSTRAINT provider_configs_kind_known
    CHECK (kind IN ('auth', 'crm', 'billing', 'erp'));
DELETE FROM sync_runs WHERE mode = 'replay';
DROP INDEX raw_records_replay_idx;
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_known;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_known CHECK (mode IN ('full', 'incremental'));
ALTER TABLE canonical_organizations DROP COLUMN extras;
ALTER TABLE canonical_contacts DROP COLUMN extras;
ALTER TABLE canonical_leads DROP COLUMN extras;
ALTER TABLE canonical_orders DROP COLUMN extras;
ALTER TABLE canonical_products DROP COLUMN extras;
ALTER TABLE canonical_invoices DROP COLUMN extras;
DROP TABLE mapping_feedback;
DROP TABLE mapping_rules;
DROP TABLE mapping_versions;
