-- The SLA score of each customer, kept by the engine (domain::sla::score over the last 30 days),
-- so that the customer list can sort the riskiest customers first without computing it per row.
ALTER TABLE customers ADD COLUMN sla_score smallint CHECK (sla_score BETWEEN 0 AND 100);
CREATE INDEX customers_reseller_sla ON customers (reseller_id, sla_score, id) WHERE lifecycle <> 'deleted';
