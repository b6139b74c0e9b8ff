DROP INDEX outbox_key_prefix;
