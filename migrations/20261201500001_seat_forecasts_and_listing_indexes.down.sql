DROP INDEX IF EXISTS customers_reseller_listed;
DROP INDEX IF EXISTS seat_limits_reseller_forecast;
ALTER TABLE seat_limits DROP COLUMN IF EXISTS over_limit_in_days;
