CREATE INDEX IF NOT EXISTS customers_reseller_unlisted ON customers (reseller_id) WHERE lifecycle = 'deleted' OR is_default;
DROP TRIGGER IF EXISTS mau_removed ON customers;
DROP TRIGGER IF EXISTS mau_moved ON customers;
DROP FUNCTION IF EXISTS move_customer_mau();
CREATE OR REPLACE FUNCTION add_reseller_mau(p_reseller_id bigint[], p_month date[], p_mau bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO reseller_mau_months AS r (reseller_id, month, mau)
    SELECT d.reseller_id, d.month, sum(d.mau)
    FROM unnest(p_reseller_id, p_month, p_mau) AS d (reseller_id, month, mau)
    GROUP BY d.reseller_id, d.month
    HAVING sum(d.mau) <> 0
    ORDER BY d.reseller_id, d.month
    ON CONFLICT (reseller_id, month) DO UPDATE SET mau = r.mau + EXCLUDED.mau
$$;
CREATE OR REPLACE FUNCTION count_mau() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP FUNCTION IF EXISTS add_reseller_mau_rows(bigint[], bigint[], date[], bigint[]);
DROP FUNCTION IF EXISTS add_reseller_mau_parts(bigint[], date[], bigint[], bigint[], bigint[]);
ALTER TABLE reseller_mau_months DROP COLUMN IF EXISTS default_mau, DROP COLUMN IF EXISTS listed_mau;
