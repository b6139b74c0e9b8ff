-- The transactional outbox, which is also the ledger of every job.
--
-- A row is written in the same transaction as the change that causes it. The relay
-- claims due rows with a lease (claimed_until), pushes each to its apalis-redis queue
-- outside any transaction, then marks it enqueued. The job marks it running, then done,
-- or back to pending with a later available_at (retry with backoff), or dead after
-- max_attempts. Postgres, not Redis, is the source of truth for a job's state.
CREATE TABLE outbox (
    id               BIGSERIAL PRIMARY KEY,
    queue            TEXT NOT NULL,
    payload          JSONB NOT NULL,
    idempotency_key  TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 10,
    available_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    claimed_by       TEXT,
    claimed_until    TIMESTAMPTZ,
    enqueued_at      TIMESTAMPTZ,
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    last_error       TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT outbox_status_known CHECK (status IN ('pending', 'enqueued', 'running', 'done', 'dead')),
    CONSTRAINT outbox_attempts_range CHECK (attempts >= 0 AND max_attempts > 0)
);
CREATE UNIQUE INDEX outbox_idempotency_key ON outbox (idempotency_key);
-- The relay's claim query: due pending rows of one queue, oldest first.
CREATE INDEX outbox_due_idx ON outbox (queue, available_at, id) WHERE status = 'pending';
-- Redelivery and stuck-job sweeps, and the ops counts by state.
CREATE INDEX outbox_inflight_idx ON outbox (status, queue) WHERE status IN ('enqueued', 'running', 'dead');
