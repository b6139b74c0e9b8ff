-- Sales: leads, orders (priced lines), contracts, their lifecycle history, notes;
-- the idempotency keys of transition requests; the calls made to providers.
--
-- Every lifecycle row carries `state` and `version` (optimistic locking: a transition
-- bumps the version) and the organisations that own it (`partner_id`,
-- `distributor_id`), which the row scope of every list and get filters on.

CREATE TABLE leads (
    id                   UUID PRIMARY KEY,
    title                TEXT NOT NULL,
    organization         TEXT NOT NULL,
    contact_name         TEXT NOT NULL,
    contact_email        TEXT NOT NULL,
    contact_phone        TEXT,
    value                NUMERIC(18, 2),
    currency             TEXT NOT NULL DEFAULT 'EUR',
    probability          INTEGER,
    expected_close_date  TIMESTAMPTZ,
    source               TEXT,
    lost_reason          TEXT,
    state                TEXT NOT NULL DEFAULT 'new',
    version              INTEGER NOT NULL DEFAULT 1,
    owner_id             UUID NOT NULL REFERENCES users (id),
    partner_id           UUID REFERENCES partners (id),
    distributor_id       UUID REFERENCES distributors (id),
    provider_name        TEXT,
    provider_id          TEXT,
    provider_metadata    JSONB NOT NULL DEFAULT '{}'::jsonb,
    converted_order_id   UUID,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_sync_at         TIMESTAMPTZ,
    CONSTRAINT leads_state_known CHECK (state IN ('new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost')),
    CONSTRAINT leads_probability_range CHECK (probability BETWEEN 0 AND 100),
    CONSTRAINT leads_currency_iso CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT leads_value_not_negative CHECK (value >= 0)
);
CREATE INDEX leads_partner_idx ON leads (partner_id, created_at);
CREATE INDEX leads_distributor_idx ON leads (distributor_id, created_at);
CREATE INDEX leads_state_idx ON leads (state, created_at);
CREATE INDEX leads_created_idx ON leads (created_at, id);

CREATE TABLE orders (
    id                     UUID PRIMARY KEY,
    reference              TEXT NOT NULL,
    state                  TEXT NOT NULL DEFAULT 'created',
    version                INTEGER NOT NULL DEFAULT 1,
    created_by             UUID NOT NULL REFERENCES users (id),
    partner_id             UUID REFERENCES partners (id),
    distributor_id         UUID REFERENCES distributors (id),
    lead_id                UUID REFERENCES leads (id) ON DELETE SET NULL,
    replaces_contract_id   UUID,
    currency               TEXT NOT NULL DEFAULT 'EUR',
    subtotal               NUMERIC(18, 2) NOT NULL DEFAULT 0,
    discount               NUMERIC(18, 2) NOT NULL DEFAULT 0,
    total                  NUMERIC(18, 2) NOT NULL DEFAULT 0,
    -- The pricing engine's working at the time the lines were priced (tiers, discount).
    pricing                JSONB NOT NULL DEFAULT '[]'::jsonb,
    billing_provider       TEXT,
    billing_quote_id       TEXT,
    billing_metadata       JSONB NOT NULL DEFAULT '{}'::jsonb,
    crm_provider           TEXT,
    crm_deal_id            TEXT,
    crm_metadata           JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_state_known CHECK (state IN ('created', 'sent', 'in_fulfillment', 'fulfilled', 'cancelled')),
    CONSTRAINT orders_currency_iso CHECK (currency ~ '^[A-Z]{3}$')
);
CREATE UNIQUE INDEX orders_reference_key ON orders (reference);
-- A lead converts into at most one order.
CREATE UNIQUE INDEX orders_lead_key ON orders (lead_id) WHERE lead_id IS NOT NULL;
CREATE INDEX orders_partner_idx ON orders (partner_id, created_at);
CREATE INDEX orders_distributor_idx ON orders (distributor_id, created_at);
CREATE INDEX orders_state_idx ON orders (state, created_at);
CREATE INDEX orders_created_idx ON orders (created_at, id);
CREATE SEQUENCE orders_reference_seq;

-- A subscription line: product × duration × quantity, priced when written.
CREATE TABLE order_lines (
    order_id             UUID NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position             INTEGER NOT NULL,
    product_id           UUID NOT NULL REFERENCES products (id),
    duration_months      INTEGER NOT NULL,
    quantity             BIGINT NOT NULL,
    billing_period       TEXT NOT NULL DEFAULT 'month',
    subtotal             NUMERIC(18, 2) NOT NULL,
    discount             NUMERIC(18, 2) NOT NULL,
    total                NUMERIC(18, 2) NOT NULL,
    PRIMARY KEY (order_id, position),
    CONSTRAINT order_lines_quantity_positive CHECK (quantity > 0),
    CONSTRAINT order_lines_period_known CHECK (billing_period IN ('month', 'year'))
);
CREATE INDEX order_lines_product_idx ON order_lines (product_id);

