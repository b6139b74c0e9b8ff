ALTER TABLE raw_records ADD CONSTRAINT raw_records_sync_run_id_fkey
    FOREIGN KEY (sync_run_id) REFERENCES sync_runs (id) ON DELETE SET NULL;
