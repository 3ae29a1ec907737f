DROP INDEX customers_reseller_score;
CREATE INDEX customers_reseller_sla ON customers (reseller_id, sla_score, id) WHERE lifecycle <> 'deleted';
