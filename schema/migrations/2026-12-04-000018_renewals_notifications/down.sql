DROP TABLE notifications;
DROP INDEX orders_one_renewal_per_contract;
ALTER TABLE orders DROP COLUMN renews_contract_id;
ALTER TABLE users DROP COLUMN language;
