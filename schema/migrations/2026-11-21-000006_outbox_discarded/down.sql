DROP INDEX outbox_failures_idx;
UPDATE outbox SET status = 'dead' WHERE status = 'discarded';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_known;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_known
    CHECK (status IN ('pending', 'enqueued', 'running', 'done', 'dead'));
