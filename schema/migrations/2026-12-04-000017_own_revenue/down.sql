DROP TABLE serving_contract_revenue;
DELETE FROM serving_pipeline WHERE scope_key <> '';
DELETE FROM serving_won_revenue WHERE scope_key <> '';
ALTER TABLE serving_won_revenue DROP CONSTRAINT serving_won_revenue_pkey;
ALTER TABLE serving_won_revenue ADD PRIMARY KEY (provider, month, owner_external_id, currency);
ALTER TABLE serving_won_revenue DROP COLUMN own_partner_id, DROP COLUMN own_distributor_id, DROP COLUMN scope_key;
ALTER TABLE serving_pipeline DROP CONSTRAINT serving_pipeline_pkey;
ALTER TABLE serving_pipeline ADD PRIMARY KEY (provider, status, owner_external_id, currency);
ALTER TABLE serving_pipeline DROP COLUMN own_partner_id, DROP COLUMN own_distributor_id, DROP COLUMN scope_key;
