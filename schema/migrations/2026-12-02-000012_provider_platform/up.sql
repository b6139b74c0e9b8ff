-- The provider platform (issue 15): providers configured in the product, their health,
-- and one log row per outbound call.

-- One row per configured provider. `configuration` holds the non-secret settings (the
-- provider's typed configuration, checked by the registry before it is stored);
-- `credentials` maps a secret field to its sealed value (`v1.<key id>.<nonce>.<ct>`,
-- see workflows::secrets): the plain value is never stored, returned or logged.
CREATE TABLE provider_configs (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    kind               TEXT NOT NULL,
    name               TEXT NOT NULL,
    is_active          BOOLEAN NOT NULL DEFAULT FALSE,
    configuration      JSONB NOT NULL DEFAULT '{}'::jsonb,
    credentials        JSONB NOT NULL DEFAULT '{}'::jsonb,
    health_status      TEXT,
    health_reason      TEXT,
    last_health_check  TIMESTAMPTZ,
    -- Bumped by every change: workers rebuild a cached client when it moves.
    version            BIGINT NOT NULL DEFAULT 1,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT provider_configs_kind_known CHECK (kind IN ('auth', 'crm', 'billing', 'erp')),
    CONSTRAINT provider_configs_health_known
        CHECK (health_status IS NULL OR health_status IN ('healthy', 'degraded', 'offline')),
    CONSTRAINT provider_configs_credentials_object CHECK (jsonb_typeof(credentials) = 'object'),
    CONSTRAINT provider_configs_configuration_object CHECK (jsonb_typeof(configuration) = 'object'),
    CONSTRAINT provider_configs_kind_name UNIQUE (kind, name)
);
-- At most one active provider per kind.
CREATE UNIQUE INDEX provider_configs_one_active ON provider_configs (kind) WHERE is_active;

-- Recent checks (connection tests and scheduled health checks) per provider.
CREATE TABLE provider_health_checks (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    reason      TEXT,
    latency_ms  INTEGER NOT NULL,
    trigger     TEXT NOT NULL,
    checked_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT provider_health_checks_status_known CHECK (status IN ('healthy', 'degraded', 'offline')),
    CONSTRAINT provider_health_checks_trigger_known CHECK (trigger IN ('test', 'schedule'))
);
CREATE INDEX provider_health_checks_recent ON provider_health_checks (kind, name, checked_at DESC);

-- One row per outbound call attempt: no bodies, no headers, the path as a template.
CREATE TABLE provider_call_log (
    id          BIGSERIAL PRIMARY KEY,
    provider    TEXT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER,
    outcome     TEXT NOT NULL,
    latency_us  BIGINT NOT NULL,
    attempt     INTEGER NOT NULL,
    job_id      BIGINT,
    request_id  TEXT,
    called_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX provider_call_log_recent ON provider_call_log (provider, called_at DESC);
CREATE INDEX provider_call_log_age ON provider_call_log (called_at);
