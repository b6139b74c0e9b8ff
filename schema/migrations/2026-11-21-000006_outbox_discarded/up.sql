-- An operator may discard a job (dead or waiting for a retry): it will not run again.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_known;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_known
    CHECK (status IN ('pending', 'enqueued', 'running', 'done', 'dead', 'discarded'));
-- Recent failures for the ops API, newest first.
CREATE INDEX outbox_failures_idx ON outbox (finished_at DESC, id DESC) WHERE status IN ('dead', 'discarded');
