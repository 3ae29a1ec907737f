-- The KPI header's two remaining live counts, kept by triggers like reseller_counts:
--
-- * "Expiring soon" depends on today's date, so it cannot be one number per reseller. It is kept
--   as a histogram: per reseller and day, how many rows of the expiring tab end that day (an
--   evaluation's end, a service's expiry; a customer can be both). Scheduled deletions are due
--   whatever their date, so they sit on -infinity, which every window includes. The header sums
--   the days up to today + window: a few dozen rows instead of counting the largest reseller's
--   1,559 expiring customers on every page (~1 ms of its ~2.3 ms in PostgreSQL).
-- * "Approaching limits" is the engine's stored forecast (seat_limits.over_limit_in_days) of
--   active customers' seat limits not yet exceeded: one more column of reseller_counts.
--
-- Exact at every commit; tests/it/roll_ups.rs compares both with the raw counts after every kind
-- of change.
CREATE TABLE reseller_endings (
    reseller_id bigint NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    ends_on     date   NOT NULL,
    -- No CHECK (>= 0), for the reason given in reseller_counts. Days that drop to zero stay: they
    -- add nothing to a sum, and a day past the window is never read again.
    customers   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (reseller_id, ends_on)
);
-- The operator's header sums every reseller's days.
CREATE INDEX reseller_endings_by_day ON reseller_endings (ends_on);
ALTER TABLE reseller_endings ENABLE ROW LEVEL SECURITY;
ALTER TABLE reseller_endings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reseller_endings USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator'
    OR (app_scope() = 'customer' AND reseller_id = app_reseller_id()));

ALTER TABLE reseller_counts ADD COLUMN approaching_seat_limits bigint NOT NULL DEFAULT 0;

CREATE TYPE reseller_ending_change AS (reseller_id bigint, ends_on date, customers bigint);

