-- The effects of one lead, order or contract are found by their outbox keys' prefix
-- (`order:<id>:v…`); the unique index's collation cannot serve a prefix match.
CREATE INDEX outbox_key_prefix ON outbox (idempotency_key text_pattern_ops);
