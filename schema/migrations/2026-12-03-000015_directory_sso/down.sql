ALTER TABLE provider_health_checks DROP CONSTRAINT provider_health_checks_trigger_known,
    ADD CONSTRAINT provider_health_checks_trigger_known CHECK (trigger IN ('test', 'schedule', 'call'));
DROP TABLE sso_codes;
DROP TABLE sso_logins;
DROP INDEX users_external_key;
ALTER TABLE users DROP COLUMN external_id;
