-- Directory (LDAP) and single sign-on (OpenID Connect) users.

-- Who the user is in the external system: the LDAP entry's DN, or the OpenID
-- provider's `iss` + `sub` (Entra ID: the tenant's issuer and the object id). One
-- Tentabo user per external identity.
ALTER TABLE users ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_key ON users (auth_provider, external_id)
    WHERE external_id IS NOT NULL;

-- A login started at an OpenID provider: the `state` (only its hash is kept, the
-- value travels in the browser), the `nonce` the ID token must carry, the PKCE
-- verifier, and where the console wants to land. Single use, short-lived.
CREATE TABLE sso_logins (
    state_hash    TEXT PRIMARY KEY,
    provider      TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to     TEXT,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at    TIMESTAMPTZ NOT NULL,
    used_at       TIMESTAMPTZ
);
CREATE INDEX sso_logins_expiry_idx ON sso_logins (expires_at);

-- The one-time code the SSO callback hands the console (never a token in a URL),
-- exchanged once for the usual token pair. Only its hash is kept.
CREATE TABLE sso_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX sso_codes_expiry_idx ON sso_codes (expires_at);

-- Health checks may be recorded by the directory sync as well.
ALTER TABLE provider_health_checks DROP CONSTRAINT provider_health_checks_trigger_known,
    ADD CONSTRAINT provider_health_checks_trigger_known CHECK (trigger IN ('test', 'schedule', 'call', 'sync'));
