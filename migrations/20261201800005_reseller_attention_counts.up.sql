-- The KPI header's critical connectors and exceeded seat limits of customers that are not deleted,
-- kept in reseller_counts by triggers like its customer and location counts. Counting them for
-- the largest reseller meant visiting 1,234 connectors and 800 seat limits and their customers on
-- every dashboard request (~15 ms of the page).
--
-- A row counts while it is in the state (health 'critical'; seats_used > seat_limit) and its
-- customer is not deleted. So the counts move when a row enters or leaves the state, when rows
-- come or go, and when a customer is deleted or restored. A customer removed outright takes its
-- rows along by cascade: its BEFORE DELETE trigger subtracts them while they still exist, and the
-- cascaded deletes, which no longer find their customer, subtract nothing.
ALTER TABLE reseller_counts ADD COLUMN critical_connectors bigint NOT NULL DEFAULT 0,
                            ADD COLUMN exceeded_seat_limits bigint NOT NULL DEFAULT 0;

-- Agent reports run in their customer's scope and change connector health and seat usage, so
-- their triggers upsert the reseller's row: the customer scope may reach its own reseller's row
-- (the portal never shows it to customer users).
ALTER POLICY tenant ON reseller_counts USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator'
    OR (app_scope() = 'customer' AND reseller_id = app_reseller_id()));

CREATE FUNCTION add_reseller_attention(p_reseller_id bigint[], p_critical bigint[], p_exceeded bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_counts AS r (reseller_id, critical_connectors, exceeded_seat_limits)
    SELECT d.reseller_id, sum(d.critical), sum(d.exceeded)
    FROM unnest(p_reseller_id, p_critical, p_exceeded) AS d (reseller_id, critical, exceeded)
    WHERE d.reseller_id IS NOT NULL
    GROUP BY d.reseller_id
    HAVING sum(d.critical) <> 0 OR sum(d.exceeded) <> 0
    ORDER BY d.reseller_id
    ON CONFLICT (reseller_id) DO UPDATE SET critical_connectors = r.critical_connectors + EXCLUDED.critical_connectors,
        exceeded_seat_limits = r.exceeded_seat_limits + EXCLUDED.exceeded_seat_limits
$$;

-- Whether a customer's rows count: it exists and is not deleted.
CREATE FUNCTION customer_counts(p_customer_id bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT lifecycle <> 'deleted' FROM customers WHERE id = p_customer_id), false)
$$;

