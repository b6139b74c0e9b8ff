DROP TABLE provider_call_log;
DROP TABLE provider_health_checks;
DROP TABLE provider_configs;
