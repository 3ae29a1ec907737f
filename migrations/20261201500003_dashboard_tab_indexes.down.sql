DROP INDEX IF EXISTS seat_limits_reseller_exceeding;
