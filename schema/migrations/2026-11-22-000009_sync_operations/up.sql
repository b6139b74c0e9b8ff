-- Sync operations: per-stage timings of a run, one pending conflict per record, owners
-- of synced records and their row scope, serving aggregates per owner.

ALTER TABLE sync_runs ADD COLUMN timings JSONB NOT NULL DEFAULT '{}'::jsonb;

-- A record waits for a decision once: a later run refreshes the pending conflict.
CREATE UNIQUE INDEX sync_conflicts_one_pending ON sync_conflicts (provider, entity, external_id)
    WHERE resolution = 'pending';
ALTER TABLE sync_conflicts ADD COLUMN resolved_by UUID REFERENCES users (id);

-- The source's user owning a lead or an order (Odoo `user_id`).
ALTER TABLE canonical_leads ADD COLUMN owner_external_id TEXT;
-- When a lead was won or lost (Odoo `date_closed`): won revenue is counted by its month.
ALTER TABLE canonical_leads ADD COLUMN closed_at TIMESTAMPTZ;
ALTER TABLE canonical_orders ADD COLUMN owner_external_id TEXT;

-- Which partner or distributor a source user sells for: the row scope of synced data.
-- A record whose owner is linked to nobody is seen by admins only.
CREATE TABLE provider_owner_links (
    provider           TEXT NOT NULL,
    owner_external_id  TEXT NOT NULL,
    partner_id         UUID REFERENCES partners (id) ON DELETE CASCADE,
    distributor_id     UUID REFERENCES distributors (id) ON DELETE CASCADE,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, owner_external_id),
    CONSTRAINT provider_owner_links_one_org CHECK ((partner_id IS NULL) <> (distributor_id IS NULL))
);

-- Serving zone, per owner so that the caller's scope applies to aggregates too.
DROP TABLE serving_pipeline;
DROP TABLE serving_won_revenue;

CREATE TABLE serving_pipeline (
    provider           TEXT NOT NULL,
    status             TEXT NOT NULL,
    owner_external_id  TEXT NOT NULL,
    owner              TEXT,
    currency           TEXT NOT NULL,
    lead_count         BIGINT NOT NULL,
    won_count          BIGINT NOT NULL,
    lost_count         BIGINT NOT NULL,
    value              NUMERIC(18, 2) NOT NULL,
    refreshed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, status, owner_external_id, currency)
);

CREATE TABLE serving_won_revenue (
    provider           TEXT NOT NULL,
    month              DATE NOT NULL,
    owner_external_id  TEXT NOT NULL,
    owner              TEXT,
    currency           TEXT NOT NULL,
    won_count          BIGINT NOT NULL,
    revenue            NUMERIC(18, 2) NOT NULL,
    refreshed_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, month, owner_external_id, currency)
);

-- The loader looks for locally edited rows on every page: a partial index holds only
-- those (few), so the check costs next to nothing.
CREATE INDEX canonical_organizations_edited ON canonical_organizations (provider, external_id) WHERE local_modified_at IS NOT NULL;
CREATE INDEX canonical_contacts_edited ON canonical_contacts (provider, external_id) WHERE local_modified_at IS NOT NULL;
CREATE INDEX canonical_leads_edited ON canonical_leads (provider, external_id) WHERE local_modified_at IS NOT NULL;
CREATE INDEX canonical_orders_edited ON canonical_orders (provider, external_id) WHERE local_modified_at IS NOT NULL;
CREATE INDEX canonical_products_edited ON canonical_products (provider, external_id) WHERE local_modified_at IS NOT NULL;
CREATE INDEX canonical_invoices_edited ON canonical_invoices (provider, external_id) WHERE local_modified_at IS NOT NULL;

-- Room on each page for a changed record's new version: the nightly incremental run
-- updates a few rows spread over the tables, and an update that fits on its page (HOT)
-- writes no index entry.
ALTER TABLE raw_records SET (fillfactor = 90);
ALTER TABLE canonical_organizations SET (fillfactor = 90);
ALTER TABLE canonical_contacts SET (fillfactor = 90);
ALTER TABLE canonical_leads SET (fillfactor = 90);
ALTER TABLE canonical_orders SET (fillfactor = 90);
ALTER TABLE canonical_products SET (fillfactor = 90);
ALTER TABLE canonical_invoices SET (fillfactor = 90);
