-- Emptying usage_daily with TRUNCATE fires no row or statement trigger that queues forecasts, so
-- every stored forecast would stand, read from usage that is gone, until the next day's full pass.
-- A TRUNCATE forgets the forecast step's last pass instead: the next tick makes a full one. It runs
-- as its owner, as the SLA queue's triggers do: engine_steps is the engine's, not a tenant's.
-- (Seat limits carry their forecasts: truncated, they take them along.)
CREATE FUNCTION forget_seat_forecast_pass() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE engine_steps SET last_success_at = NULL WHERE step = 'seat_forecasts';
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION forget_seat_forecast_pass() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION forget_seat_forecast_pass() TO msp_app;

CREATE TRIGGER seat_forecasts_truncated AFTER TRUNCATE ON usage_daily
    FOR EACH STATEMENT EXECUTE FUNCTION forget_seat_forecast_pass();
