-- Live figures of each reseller for the KPI header and the customer list's reseller tree, kept by
-- triggers in the same transaction as the change, so they are exact at every commit (unlike
-- reseller_figures, which the engine refreshes each tick). Counting the largest reseller's 20,000
-- customers and locations, 1,234 critical connectors and 800 exceeded seat limits on every
-- dashboard and list request cost ~20 ms of the page; reading this row costs one index lookup.
--
-- Statement-level triggers with transition tables for inserts and deletes (a seed's bulk insert is
-- one aggregate, not one call per row), row-level ones with a WHEN guard for updates (the engine's
-- mass updates of SLA scores or storage do not call them). Rows are upserted in reseller order, so
-- two bulk statements lock them in the same order. The triggers run as whoever changes the rows.
CREATE TABLE reseller_counts (
    reseller_id           bigint PRIMARY KEY REFERENCES resellers (id) ON DELETE CASCADE,
    -- No CHECK (>= 0): an upsert's proposed row carries the change (possibly negative) and is
    -- checked before it meets the existing row. tests/it/roll_ups.rs compares with raw counts.
    --
    -- Not deleted and not the built-in default customer (the KPI header's figure).
    customers             bigint NOT NULL DEFAULT 0,
    -- The built-in default customer (of the default reseller), while it is not deleted: the
    -- reseller tree counts it, the KPI header does not.
    default_customers     bigint NOT NULL DEFAULT 0,
    locations             bigint NOT NULL DEFAULT 0,
    -- Of customers that are not deleted: connectors in critical health, seat limits exceeded.
    critical_connectors   bigint NOT NULL DEFAULT 0,
    exceeded_seat_limits  bigint NOT NULL DEFAULT 0
);
-- A request may touch its own reseller's row only, like reseller_figures. Agent reports run in
-- their customer's scope and change connector health and seat usage, so the customer scope may
-- reach its own reseller's row too (the portal never shows it to customer users).
ALTER TABLE reseller_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE reseller_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reseller_counts USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator'
    OR (app_scope() = 'customer' AND reseller_id = app_reseller_id()));

-- A change to one reseller's figures.
CREATE TYPE reseller_count_change AS (
    reseller_id bigint, customers bigint, default_customers bigint, locations bigint,
    critical_connectors bigint, exceeded_seat_limits bigint);

CREATE FUNCTION add_reseller_counts(p_changes reseller_count_change[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_counts AS r (reseller_id, customers, default_customers, locations,
                                      critical_connectors, exceeded_seat_limits)
    SELECT d.reseller_id, sum(d.customers), sum(d.default_customers), sum(d.locations),
           sum(d.critical_connectors), sum(d.exceeded_seat_limits)
    FROM unnest(p_changes) AS d
    WHERE d.reseller_id IS NOT NULL
    GROUP BY d.reseller_id
    HAVING sum(d.customers) <> 0 OR sum(d.default_customers) <> 0 OR sum(d.locations) <> 0
        OR sum(d.critical_connectors) <> 0 OR sum(d.exceeded_seat_limits) <> 0
    ORDER BY d.reseller_id
    ON CONFLICT (reseller_id) DO UPDATE SET customers = r.customers + EXCLUDED.customers,
        default_customers = r.default_customers + EXCLUDED.default_customers,
        locations = r.locations + EXCLUDED.locations,
        critical_connectors = r.critical_connectors + EXCLUDED.critical_connectors,
        exceeded_seat_limits = r.exceeded_seat_limits + EXCLUDED.exceeded_seat_limits
$$;


-- Whether a customer's connectors and seat limits count: it exists and is not deleted.
CREATE FUNCTION customer_is_live(p_customer_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT lifecycle <> 'deleted' FROM customers WHERE id = p_customer_id), false)
$$;

-- Everything one customer adds to its reseller's figures, times p_sign.
CREATE FUNCTION customer_counts(p_id bigint, p_reseller_id bigint, p_lifecycle text, p_is_default boolean,
                                p_sign int) RETURNS reseller_count_change
LANGUAGE sql STABLE AS $$
    SELECT ROW(p_reseller_id,
               p_sign * (live AND NOT p_is_default)::int,
               p_sign * (live AND p_is_default)::int,
               0,
               CASE WHEN live THEN p_sign * (SELECT count(*) FROM connectors
                                             WHERE customer_id = p_id AND health = 'critical') ELSE 0 END,
               CASE WHEN live THEN p_sign * (SELECT count(*) FROM seat_limits
                                             WHERE customer_id = p_id AND seats_used > seat_limit) ELSE 0 END
           )::reseller_count_change
    FROM (SELECT p_lifecycle <> 'deleted' AS live) l
$$;

-- Customers. A new customer has no connectors or seat limits yet; theirs count as they come. A
-- customer removed outright takes its rows along by cascade: its BEFORE DELETE trigger subtracts
-- everything while they still exist, and the cascaded deletes, which no longer find their
-- customer, subtract nothing.
CREATE FUNCTION count_inserted_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(ROW(reseller_id, live, default_live, 0, 0, 0)::reseller_count_change))
    FROM (SELECT reseller_id, count(*) FILTER (WHERE lifecycle <> 'deleted' AND NOT is_default) AS live,
                 count(*) FILTER (WHERE lifecycle <> 'deleted' AND is_default) AS default_live
          FROM changed_rows GROUP BY reseller_id) n;
    RETURN NULL;
END $$;

