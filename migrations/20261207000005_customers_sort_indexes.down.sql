DROP INDEX customers_reseller_status;
DROP INDEX customers_reseller_used;
DROP INDEX customers_reseller_quota;
DROP INDEX customers_reseller_mcals;
DROP INDEX customers_reseller_score;
CREATE INDEX customers_reseller_sla ON customers (reseller_id, sla_score, id) WHERE lifecycle <> 'deleted';
