-- Dashboards over Tentabo's own leads and orders (provider 'tentabo'), and contract
-- recurring revenue (issue 20).

-- Own rows carry their organisations (synced rows get theirs from provider_owner_links);
-- `scope_key` keeps one owner's rows of different organisations apart.
ALTER TABLE serving_pipeline
    ADD COLUMN own_partner_id UUID,
    ADD COLUMN own_distributor_id UUID,
    ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
ALTER TABLE serving_pipeline DROP CONSTRAINT serving_pipeline_pkey;
ALTER TABLE serving_pipeline ADD PRIMARY KEY (provider, status, owner_external_id, currency, scope_key);

ALTER TABLE serving_won_revenue
    ADD COLUMN own_partner_id UUID,
    ADD COLUMN own_distributor_id UUID,
    ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
ALTER TABLE serving_won_revenue DROP CONSTRAINT serving_won_revenue_pkey;
ALTER TABLE serving_won_revenue ADD PRIMARY KEY (provider, month, owner_external_id, currency, scope_key);

-- Contract MRR/ARR per month (UTC), partner, distributor and currency, with the month's
-- movements. Amounts are positive; the bridge holds per row key:
-- mrr(m) = mrr(m-1) + new + expansion - contraction - churned.
CREATE TABLE serving_contract_revenue (
    month            DATE NOT NULL,
    partner_id       UUID,
    distributor_id   UUID,
    scope_key        TEXT NOT NULL,
    currency         TEXT NOT NULL,
    contracts        BIGINT NOT NULL,
    mrr              NUMERIC(18, 2) NOT NULL,
    arr              NUMERIC(18, 2) NOT NULL,
    new_mrr          NUMERIC(18, 2) NOT NULL,
    expansion_mrr    NUMERIC(18, 2) NOT NULL,
    contraction_mrr  NUMERIC(18, 2) NOT NULL,
    churned_mrr      NUMERIC(18, 2) NOT NULL,
    refreshed_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (month, scope_key, currency),
    CONSTRAINT serving_contract_revenue_month_first CHECK (extract(day FROM month) = 1)
);
