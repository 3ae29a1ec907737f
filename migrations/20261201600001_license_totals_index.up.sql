-- The licence page sums a reseller's MAU per month over all its organizations (20,000 for the
-- largest, so 240,000 rows for twelve months) on every view. With the customer and the MAU in the
-- index the sum is an index-only scan instead of a heap visit per row; the key is the old
-- index's, which this one replaces (the engine's overage check uses the same key).
CREATE INDEX mau_monthly_reseller_month_mau ON mau_monthly (reseller_id, month) INCLUDE (customer_id, mau);
DROP INDEX IF EXISTS mau_monthly_reseller_month;
