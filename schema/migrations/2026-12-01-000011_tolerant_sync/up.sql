-- A sync that loads real data whole (issue 13): warnings kept on canonical rows, Odoo's
-- stage kept beside the canonical lead status, counts per reason code on each run, a
-- quarantine with one open row per record that people can list and retry, the key set
-- of full runs (soft deletes without touching unchanged rows) and per-provider sync
-- settings (severity per rule, default country, lead stage table).

-- What could not be normalised but was kept: [{field, code, original}], NULL when none.
ALTER TABLE canonical_organizations ADD COLUMN issues JSONB;
ALTER TABLE canonical_contacts ADD COLUMN issues JSONB;
ALTER TABLE canonical_leads ADD COLUMN issues JSONB;
ALTER TABLE canonical_orders ADD COLUMN issues JSONB;
ALTER TABLE canonical_products ADD COLUMN issues JSONB;
ALTER TABLE canonical_invoices ADD COLUMN issues JSONB;

-- The source's own stage name; `status` holds the canonical lead vocabulary.
ALTER TABLE canonical_leads ADD COLUMN stage TEXT;

-- Records loaded with warnings, and counts per code: warned records, quarantined ones.
ALTER TABLE sync_runs ADD COLUMN warned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sync_runs ADD COLUMN warnings JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE sync_runs ADD COLUMN quarantine_reasons JSONB NOT NULL DEFAULT '{}'::jsonb;

-- Adds the counts of two {code: n} objects.
CREATE FUNCTION tentabo_add_counts(a JSONB, b JSONB) RETURNS JSONB
LANGUAGE sql IMMUTABLE AS $$
    SELECT COALESCE(jsonb_object_agg(key, total), '{}'::jsonb)
    FROM (SELECT key, sum(value::bigint) AS total
          FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) x
          GROUP BY key) y
$$;

-- Quarantine: a record is open once (a later run or a retry refreshes its row), and
-- leaves it when it loads.
ALTER TABLE quarantine ADD COLUMN canonical_entity TEXT;
ALTER TABLE quarantine ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
ALTER TABLE quarantine ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE quarantine ADD COLUMN resolved_at TIMESTAMPTZ;
ALTER TABLE quarantine ADD COLUMN resolution TEXT;
ALTER TABLE quarantine ADD CONSTRAINT quarantine_resolution_known
    CHECK (resolution IS NULL OR resolution IN ('loaded', 'superseded'));
UPDATE quarantine q SET resolved_at = now(), resolution = 'superseded'
WHERE q.external_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM quarantine n
    WHERE n.provider = q.provider AND n.entity = q.entity AND n.external_id = q.external_id
      AND n.id > q.id);
CREATE UNIQUE INDEX quarantine_one_open ON quarantine (provider, entity, external_id)
    WHERE resolved_at IS NULL;
CREATE INDEX quarantine_open_idx ON quarantine (id) WHERE resolved_at IS NULL;

-- The external ids a full run read, one row per page, committed with the page: at the
-- end, the rows it did not read are soft-deleted, without the run writing a canonical
-- row for records that did not change. Removed when the run ends.
CREATE TABLE sync_run_keys (
    id            BIGSERIAL PRIMARY KEY,
    sync_run_id   UUID NOT NULL,
    external_ids  TEXT[] NOT NULL
);
CREATE INDEX sync_run_keys_run_idx ON sync_run_keys (sync_run_id);

-- How a provider's records are read (admins): severity per rule, the default country
-- for national phone numbers, the lead stage table. Only what differs from the defaults.
CREATE TABLE sync_settings (
    provider     TEXT PRIMARY KEY,
    settings     JSONB NOT NULL DEFAULT '{}'::jsonb,
    updated_by   UUID REFERENCES users (id),
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
