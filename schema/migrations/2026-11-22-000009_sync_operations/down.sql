ALTER TABLE raw_records RESET (fillfactor);
ALTER TABLE canonical_organizations RESET (fillfactor);
ALTER TABLE canonical_contacts RESET (fillfactor);
ALTER TABLE canonical_leads RESET (fillfactor);
ALTER TABLE canonical_orders RESET (fillfactor);
ALTER TABLE canonical_products RESET (fillfactor);
ALTER TABLE canonical_invoices RESET (fillfactor);
DROP INDEX canonical_organizations_edited;
DROP INDEX canonical_contacts_edited;
DROP INDEX canonical_leads_edited;
DROP INDEX canonical_orders_edited;
DROP INDEX canonical_products_edited;
DROP INDEX canonical_invoices_edited;
DROP TABLE serving_won_revenue;
DROP TABLE serving_pipeline;
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
DROP TABLE provider_owner_links;
ALTER TABLE canonical_orders DROP COLUMN owner_external_id;
ALTER TABLE canonical_leads DROP COLUMN closed_at;
ALTER TABLE canonical_leads DROP COLUMN owner_external_id;
ALTER TABLE sync_conflicts DROP COLUMN resolved_by;
DROP INDEX sync_conflicts_one_pending;
ALTER TABLE sync_runs DROP COLUMN timings;
