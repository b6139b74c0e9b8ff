-- The data lake (SPEC §6, §10): raw zone, canonical zone, serving zone, quarantine,
-- sync runs with checkpoints, sync logs and conflicts.

-- One row per sync run: (provider, entity, mode), its progress and outcome.
CREATE TABLE sync_runs (
    id             UUID PRIMARY KEY,
    provider       TEXT NOT NULL,
    entity         TEXT NOT NULL,
    mode           TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'queued',
    requested_by   UUID REFERENCES users (id),
    started_at     TIMESTAMPTZ,
    finished_at    TIMESTAMPTZ,
    -- Estimated records to read (from the source's count), and counts per stage.
    estimate       BIGINT,
    fetched        BIGINT NOT NULL DEFAULT 0,
    unchanged      BIGINT NOT NULL DEFAULT 0,
    loaded         BIGINT NOT NULL DEFAULT 0,
    quarantined    BIGINT NOT NULL DEFAULT 0,
    deleted        BIGINT NOT NULL DEFAULT 0,
    conflicts      BIGINT NOT NULL DEFAULT 0,
    -- Where the run stands: the keyset after the last durably loaded page.
    cursor_value   TEXT,
    cursor_id      TEXT,
    error          TEXT,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT sync_runs_mode_known CHECK (mode IN ('full', 'incremental')),
    CONSTRAINT sync_runs_status_known CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed'))
);
CREATE INDEX sync_runs_recent_idx ON sync_runs (created_at DESC, id DESC);
-- At most one run per (provider, entity) at a time.
CREATE UNIQUE INDEX sync_runs_one_active ON sync_runs (provider, entity) WHERE status IN ('queued', 'running');

-- The watermark of each (provider, entity): advanced only when a page is durably loaded.
CREATE TABLE sync_checkpoints (
    provider      TEXT NOT NULL,
    entity        TEXT NOT NULL,
    cursor_value  TEXT,
    cursor_id     TEXT,
    last_run_id   UUID REFERENCES sync_runs (id),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, entity)
);

-- Raw zone: the record byte-exact as received (`json`, not `jsonb`), its hash, when.
CREATE TABLE raw_records (
    id            BIGSERIAL PRIMARY KEY,
    provider      TEXT NOT NULL,
    entity        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    sync_run_id   UUID REFERENCES sync_runs (id) ON DELETE SET NULL,
    fetched_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    content_hash  BYTEA NOT NULL,
    body          JSON NOT NULL
);
CREATE UNIQUE INDEX raw_records_key ON raw_records (provider, entity, external_id);

-- Records that failed a stage, with the reasons; the run goes on.
CREATE TABLE quarantine (
    id            BIGSERIAL PRIMARY KEY,
    sync_run_id   UUID REFERENCES sync_runs (id) ON DELETE CASCADE,
    provider      TEXT NOT NULL,
    entity        TEXT NOT NULL,
    external_id   TEXT,
    stage         TEXT NOT NULL,
    reasons       JSONB NOT NULL,
    body          JSON,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT quarantine_stage_known CHECK (stage IN ('connector', 'mapper', 'validator', 'normalizer', 'loader'))
);
CREATE INDEX quarantine_run_idx ON quarantine (sync_run_id, id);

CREATE TABLE provider_sync_logs (
    id            BIGSERIAL PRIMARY KEY,
    sync_run_id   UUID NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    level         TEXT NOT NULL,
    message       TEXT NOT NULL,
    details       JSONB NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT provider_sync_logs_level_known CHECK (level IN ('info', 'warn', 'error'))
);
CREATE INDEX provider_sync_logs_run_idx ON provider_sync_logs (sync_run_id, id);

-- A record changed both locally (since the last sync) and in the source.
CREATE TABLE sync_conflicts (
    id            BIGSERIAL PRIMARY KEY,
    sync_run_id   UUID REFERENCES sync_runs (id) ON DELETE SET NULL,
    provider      TEXT NOT NULL,
    entity        TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    policy        TEXT NOT NULL,
    local         JSONB NOT NULL,
    remote        JSONB NOT NULL,
    resolution    TEXT NOT NULL,
    resolved_at   TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT sync_conflicts_policy_known CHECK (policy IN ('source_wins', 'local_wins', 'manual')),
    CONSTRAINT sync_conflicts_resolution_known CHECK (resolution IN ('source_applied', 'local_kept', 'pending'))
);
CREATE INDEX sync_conflicts_pending_idx ON sync_conflicts (created_at) WHERE resolution = 'pending';

