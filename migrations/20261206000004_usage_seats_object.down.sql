ALTER TABLE usage_daily DROP CONSTRAINT IF EXISTS usage_daily_seats_object;
