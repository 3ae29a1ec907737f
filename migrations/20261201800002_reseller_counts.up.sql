-- Live counts of the KPI header and the customer list's reseller tree, kept by triggers in the
-- same transaction as the change, so they are exact at every commit (unlike reseller_figures,
-- which the engine refreshes each tick). Counting the largest reseller's 20,000 customers and
-- locations on every dashboard and list request cost ~6 ms of the page; reading this row costs
-- one index lookup.
--
-- Row-level triggers for updates (with WHEN: the engine's mass updates of SLA scores or storage
-- do not call them), statement-level ones with transition tables for inserts and deletes (a
-- seed's bulk insert is one aggregate, not one call per row). Rows are upserted in reseller order,
-- so two bulk statements lock them in the same order.
CREATE TABLE reseller_counts (
    reseller_id        bigint PRIMARY KEY REFERENCES resellers (id) ON DELETE CASCADE,
    -- Not deleted and not the reseller's default customer (the KPI header's figure).
    -- No CHECK (>= 0): an upsert's proposed row carries the change (possibly negative) and is
    -- checked before it meets the existing row. tests/it/roll_ups.rs compares with raw counts.
    customers          bigint NOT NULL DEFAULT 0,
    -- The built-in default customer (of the default reseller), while it is not deleted: the
    -- reseller tree counts it, the KPI header does not.
    default_customers  bigint NOT NULL DEFAULT 0,
    locations          bigint NOT NULL DEFAULT 0
);
-- The triggers run as whoever changes the customer: a request may touch its own reseller's row
-- only, like reseller_figures.
ALTER TABLE reseller_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE reseller_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reseller_counts USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator');

CREATE FUNCTION add_reseller_counts(p_reseller_id bigint[], p_customers bigint[], p_default_customers bigint[],
                                    p_locations bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_counts AS r (reseller_id, customers, default_customers, locations)
    SELECT d.reseller_id, sum(d.customers), sum(d.default_customers), sum(d.locations)
    FROM unnest(p_reseller_id, p_customers, p_default_customers, p_locations)
         AS d (reseller_id, customers, default_customers, locations)
    WHERE d.reseller_id IS NOT NULL
    GROUP BY d.reseller_id
    HAVING sum(d.customers) <> 0 OR sum(d.default_customers) <> 0 OR sum(d.locations) <> 0
    ORDER BY d.reseller_id
    ON CONFLICT (reseller_id) DO UPDATE SET customers = r.customers + EXCLUDED.customers,
        default_customers = r.default_customers + EXCLUDED.default_customers,
        locations = r.locations + EXCLUDED.locations
$$;

-- A customer's contribution: +1 to one of the two customer counts while it is not deleted.
CREATE FUNCTION count_inserted_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(reseller_id), array_agg(a), array_agg(b), array_agg(0::bigint))
    FROM (SELECT reseller_id, count(*) FILTER (WHERE lifecycle <> 'deleted' AND NOT is_default) AS a,
                 count(*) FILTER (WHERE lifecycle <> 'deleted' AND is_default) AS b
          FROM new_rows GROUP BY reseller_id) n;
    RETURN NULL;
END $$;

CREATE FUNCTION count_deleted_customers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(reseller_id), array_agg(-a), array_agg(-b), array_agg(0::bigint))
    FROM (SELECT reseller_id, count(*) FILTER (WHERE lifecycle <> 'deleted' AND NOT is_default) AS a,
                 count(*) FILTER (WHERE lifecycle <> 'deleted' AND is_default) AS b
          FROM old_rows GROUP BY reseller_id) o;
    RETURN NULL;
END $$;

CREATE FUNCTION count_updated_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(
        ARRAY[OLD.reseller_id, NEW.reseller_id],
        ARRAY[-(OLD.lifecycle <> 'deleted' AND NOT OLD.is_default)::int, (NEW.lifecycle <> 'deleted' AND NOT NEW.is_default)::int]::bigint[],
        ARRAY[-(OLD.lifecycle <> 'deleted' AND OLD.is_default)::int, (NEW.lifecycle <> 'deleted' AND NEW.is_default)::int]::bigint[],
        ARRAY[0, 0]::bigint[]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON customers REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_customers();
CREATE TRIGGER count_deleted AFTER DELETE ON customers REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_customers();
CREATE TRIGGER count_updated AFTER UPDATE ON customers FOR EACH ROW
    WHEN (OLD.lifecycle IS DISTINCT FROM NEW.lifecycle OR OLD.is_default IS DISTINCT FROM NEW.is_default
          OR OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)
    EXECUTE FUNCTION count_updated_customer();

CREATE FUNCTION count_inserted_locations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(reseller_id), array_agg(0::bigint), array_agg(0::bigint), array_agg(n))
    FROM (SELECT reseller_id, count(*) AS n FROM new_rows GROUP BY reseller_id) l;
    RETURN NULL;
END $$;

CREATE FUNCTION count_deleted_locations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(array_agg(reseller_id), array_agg(0::bigint), array_agg(0::bigint), array_agg(-n))
    FROM (SELECT reseller_id, count(*) AS n FROM old_rows GROUP BY reseller_id) l;
    RETURN NULL;
END $$;

CREATE FUNCTION count_moved_location() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM add_reseller_counts(ARRAY[OLD.reseller_id, NEW.reseller_id], ARRAY[0, 0]::bigint[], ARRAY[0, 0]::bigint[],
                                ARRAY[-1, 1]::bigint[]);
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON locations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_inserted_locations();
CREATE TRIGGER count_deleted AFTER DELETE ON locations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_deleted_locations();
CREATE TRIGGER count_moved AFTER UPDATE ON locations FOR EACH ROW
    WHEN (OLD.reseller_id IS DISTINCT FROM NEW.reseller_id)
    EXECUTE FUNCTION count_moved_location();

-- Lock the counted tables while counting, so no change slips between the count and the triggers.
LOCK TABLE customers, locations IN SHARE MODE;
INSERT INTO reseller_counts (reseller_id, customers, default_customers, locations)
SELECT r.id,
       (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND NOT c.is_default),
       (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.is_default),
       (SELECT count(*) FROM locations l WHERE l.reseller_id = r.id)
FROM resellers r;