CREATE FUNCTION add_reseller_endings(p_changes reseller_ending_change[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_endings AS r (reseller_id, ends_on, customers)
    SELECT d.reseller_id, d.ends_on, sum(d.customers)
    FROM unnest(p_changes) AS d
    WHERE d.reseller_id IS NOT NULL AND d.ends_on IS NOT NULL
    GROUP BY d.reseller_id, d.ends_on
    HAVING sum(d.customers) <> 0
    ORDER BY d.reseller_id, d.ends_on
    ON CONFLICT (reseller_id, ends_on) DO UPDATE SET customers = r.customers + EXCLUDED.customers
$$;

-- The rows one customer puts on the expiring tab, times p_sign: the same conditions as
-- store::dashboard::EXPIRING_KINDS (a NULL day is left out by add_reseller_endings).
CREATE FUNCTION customer_endings(p_reseller_id bigint, p_lifecycle text, p_is_default boolean,
                                 p_tenant_type text, p_trial_ends_on date, p_service_expires_on date,
                                 p_sign int) RETURNS reseller_ending_change[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_is_default THEN ARRAY[]::reseller_ending_change[]
        WHEN p_lifecycle = 'scheduled_for_deletion' THEN
            ARRAY[ROW(p_reseller_id, '-infinity'::date, p_sign)::reseller_ending_change]
        WHEN p_lifecycle = 'active' THEN
            ARRAY[ROW(p_reseller_id, CASE WHEN p_tenant_type = 'evaluation' THEN p_trial_ends_on END, p_sign)::reseller_ending_change,
                  ROW(p_reseller_id, p_service_expires_on, p_sign)::reseller_ending_change]
        ELSE ARRAY[]::reseller_ending_change[]
    END
$$;

-- Adds p_n to reseller's approaching seat limits.
CREATE FUNCTION add_approaching_seat_limits(p_reseller_id bigint, p_n bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_counts AS r (reseller_id, approaching_seat_limits)
    SELECT p_reseller_id, p_n WHERE p_reseller_id IS NOT NULL AND p_n <> 0
    ON CONFLICT (reseller_id) DO UPDATE SET approaching_seat_limits = r.approaching_seat_limits + EXCLUDED.approaching_seat_limits
$$;

-- A customer's seat limits approaching their limit (counted only while the customer is active).
CREATE FUNCTION customer_approaching_seat_limits(p_customer_id bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM seat_limits
    WHERE customer_id = p_customer_id AND over_limit_in_days IS NOT NULL AND seats_used <= seat_limit
$$;

-- Customers. A new customer has no seat limits yet. One removed outright is subtracted by its
-- BEFORE DELETE trigger while its seat limits still exist; their cascaded deletes then find no
-- customer and subtract nothing (as in reseller_counts).
CREATE FUNCTION due_inserted_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_endings(array_agg(e))
    FROM changed_rows c,
         unnest(customer_endings(c.reseller_id, c.lifecycle, c.is_default, c.tenant_type,
                                 c.trial_ends_on, c.service_expires_on, 1)) e;
    RETURN NULL;
END $$;

CREATE FUNCTION due_changed_customer() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    approaching bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM add_reseller_endings(customer_endings(OLD.reseller_id, OLD.lifecycle, OLD.is_default,
            OLD.tenant_type, OLD.trial_ends_on, OLD.service_expires_on, -1));
        IF OLD.lifecycle = 'active' THEN
            PERFORM add_approaching_seat_limits(OLD.reseller_id, -customer_approaching_seat_limits(OLD.id));
        END IF;
        RETURN OLD;
    END IF;
    PERFORM add_reseller_endings(
        customer_endings(OLD.reseller_id, OLD.lifecycle, OLD.is_default, OLD.tenant_type,
                         OLD.trial_ends_on, OLD.service_expires_on, -1)
        || customer_endings(NEW.reseller_id, NEW.lifecycle, NEW.is_default, NEW.tenant_type,
                            NEW.trial_ends_on, NEW.service_expires_on, 1));
    IF (OLD.lifecycle = 'active') IS DISTINCT FROM (NEW.lifecycle = 'active')
       OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id THEN
        -- The customer's seat limits keep its reseller (they are moved with it, if ever).
        approaching := customer_approaching_seat_limits(NEW.id);
        PERFORM add_approaching_seat_limits(OLD.reseller_id, -(OLD.lifecycle = 'active')::int * approaching);
        PERFORM add_approaching_seat_limits(NEW.reseller_id, (NEW.lifecycle = 'active')::int * approaching);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER due_inserted AFTER INSERT ON customers REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION due_inserted_customers();
CREATE TRIGGER due_updated AFTER UPDATE ON customers FOR EACH ROW
    WHEN (OLD.lifecycle IS DISTINCT FROM NEW.lifecycle OR OLD.is_default IS DISTINCT FROM NEW.is_default
          OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id OR OLD.tenant_type IS DISTINCT FROM NEW.tenant_type
          OR OLD.trial_ends_on IS DISTINCT FROM NEW.trial_ends_on
          OR OLD.service_expires_on IS DISTINCT FROM NEW.service_expires_on)
    EXECUTE FUNCTION due_changed_customer();
CREATE TRIGGER due_removed BEFORE DELETE ON customers FOR EACH ROW
    WHEN (OLD.lifecycle IN ('active', 'scheduled_for_deletion'))
    EXECUTE FUNCTION due_changed_customer();

-- Seat limits: one counts while it is forecast to be exceeded, not yet exceeded, and its customer
-- is active.
CREATE FUNCTION approaching_seat_limits_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_approaching_seat_limits(d.reseller_id, d.n)
    FROM (SELECT s.reseller_id, CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END AS n
          FROM changed_rows s JOIN customers c ON c.id = s.customer_id
          WHERE s.over_limit_in_days IS NOT NULL AND s.seats_used <= s.seat_limit AND c.lifecycle = 'active'
          GROUP BY s.reseller_id ORDER BY s.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION approaching_seat_limit_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_approaching_seat_limits(OLD.reseller_id,
        -(OLD.over_limit_in_days IS NOT NULL AND OLD.seats_used <= OLD.seat_limit
          AND EXISTS (SELECT FROM customers c WHERE c.id = OLD.customer_id AND c.lifecycle = 'active'))::int);
    PERFORM add_approaching_seat_limits(NEW.reseller_id,
        (NEW.over_limit_in_days IS NOT NULL AND NEW.seats_used <= NEW.seat_limit
         AND EXISTS (SELECT FROM customers c WHERE c.id = NEW.customer_id AND c.lifecycle = 'active'))::int);
    RETURN NULL;
END $$;

CREATE TRIGGER approaching_inserted AFTER INSERT ON seat_limits REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION approaching_seat_limits_changed();
CREATE TRIGGER approaching_deleted AFTER DELETE ON seat_limits REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION approaching_seat_limits_changed();
CREATE TRIGGER approaching_updated AFTER UPDATE ON seat_limits FOR EACH ROW
    WHEN ((OLD.over_limit_in_days IS NOT NULL AND OLD.seats_used <= OLD.seat_limit)
              IS DISTINCT FROM (NEW.over_limit_in_days IS NOT NULL AND NEW.seats_used <= NEW.seat_limit)
          OR (OLD.over_limit_in_days IS NOT NULL AND OLD.seats_used <= OLD.seat_limit
              AND (OLD.customer_id IS DISTINCT FROM NEW.customer_id OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)))
    EXECUTE FUNCTION approaching_seat_limit_updated();

-- Lock the counted tables while counting, so no change slips between the count and the triggers.
LOCK TABLE customers, seat_limits IN SHARE MODE;
INSERT INTO reseller_endings (reseller_id, ends_on, customers)
SELECT e.reseller_id, e.ends_on, sum(e.customers)
FROM customers c,
     unnest(customer_endings(c.reseller_id, c.lifecycle, c.is_default, c.tenant_type,
                             c.trial_ends_on, c.service_expires_on, 1)) e
WHERE e.ends_on IS NOT NULL
GROUP BY e.reseller_id, e.ends_on;
INSERT INTO reseller_counts AS r (reseller_id, approaching_seat_limits)
SELECT s.reseller_id, count(*)
FROM seat_limits s JOIN customers c ON c.id = s.customer_id
WHERE s.over_limit_in_days IS NOT NULL AND s.seats_used <= s.seat_limit AND c.lifecycle = 'active'
GROUP BY s.reseller_id
ON CONFLICT (reseller_id) DO UPDATE SET approaching_seat_limits = EXCLUDED.approaching_seat_limits;
