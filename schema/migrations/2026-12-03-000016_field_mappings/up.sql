-- Field mappings as data (issue 19): versions per (provider, source object, canonical
-- entity), their rules with each proposal's confidence, reason, engine and decision,
-- what an installation taught the engine, and the canonical rows' extras.

CREATE TABLE mapping_versions (
    id            UUID PRIMARY KEY,
    provider      TEXT NOT NULL,
    object        TEXT NOT NULL,
    entity        TEXT NOT NULL,
    version       INTEGER NOT NULL,
    -- draft: proposed, waiting for decisions; active: what the mapper runs;
    -- retired: active before; rejected: discarded as a whole.
    status        TEXT NOT NULL,
    origin        TEXT NOT NULL,
    created_by    UUID REFERENCES users (id),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    decided_by    UUID REFERENCES users (id),
    decided_at    TIMESTAMPTZ,
    activated_at  TIMESTAMPTZ,
    -- The replay (a sync run of mode 'replay') its activation started.
    replay_run_id UUID REFERENCES sync_runs (id) ON DELETE SET NULL,
    CONSTRAINT mapping_versions_status_known CHECK (status IN ('draft', 'active', 'retired', 'rejected')),
    CONSTRAINT mapping_versions_origin_known CHECK (origin IN ('default', 'auto_map', 'copy')),
    CONSTRAINT mapping_versions_entity_known CHECK (entity IN ('organization', 'contact', 'lead', 'order', 'product', 'invoice')),
    CONSTRAINT mapping_versions_number UNIQUE (provider, object, entity, version)
);
-- One active version per (provider, object, entity).
CREATE UNIQUE INDEX mapping_versions_one_active ON mapping_versions (provider, object, entity)
    WHERE status = 'active';

CREATE TABLE mapping_rules (
    id            BIGSERIAL PRIMARY KEY,
    version_id    UUID NOT NULL REFERENCES mapping_versions (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    source_field  TEXT NOT NULL,
    source_label  TEXT,
    source_type   TEXT,
    samples       JSONB NOT NULL DEFAULT '[]'::jsonb,
    target_field  TEXT,
    transform     TEXT NOT NULL,
    value_map     JSONB NOT NULL DEFAULT '{}'::jsonb,
    confidence    DOUBLE PRECISION NOT NULL,
    reason        TEXT NOT NULL,
    engine        TEXT NOT NULL,
    status        TEXT NOT NULL,
    decided_by    UUID REFERENCES users (id),
    decided_at    TIMESTAMPTZ,
    CONSTRAINT mapping_rules_status_known CHECK (status IN ('proposed', 'approved', 'rejected')),
    CONSTRAINT mapping_rules_confidence CHECK (confidence >= 0 AND confidence <= 1)
);
CREATE INDEX mapping_rules_version_idx ON mapping_rules (version_id, position);
-- Two rules of a version never write one canonical field (rejected ones write none).
CREATE UNIQUE INDEX mapping_rules_one_target ON mapping_rules (version_id, target_field)
    WHERE target_field IS NOT NULL AND status <> 'rejected';

-- What people decided, per entity and normalised field name or label ("name:…",
-- "label:…"): approvals count up, rejections down. Read by the deterministic engine.
CREATE TABLE mapping_feedback (
    entity        TEXT NOT NULL,
    key           TEXT NOT NULL,
    target_field  TEXT NOT NULL,
    votes         INTEGER NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (entity, key, target_field)
);

ALTER TABLE canonical_organizations ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE canonical_contacts ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE canonical_leads ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE canonical_orders ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE canonical_products ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE canonical_invoices ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb;

-- A replay reads an object's raw records in id order.
CREATE INDEX raw_records_replay_idx ON raw_records (provider, entity, id);

ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_known;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_known CHECK (mode IN ('full', 'incremental', 'replay'));

-- The LLM engine of field mapping is a provider of its own kind.
ALTER TABLE provider_configs DROP CONSTRAINT provider_configs_kind_known;
ALTER TABLE provider_configs ADD CONSTRAINT provider_configs_kind_known
    CHECK (kind IN ('auth', 'crm', 'billing', 'erp', 'llm'));
