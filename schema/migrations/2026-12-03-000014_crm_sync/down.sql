DROP TABLE crm_push_leases;
ALTER TABLE provider_health_checks DROP CONSTRAINT provider_health_checks_trigger_known, ADD CONSTRAINT provider_health_checks_trigger_known CHECK (trigger IN ('test', 'schedule'));
ALTER TABLE provider_configs DROP COLUMN runtime;
DROP TABLE crm_activities;
DROP TABLE webhook_events;
DROP TABLE crm_links;
