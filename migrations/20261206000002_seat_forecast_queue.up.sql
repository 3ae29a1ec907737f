-- The engine's seat forecasts were a full pass every 15 minutes: 30 days of usage of every seat
-- limit (7.8 s on the large dataset), almost always to find nothing changed. A forecast depends on
-- the customer's usage of the last 30 days, its seat limits and seats in use, its lifecycle, and
-- the day. Every statement that changes one of the first three queues the customers it touched, in
-- its own transaction; the step forecasts just those, and makes its full pass once a UTC day, when
-- the 30-day window moves for everyone. As with mau_recount, the step takes the queue and reads the
-- data in one statement, at one snapshot: a customer queued by a transaction that commits later
-- stays queued for the next tick. Duplicates are harmless.
CREATE TABLE seat_forecast_queue (
    reseller_id  bigint NOT NULL,
    customer_id  bigint NOT NULL
);
ALTER TABLE seat_forecast_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE seat_forecast_queue FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON seat_forecast_queue USING (app_may_see(reseller_id, customer_id));

-- SECURITY INVOKER: a report or a form queues in its own scope, like the row it changed.
-- Bulk inserts (a seed's nine million usage days) queue once per statement, from the transition
-- table; updates queue per row, and only when a column the forecast reads has changed.
CREATE FUNCTION queue_seat_forecasts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seat_forecast_queue (reseller_id, customer_id)
    SELECT DISTINCT reseller_id, customer_id FROM changed_rows;
    RETURN NULL;
END $$;

-- A row moved to another customer changes the forecasts of both.
CREATE FUNCTION queue_seat_forecast() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seat_forecast_queue (reseller_id, customer_id) VALUES (NEW.reseller_id, NEW.customer_id);
    IF OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
        INSERT INTO seat_forecast_queue (reseller_id, customer_id) VALUES (OLD.reseller_id, OLD.customer_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION queue_customer_seat_forecast() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO seat_forecast_queue (reseller_id, customer_id) VALUES (NEW.reseller_id, NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER queue_seat_forecasts_inserted AFTER INSERT ON usage_daily REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION queue_seat_forecasts();
CREATE TRIGGER queue_seat_forecasts_deleted AFTER DELETE ON usage_daily REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION queue_seat_forecasts();
CREATE TRIGGER queue_seat_forecast_updated AFTER UPDATE ON usage_daily
    FOR EACH ROW WHEN ((OLD.seats, OLD.day, OLD.customer_id) IS DISTINCT FROM (NEW.seats, NEW.day, NEW.customer_id))
    EXECUTE FUNCTION queue_seat_forecast();

CREATE TRIGGER queue_seat_forecasts_inserted AFTER INSERT ON seat_limits REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION queue_seat_forecasts();
CREATE TRIGGER queue_seat_forecast_updated AFTER UPDATE ON seat_limits
    FOR EACH ROW WHEN ((OLD.seats_used, OLD.seat_limit, OLD.seat_property, OLD.customer_id)
                       IS DISTINCT FROM (NEW.seats_used, NEW.seat_limit, NEW.seat_property, NEW.customer_id))
    EXECUTE FUNCTION queue_seat_forecast();

CREATE TRIGGER queue_seat_forecast_updated AFTER UPDATE ON customers
    FOR EACH ROW WHEN (OLD.lifecycle IS DISTINCT FROM NEW.lifecycle)
    EXECUTE FUNCTION queue_customer_seat_forecast();

-- The engine before this migration may have made today's pass already; what changed since is in
-- no queue. The next tick makes the full pass again.
UPDATE engine_steps SET last_success_at = NULL WHERE step = 'seat_forecasts';
