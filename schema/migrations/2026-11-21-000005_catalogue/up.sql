-- The product catalogue: products with progressive price lists, subscription
-- durations, and the history of every price-list change.
CREATE TABLE products (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL,
    product_type  TEXT NOT NULL,
    unit          TEXT NOT NULL,
    pricing_mode  TEXT NOT NULL DEFAULT 'graduated',
    currency      TEXT NOT NULL DEFAULT 'EUR',
    is_active     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT products_pricing_mode_known CHECK (pricing_mode IN ('graduated', 'volume')),
    CONSTRAINT products_currency_iso CHECK (currency ~ '^[A-Z]{3}$')
);
CREATE UNIQUE INDEX products_name_key ON products (lower(name));

-- One row per tier, in order. A tier covers units min_quantity + 1 … max_quantity.
CREATE TABLE product_price_tiers (
    product_id      UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    position        INTEGER NOT NULL,
    min_quantity    BIGINT NOT NULL,
    max_quantity    BIGINT,
    price_per_unit  NUMERIC(18, 4) NOT NULL,
    period          TEXT NOT NULL,
    PRIMARY KEY (product_id, position),
    CONSTRAINT price_tiers_period_known CHECK (period IN ('month', 'year')),
    CONSTRAINT price_tiers_bounds CHECK (min_quantity >= 0 AND (max_quantity IS NULL OR max_quantity > min_quantity)),
    CONSTRAINT price_tiers_price_not_negative CHECK (price_per_unit >= 0)
);

CREATE TABLE durations (
    id                   UUID PRIMARY KEY,
    months               INTEGER NOT NULL,
    discount_percentage  NUMERIC(5, 2) NOT NULL DEFAULT 0,
    is_active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT durations_months_range CHECK (months BETWEEN 1 AND 120),
    CONSTRAINT durations_discount_range CHECK (discount_percentage BETWEEN 0 AND 100)
);
CREATE UNIQUE INDEX durations_months_key ON durations (months);

-- Every price list a product has had, with who set it and when.
CREATE TABLE product_price_history (
    id            BIGSERIAL PRIMARY KEY,
    product_id    UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    changed_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    changed_by    UUID REFERENCES users (id),
    pricing_mode  TEXT NOT NULL,
    price_list    JSONB NOT NULL
);
CREATE INDEX product_price_history_product_idx ON product_price_history (product_id, changed_at);