CREATE FUNCTION count_changed_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM add_reseller_counts(ARRAY[customer_counts(OLD.id, OLD.reseller_id, OLD.lifecycle, OLD.is_default, -1)]);
        RETURN OLD;
    END IF;
    PERFORM add_reseller_counts(ARRAY[
        customer_counts(OLD.id, OLD.reseller_id, OLD.lifecycle, OLD.is_default, -1),
        customer_counts(NEW.id, NEW.reseller_id, NEW.lifecycle, NEW.is_default, 1)]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON customers REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_customers();
CREATE TRIGGER count_updated AFTER UPDATE ON customers FOR EACH ROW
    WHEN (OLD.lifecycle IS DISTINCT FROM NEW.lifecycle OR OLD.is_default IS DISTINCT FROM NEW.is_default
          OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)
    EXECUTE FUNCTION count_changed_customer();
CREATE TRIGGER count_removed BEFORE DELETE ON customers FOR EACH ROW
    WHEN (OLD.lifecycle <> 'deleted')
    EXECUTE FUNCTION count_changed_customer();

-- Locations.
CREATE FUNCTION count_locations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(ROW(reseller_id, 0, 0, n, 0, 0)::reseller_count_change))
    FROM (SELECT reseller_id, CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END AS n
          FROM changed_rows GROUP BY reseller_id) l;
    RETURN NULL;
END $$;

CREATE FUNCTION count_moved_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(ARRAY[ROW(OLD.reseller_id, 0, 0, -1, 0, 0)::reseller_count_change,
                                      ROW(NEW.reseller_id, 0, 0, 1, 0, 0)::reseller_count_change]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON locations REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_locations();
CREATE TRIGGER count_deleted AFTER DELETE ON locations REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_locations();
CREATE TRIGGER count_moved AFTER UPDATE ON locations FOR EACH ROW
    WHEN (OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)
    EXECUTE FUNCTION count_moved_location();

-- Connectors in critical health and exceeded seat limits: a row counts while it is in that state
-- and its customer is live.
CREATE FUNCTION count_connectors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(ROW(reseller_id, 0, 0, 0, n, 0)::reseller_count_change))
    FROM (SELECT k.reseller_id, CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END AS n
          FROM changed_rows k JOIN customers c ON c.id = k.customer_id
          WHERE k.health = 'critical' AND c.lifecycle <> 'deleted' GROUP BY k.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION count_changed_connector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(ARRAY[
        ROW(OLD.reseller_id, 0, 0, 0, -(OLD.health = 'critical' AND customer_is_live(OLD.customer_id))::int, 0)::reseller_count_change,
        ROW(NEW.reseller_id, 0, 0, 0, (NEW.health = 'critical' AND customer_is_live(NEW.customer_id))::int, 0)::reseller_count_change]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON connectors REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_connectors();
CREATE TRIGGER count_deleted AFTER DELETE ON connectors REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_connectors();
CREATE TRIGGER count_updated AFTER UPDATE ON connectors FOR EACH ROW
    WHEN ((OLD.health = 'critical') IS DISTINCT FROM (NEW.health = 'critical')
          OR (OLD.health = 'critical' AND (OLD.customer_id IS DISTINCT FROM NEW.customer_id
                                          OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)))
    EXECUTE FUNCTION count_changed_connector();

CREATE FUNCTION count_seat_limits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(ROW(reseller_id, 0, 0, 0, 0, n)::reseller_count_change))
    FROM (SELECT s.reseller_id, CASE TG_OP WHEN 'DELETE' THEN -count(*) ELSE count(*) END AS n
          FROM changed_rows s JOIN customers c ON c.id = s.customer_id
          WHERE s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted' GROUP BY s.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION count_changed_seat_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(ARRAY[
        ROW(OLD.reseller_id, 0, 0, 0, 0, -(OLD.seats_used > OLD.seat_limit AND customer_is_live(OLD.customer_id))::int)::reseller_count_change,
        ROW(NEW.reseller_id, 0, 0, 0, 0, (NEW.seats_used > NEW.seat_limit AND customer_is_live(NEW.customer_id))::int)::reseller_count_change]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON seat_limits REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_seat_limits();
CREATE TRIGGER count_deleted AFTER DELETE ON seat_limits REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_seat_limits();
CREATE TRIGGER count_updated AFTER UPDATE ON seat_limits FOR EACH ROW
    WHEN ((OLD.seats_used > OLD.seat_limit) IS DISTINCT FROM (NEW.seats_used > NEW.seat_limit)
          OR (OLD.seats_used > OLD.seat_limit AND (OLD.customer_id IS DISTINCT FROM NEW.customer_id
                                                  OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)))
    EXECUTE FUNCTION count_changed_seat_limit();

-- Lock the counted tables while counting, so no change slips between the count and the triggers.
LOCK TABLE customers, locations, connectors, seat_limits IN SHARE MODE;
INSERT INTO reseller_counts (reseller_id, customers, default_customers, locations, critical_connectors, exceeded_seat_limits)
SELECT r.id,
       (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND NOT c.is_default),
       (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.is_default),
       (SELECT count(*) FROM locations l WHERE l.reseller_id = r.id),
       (SELECT count(*) FROM connectors k JOIN customers c ON c.id = k.customer_id
         WHERE k.reseller_id = r.id AND k.health = 'critical' AND c.lifecycle <> 'deleted'),
       (SELECT count(*) FROM seat_limits s JOIN customers c ON c.id = s.customer_id
         WHERE s.reseller_id = r.id AND s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted')
FROM resellers r;