-- Connectors.
CREATE FUNCTION count_inserted_connectors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_attention(array_agg(reseller_id), array_agg(n), array_agg(0::bigint))
    FROM (SELECT k.reseller_id, count(*) AS n FROM new_rows k JOIN customers c ON c.id = k.customer_id
          WHERE k.health = 'critical' AND c.lifecycle <> 'deleted' GROUP BY k.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION count_deleted_connectors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_attention(array_agg(reseller_id), array_agg(-n), array_agg(0::bigint))
    FROM (SELECT k.reseller_id, count(*) AS n FROM old_rows k JOIN customers c ON c.id = k.customer_id
          WHERE k.health = 'critical' AND c.lifecycle <> 'deleted' GROUP BY k.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION count_updated_connector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_attention(
        ARRAY[OLD.reseller_id, NEW.reseller_id],
        ARRAY[-(OLD.health = 'critical' AND customer_counts(OLD.customer_id))::int,
              (NEW.health = 'critical' AND customer_counts(NEW.customer_id))::int]::bigint[],
        ARRAY[0, 0]::bigint[]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON connectors REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_connectors();
CREATE TRIGGER count_deleted AFTER DELETE ON connectors REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_connectors();
CREATE TRIGGER count_updated AFTER UPDATE ON connectors FOR EACH ROW
    WHEN ((OLD.health = 'critical') IS DISTINCT FROM (NEW.health = 'critical')
          OR (OLD.health = 'critical' AND (OLD.customer_id IS DISTINCT FROM NEW.customer_id
                                          OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)))
    EXECUTE FUNCTION count_updated_connector();

-- Seat limits.
CREATE FUNCTION count_inserted_seat_limits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_attention(array_agg(reseller_id), array_agg(0::bigint), array_agg(n))
    FROM (SELECT s.reseller_id, count(*) AS n FROM new_rows s JOIN customers c ON c.id = s.customer_id
          WHERE s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted' GROUP BY s.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION count_deleted_seat_limits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_attention(array_agg(reseller_id), array_agg(0::bigint), array_agg(-n))
    FROM (SELECT s.reseller_id, count(*) AS n FROM old_rows s JOIN customers c ON c.id = s.customer_id
          WHERE s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted' GROUP BY s.reseller_id) d;
    RETURN NULL;
END $$;

CREATE FUNCTION count_updated_seat_limit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_attention(
        ARRAY[OLD.reseller_id, NEW.reseller_id], ARRAY[0, 0]::bigint[],
        ARRAY[-(OLD.seats_used > OLD.seat_limit AND customer_counts(OLD.customer_id))::int,
              (NEW.seats_used > NEW.seat_limit AND customer_counts(NEW.customer_id))::int]::bigint[]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON seat_limits REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_seat_limits();
CREATE TRIGGER count_deleted AFTER DELETE ON seat_limits REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_seat_limits();
CREATE TRIGGER count_updated AFTER UPDATE ON seat_limits FOR EACH ROW
    WHEN ((OLD.seats_used > OLD.seat_limit) IS DISTINCT FROM (NEW.seats_used > NEW.seat_limit)
          OR (OLD.seats_used > OLD.seat_limit AND (OLD.customer_id IS DISTINCT FROM NEW.customer_id
                                                  OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)))
    EXECUTE FUNCTION count_updated_seat_limit();

-- A customer deleted or restored takes its rows out of the counts or back in.
CREATE FUNCTION count_customer_attention(p_customer_id bigint, p_reseller_id bigint, p_sign int) RETURNS void
LANGUAGE sql AS $$
    SELECT add_reseller_attention(ARRAY[p_reseller_id],
        ARRAY[p_sign * (SELECT count(*) FROM connectors WHERE customer_id = p_customer_id AND health = 'critical')],
        ARRAY[p_sign * (SELECT count(*) FROM seat_limits WHERE customer_id = p_customer_id AND seats_used > seat_limit)])
$$;

CREATE FUNCTION count_customer_deleted_or_restored() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.lifecycle <> 'deleted' THEN
        PERFORM count_customer_attention(OLD.id, OLD.reseller_id, -1);
    END IF;
    IF NEW.lifecycle <> 'deleted' THEN
        PERFORM count_customer_attention(NEW.id, NEW.reseller_id, 1);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION count_customer_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM count_customer_attention(OLD.id, OLD.reseller_id, -1);
    RETURN OLD;
END $$;

CREATE TRIGGER count_attention AFTER UPDATE ON customers FOR EACH ROW
    WHEN ((OLD.lifecycle = 'deleted') IS DISTINCT FROM (NEW.lifecycle = 'deleted')
          OR (OLD.lifecycle <> 'deleted' AND OLD.reseller_id IS DISTINCT FROM NEW.reseller_id))
    EXECUTE FUNCTION count_customer_deleted_or_restored();
CREATE TRIGGER count_removed BEFORE DELETE ON customers FOR EACH ROW
    WHEN (OLD.lifecycle <> 'deleted')
    EXECUTE FUNCTION count_customer_removed();

LOCK TABLE customers, connectors, seat_limits IN SHARE MODE;
UPDATE reseller_counts r SET
    critical_connectors = (SELECT count(*) FROM connectors k JOIN customers c ON c.id = k.customer_id
                           WHERE k.reseller_id = r.reseller_id AND k.health = 'critical' AND c.lifecycle <> 'deleted'),
    exceeded_seat_limits = (SELECT count(*) FROM seat_limits s JOIN customers c ON c.id = s.customer_id
                            WHERE s.reseller_id = r.reseller_id AND s.seats_used > s.seat_limit AND c.lifecycle <> 'deleted');
