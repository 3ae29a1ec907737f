DROP INDEX IF EXISTS customers_reseller_sla;
ALTER TABLE customers DROP COLUMN IF EXISTS sla_score;
