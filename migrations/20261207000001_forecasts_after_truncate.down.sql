DROP TRIGGER seat_forecasts_truncated ON usage_daily;
DROP FUNCTION forget_seat_forecast_pass();
