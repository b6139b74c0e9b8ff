-- Organisations (distributors, partners, their attachments) and users.
-- A user has exactly one role; partner and distributor users belong to exactly one
-- organisation of their kind, enforced by CHECK constraints named for the API's error mapping.

CREATE TABLE distributors (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT distributors_name_not_blank CHECK (btrim(name) <> '')
);
CREATE UNIQUE INDEX distributors_name_key ON distributors (lower(name));

CREATE TABLE partners (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT partners_name_not_blank CHECK (btrim(name) <> '')
);
CREATE UNIQUE INDEX partners_name_key ON partners (lower(name));

CREATE TABLE distributor_partners (
    distributor_id  UUID NOT NULL REFERENCES distributors (id) ON DELETE CASCADE,
    partner_id      UUID NOT NULL REFERENCES partners (id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (distributor_id, partner_id)
);
CREATE INDEX distributor_partners_partner_idx ON distributor_partners (partner_id);

CREATE TABLE users (
    id              UUID PRIMARY KEY,
    email           TEXT NOT NULL,
    full_name       TEXT NOT NULL,
    password_hash   TEXT,
    role            TEXT NOT NULL,
    distributor_id  UUID REFERENCES distributors (id),
    partner_id      UUID REFERENCES partners (id),
    auth_provider   TEXT NOT NULL DEFAULT 'database',
    is_active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_role_known CHECK (role IN ('admin', 'restricted_admin', 'partner', 'distributor', 'fulfiller')),
    CONSTRAINT users_email_lowercase CHECK (email = lower(btrim(email)) AND email LIKE '%_@_%'),
    CONSTRAINT users_partner_org CHECK ((role = 'partner') = (partner_id IS NOT NULL)),
    CONSTRAINT users_distributor_org CHECK ((role = 'distributor') = (distributor_id IS NOT NULL))
);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX users_partner_idx ON users (partner_id) WHERE partner_id IS NOT NULL;
CREATE INDEX users_distributor_idx ON users (distributor_id) WHERE distributor_id IS NOT NULL;
