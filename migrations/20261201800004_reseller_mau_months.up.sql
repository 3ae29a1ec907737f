-- The licence page's monthly MAU totals of a reseller, kept by triggers on mau_monthly in the
-- writer's transaction (the engine's mau step; seeds). Summing the largest reseller's 240,000 MAU
-- rows on every request cost ~100 ms; the page reads twelve rows and subtracts, live, the few
-- customers it does not list (deleted ones, the built-in default customer).
CREATE TABLE reseller_mau_months (
    reseller_id  bigint NOT NULL REFERENCES resellers (id) ON DELETE CASCADE,
    month        date NOT NULL,
    -- Every customer's MAU that month, as mau_monthly has them. No CHECK (>= 0): an upsert's
    -- proposed row carries the (possibly negative) change; tests/it/roll_ups.rs compares with raw sums.
    mau          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (reseller_id, month)
);
ALTER TABLE reseller_mau_months ENABLE ROW LEVEL SECURITY;
ALTER TABLE reseller_mau_months FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reseller_mau_months USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator');

CREATE FUNCTION add_reseller_mau(p_reseller_id bigint[], p_month date[], p_mau bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_mau_months AS r (reseller_id, month, mau)
    SELECT d.reseller_id, d.month, sum(d.mau)
    FROM unnest(p_reseller_id, p_month, p_mau) AS d (reseller_id, month, mau)
    GROUP BY d.reseller_id, d.month
    HAVING sum(d.mau) <> 0
    ORDER BY d.reseller_id, d.month
    ON CONFLICT (reseller_id, month) DO UPDATE SET mau = r.mau + EXCLUDED.mau
$$;

-- Inserted rows add, deleted ones subtract; updated ones do both (old and new transition tables).
CREATE FUNCTION count_mau() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM add_reseller_mau(array_agg(reseller_id), array_agg(month), array_agg(mau))
        FROM (SELECT reseller_id, month, -mau::bigint AS mau FROM old_rows
              UNION ALL
              SELECT reseller_id, month, mau::bigint FROM new_rows) d;
    ELSE
        PERFORM add_reseller_mau(array_agg(reseller_id), array_agg(month),
                                 array_agg(CASE TG_OP WHEN 'DELETE' THEN -mau::bigint ELSE mau::bigint END))
        FROM changed_rows;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER count_inserted AFTER INSERT ON mau_monthly REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_mau();
CREATE TRIGGER count_deleted AFTER DELETE ON mau_monthly REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_mau();
CREATE TRIGGER count_updated AFTER UPDATE ON mau_monthly REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_mau();

LOCK TABLE mau_monthly IN SHARE MODE;
INSERT INTO reseller_mau_months (reseller_id, month, mau)
SELECT reseller_id, month, sum(mau) FROM mau_monthly GROUP BY reseller_id, month;

-- The customers the page subtracts from the roll-up (1 % of the largest reseller's).
CREATE INDEX customers_reseller_unlisted ON customers (reseller_id) WHERE lifecycle = 'deleted' OR is_default;
