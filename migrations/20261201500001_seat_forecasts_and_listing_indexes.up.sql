-- Performance at MSP scale (docs/performance.md).
--
-- The "approaching limits" forecast was computed on every dashboard request from 30 days of usage
-- of every seat limit of the reseller: seconds for a reseller with 20,000 customers. The engine now
-- stores it per seat limit (whole days until usage passes the limit at the recent trend; NULL: not
-- within the horizon), and the dashboard reads it through an index.
ALTER TABLE seat_limits ADD COLUMN over_limit_in_days integer CHECK (over_limit_in_days >= 0);
CREATE INDEX seat_limits_reseller_forecast ON seat_limits (reseller_id, over_limit_in_days)
    WHERE over_limit_in_days IS NOT NULL;

-- The customer list, the reseller tree and the KPI header count and page a reseller's customers
-- that are not deleted: one index answers all three without visiting the table.
CREATE INDEX customers_reseller_listed ON customers (reseller_id, lower(name), id) INCLUDE (is_default)
    WHERE lifecycle <> 'deleted';
