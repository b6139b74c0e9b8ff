-- Two-way CRM sync (issue 17): where a Tentabo lead lives in the CRM, the webhook
-- deliveries received, and the activities of a lead's deal.

-- One row per CRM object a lead is linked to (its person, organization, and the CRM's
-- lead or deal). `pushed_version` is the lead version last sent (an older push never
-- overwrites a newer one); `synced_at` is when the two sides last agreed (a push or an
-- applied change): a local edit after it and a remote change together are a conflict.
CREATE TABLE crm_links (
    lead_id            UUID NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    provider           TEXT NOT NULL,
    object             TEXT NOT NULL,
    external_id        TEXT NOT NULL,
    pushed_version     INTEGER NOT NULL DEFAULT 0,
    remote_updated_at  TIMESTAMPTZ,
    synced_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (lead_id, provider, object),
    CONSTRAINT crm_links_object_known CHECK (object IN ('person', 'organization', 'lead', 'deal'))
);
CREATE INDEX crm_links_external_idx ON crm_links (provider, object, external_id);

-- Every webhook delivery accepted (credentials verified). A retried delivery carries the
-- same event id and is counted, not stored twice; a job processes each event once.
CREATE TABLE webhook_events (
    id            BIGSERIAL PRIMARY KEY,
    provider      TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    entity        TEXT NOT NULL,
    action        TEXT NOT NULL,
    entity_id     TEXT,
    payload       JSONB NOT NULL,
    deliveries    INTEGER NOT NULL DEFAULT 1,
    received_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at  TIMESTAMPTZ,
    outcome       TEXT,
    CONSTRAINT webhook_events_once UNIQUE (provider, event_id),
    CONSTRAINT webhook_events_payload_object CHECK (jsonb_typeof(payload) = 'object')
);
CREATE INDEX webhook_events_received_idx ON webhook_events (provider, received_at DESC);

-- Activities (calls, meetings, tasks…) as the CRM holds them, and the ones created in
-- Tentabo waiting for their push (external_id NULL until the CRM answers).
CREATE TABLE crm_activities (
    id            UUID PRIMARY KEY,
    provider      TEXT NOT NULL,
    external_id   TEXT,
    lead_id       UUID REFERENCES leads (id) ON DELETE CASCADE,
    deal_external_id TEXT,
    kind          TEXT NOT NULL,
    subject       TEXT NOT NULL,
    due_date      DATE,
    due_time      TEXT,
    done          BOOLEAN NOT NULL DEFAULT FALSE,
    owner         TEXT,
    note          TEXT,
    created_by    UUID REFERENCES users (id),
    remote_updated_at TIMESTAMPTZ,
    deleted_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX crm_activities_external_key ON crm_activities (provider, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX crm_activities_lead_idx ON crm_activities (lead_id, due_date) WHERE lead_id IS NOT NULL;
CREATE INDEX crm_activities_deal_idx ON crm_activities (provider, deal_external_id);

-- What Tentabo itself keeps about a configured provider (not the admin's settings):
-- e.g. the ids of the webhooks it registered, to remove them on deactivation.
ALTER TABLE provider_configs ADD COLUMN runtime JSONB NOT NULL DEFAULT '{}'::jsonb;

-- Health also changes when a call finds the provider unusable (a revoked OAuth grant).
ALTER TABLE provider_health_checks DROP CONSTRAINT provider_health_checks_trigger_known,
    ADD CONSTRAINT provider_health_checks_trigger_known CHECK (trigger IN ('test', 'schedule', 'call'));

-- One push of a lead at a time (two pushes racing would both search, find nothing and
-- both create): a lease, taken by the job and released after, expiring if its holder
-- dies. A push finding the lease taken sets `again` and ends: the holder pushes the
-- lead once more before it lets go.
CREATE TABLE crm_push_leases (
    lead_id     UUID PRIMARY KEY REFERENCES leads (id) ON DELETE CASCADE,
    holder      UUID NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL,
    again       BOOLEAN NOT NULL DEFAULT FALSE
);