-- Canonical zone: one table per entity of SPEC §10, with the common columns.
-- `local_modified_at` is set when a user edits a canonical row; the loader compares it
-- with `last_synced_at` to detect conflicts.
CREATE TABLE canonical_organizations (
    provider TEXT NOT NULL, external_id TEXT NOT NULL,
    name TEXT NOT NULL, legal_name TEXT, vat_number TEXT, email TEXT, phone TEXT, website TEXT,
    street TEXT, street2 TEXT, city TEXT, postal_code TEXT, state TEXT, country_code TEXT,
    industry TEXT, is_customer BOOLEAN NOT NULL DEFAULT FALSE, is_supplier BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    raw_record_id BIGINT, content_hash BYTEA NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_modified_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
    PRIMARY KEY (provider, external_id)
);

CREATE TABLE canonical_contacts (
    provider TEXT NOT NULL, external_id TEXT NOT NULL,
    name TEXT NOT NULL, first_name TEXT, last_name TEXT, email TEXT, phone TEXT, mobile TEXT,
    job_title TEXT, organization_external_id TEXT, country_code TEXT,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    raw_record_id BIGINT, content_hash BYTEA NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_modified_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
    PRIMARY KEY (provider, external_id)
);

CREATE TABLE canonical_leads (
    provider TEXT NOT NULL, external_id TEXT NOT NULL,
    title TEXT NOT NULL, organization TEXT, contact_name TEXT, contact_email TEXT, contact_phone TEXT,
    value NUMERIC(18, 2), currency TEXT, status TEXT, probability NUMERIC(5, 2),
    expected_close_date DATE, owner TEXT, source TEXT, lost_reason TEXT,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    raw_record_id BIGINT, content_hash BYTEA NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_modified_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
    PRIMARY KEY (provider, external_id)
);

CREATE TABLE canonical_orders (
    provider TEXT NOT NULL, external_id TEXT NOT NULL,
    reference TEXT NOT NULL, customer_external_id TEXT, status TEXT, order_date TIMESTAMPTZ,
    currency TEXT, amount_untaxed NUMERIC(18, 2), amount_tax NUMERIC(18, 2), amount_total NUMERIC(18, 2),
    owner TEXT, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    raw_record_id BIGINT, content_hash BYTEA NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_modified_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
    PRIMARY KEY (provider, external_id)
);

CREATE TABLE canonical_products (
    provider TEXT NOT NULL, external_id TEXT NOT NULL,
    name TEXT NOT NULL, sku TEXT, barcode TEXT, unit TEXT, list_price NUMERIC(18, 4), cost_price NUMERIC(18, 4),
    product_type TEXT, active BOOLEAN NOT NULL DEFAULT TRUE, description TEXT,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ,
    raw_record_id BIGINT, content_hash BYTEA NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_modified_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
    PRIMARY KEY (provider, external_id)
);

CREATE TABLE canonical_invoices (
    provider TEXT NOT NULL, external_id TEXT NOT NULL,
    number TEXT NOT NULL, customer_external_id TEXT, status TEXT, issue_date DATE, due_date DATE,
    currency TEXT, amount_untaxed NUMERIC(18, 2), amount_tax NUMERIC(18, 2), amount_total NUMERIC(18, 2),
    amount_due NUMERIC(18, 2), paid_at TIMESTAMPTZ,
    raw_record_id BIGINT, content_hash BYTEA NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL DEFAULT now(), last_synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    local_modified_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ,
    PRIMARY KEY (provider, external_id)
);

-- Serving zone: aggregates refreshed after each load.
CREATE TABLE serving_pipeline (
    provider     TEXT NOT NULL,
    status       TEXT NOT NULL,
    owner        TEXT NOT NULL,
    currency     TEXT NOT NULL,
    lead_count   BIGINT NOT NULL,
    value        NUMERIC(18, 2) NOT NULL,
    refreshed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, status, owner, currency)
);

CREATE TABLE serving_won_revenue (
    provider     TEXT NOT NULL,
    month        DATE NOT NULL,
    currency     TEXT NOT NULL,
    won_count    BIGINT NOT NULL,
    revenue      NUMERIC(18, 2) NOT NULL,
    refreshed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, month, currency)
);