CREATE TABLE contracts (
    id                     UUID PRIMARY KEY,
    order_id               UUID NOT NULL REFERENCES orders (id),
    state                  TEXT NOT NULL DEFAULT 'active',
    version                INTEGER NOT NULL DEFAULT 1,
    user_id                UUID NOT NULL REFERENCES users (id),
    partner_id             UUID REFERENCES partners (id),
    distributor_id         UUID REFERENCES distributors (id),
    activation_date        TIMESTAMPTZ NOT NULL DEFAULT now(),
    expiration_date        TIMESTAMPTZ,
    renewal_due_at         TIMESTAMPTZ,
    replaced_by_order_id   UUID REFERENCES orders (id),
    billing_provider       TEXT,
    billing_invoices       TEXT[] NOT NULL DEFAULT '{}',
    billing_metadata       JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT contracts_state_known CHECK (state IN ('active', 'lost', 'upgraded', 'downgraded'))
);
-- A fulfilled order has exactly one contract: creating it twice is a no-op.
CREATE UNIQUE INDEX contracts_order_key ON contracts (order_id);
CREATE INDEX contracts_partner_idx ON contracts (partner_id, created_at);
CREATE INDEX contracts_distributor_idx ON contracts (distributor_id, created_at);
CREATE INDEX contracts_expiry_idx ON contracts (expiration_date) WHERE state = 'active' AND renewal_due_at IS NULL;
CREATE INDEX contracts_created_idx ON contracts (created_at, id);
ALTER TABLE orders ADD CONSTRAINT orders_replaces_contract_fk FOREIGN KEY (replaces_contract_id) REFERENCES contracts (id);
ALTER TABLE leads ADD CONSTRAINT leads_converted_order_fk FOREIGN KEY (converted_order_id) REFERENCES orders (id) ON DELETE SET NULL;

-- Every accepted transition, in order. (object_type, object_id, version) is unique, so
-- two transitions can never both claim the same step: the history is linear.
CREATE TABLE lifecycle_history (
    id           BIGSERIAL PRIMARY KEY,
    object_type  TEXT NOT NULL,
    object_id    UUID NOT NULL,
    version      INTEGER NOT NULL,
    event        TEXT NOT NULL,
    from_state   TEXT NOT NULL,
    to_state     TEXT NOT NULL,
    actor_id     UUID REFERENCES users (id),
    occurred_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    payload      JSONB NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT lifecycle_history_object_known CHECK (object_type IN ('lead', 'order', 'contract'))
);
CREATE UNIQUE INDEX lifecycle_history_step_key ON lifecycle_history (object_type, object_id, version);

CREATE TABLE notes (
    id           UUID PRIMARY KEY,
    object_type  TEXT NOT NULL,
    object_id    UUID NOT NULL,
    author_id    UUID NOT NULL REFERENCES users (id),
    visibility   TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT notes_object_known CHECK (object_type IN ('lead', 'order', 'contract')),
    CONSTRAINT notes_visibility_known CHECK (visibility IN ('internal', 'partner_visible')),
    CONSTRAINT notes_body_not_blank CHECK (btrim(body) <> '')
);
CREATE INDEX notes_object_idx ON notes (object_type, object_id, created_at, id);

-- The first answer to a POST carrying `Idempotency-Key`, replayed for the same key.
CREATE TABLE idempotency_keys (
    user_id          UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key              TEXT NOT NULL,
    fingerprint      BYTEA NOT NULL,
    response_status  INTEGER NOT NULL,
    response_body    JSONB NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

-- Every call the recording provider received (the stand-in for real CRM and billing
-- providers): a second call with the same idempotency key is answered from here.
CREATE TABLE provider_calls (
    id               BIGSERIAL PRIMARY KEY,
    provider_kind    TEXT NOT NULL,
    provider_name    TEXT NOT NULL,
    operation        TEXT NOT NULL,
    idempotency_key  TEXT NOT NULL,
    request          JSONB NOT NULL,
    external_id      TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT provider_calls_kind_known CHECK (provider_kind IN ('crm', 'billing'))
);
CREATE UNIQUE INDEX provider_calls_key ON provider_calls (provider_name, idempotency_key);
