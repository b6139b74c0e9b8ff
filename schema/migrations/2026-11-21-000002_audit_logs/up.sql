-- Append-only audit trail: who did what to which object, when, from which request.
CREATE TABLE audit_logs (
    id           BIGSERIAL PRIMARY KEY,
    occurred_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id     UUID REFERENCES users (id),
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT,
    request_id   TEXT,
    details      JSONB NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_logs_object_idx ON audit_logs (object_type, object_id, occurred_at);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, occurred_at) WHERE actor_id IS NOT NULL;
