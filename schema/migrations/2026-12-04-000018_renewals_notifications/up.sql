-- Renewals that reach people (issue 20): the user's language for what Tentabo writes to
-- them, the renewal order a due contract gets, and in-app notifications with the state
-- of their email.

ALTER TABLE users ADD COLUMN language TEXT NOT NULL DEFAULT 'en'
    CONSTRAINT users_language_known CHECK (language IN ('en', 'fr'));

-- A draft order renewing a contract: at most one per contract.
ALTER TABLE orders ADD COLUMN renews_contract_id UUID REFERENCES contracts (id);
CREATE UNIQUE INDEX orders_one_renewal_per_contract ON orders (renews_contract_id)
    WHERE renews_contract_id IS NOT NULL;

CREATE TABLE notifications (
    id            UUID PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CONSTRAINT notifications_kind_known CHECK (kind IN ('renewal_due')),
    object_type   TEXT NOT NULL,
    object_id     UUID NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    data          JSONB NOT NULL DEFAULT '{}',
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    read_at       TIMESTAMPTZ,
    email_status  TEXT NOT NULL DEFAULT 'pending'
        CONSTRAINT notifications_email_status_known CHECK (email_status IN ('pending', 'sent', 'skipped')),
    email_error   TEXT,
    emailed_at    TIMESTAMPTZ,
    -- One notification of a kind per object and person, however often a scan runs.
    CONSTRAINT notifications_once UNIQUE (kind, object_id, user_id)
);
CREATE INDEX notifications_inbox_idx ON notifications (user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
