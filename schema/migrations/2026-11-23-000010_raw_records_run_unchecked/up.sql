-- `raw_records.sync_run_id` names the run that wrote the row's version. Its foreign key
-- made Postgres run a referential check (a query locking the run's row) for every raw
-- row written — a fifth of a full run's load time at a million records. The sync runs
-- it names are never deleted, and the loader writes only the id of the run executing
-- (whose row it updates in the same transaction), so the key guarded nothing the
-- loader does not already guarantee. Quarantine, logs and conflicts keep theirs (their
-- writes are rare).
ALTER TABLE raw_records DROP CONSTRAINT raw_records_sync_run_id_fkey;
