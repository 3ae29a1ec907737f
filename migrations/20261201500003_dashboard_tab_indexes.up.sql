-- The dashboard's "exceeding usage" count and tab read a reseller's seat limits over their limit;
-- without an index of those few rows the KPI header scanned every seat limit (EXPLAIN on the
-- benchmark's largest reseller: two sequential scans, 130 ms).
CREATE INDEX seat_limits_reseller_exceeding ON seat_limits (reseller_id, customer_id)
    WHERE seats_used > seat_limit;
