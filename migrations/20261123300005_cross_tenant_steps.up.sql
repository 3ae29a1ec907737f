-- Three steps that must look past the caller's tenant, each as one function that does only that:
-- whether a customer name is taken anywhere (names are global, agents register by name), and, when
-- a deleted customer's clients are kept, moving them to the default customer (another reseller's).
-- The moving functions first check that the customer is within the caller's own scope (the same
-- test the row-level-security policies make), so they cannot be pointed at another tenant.
CREATE FUNCTION customer_name_taken(p_name text) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT EXISTS (SELECT 1 FROM customers WHERE lower(name) = lower(btrim(p_name)))
$$;

CREATE FUNCTION default_customer_key_clash(p_from bigint) RETURNS text
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = p_from AND app_may_see(c.reseller_id, c.id)) THEN
        RAISE EXCEPTION 'customer % is not in the caller''s scope', p_from USING ERRCODE = '42501';
    END IF;
    RETURN (SELECT k.client_key FROM clients k
            JOIN clients d ON lower(d.client_key) = lower(k.client_key)
            JOIN customers dc ON dc.id = d.customer_id AND dc.is_default
            WHERE k.customer_id = p_from ORDER BY k.client_key LIMIT 1);
END
$$;

CREATE FUNCTION move_clients_to_default_customer(p_from bigint) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    moved bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = p_from AND app_may_see(c.reseller_id, c.id)) THEN
        RAISE EXCEPTION 'customer % is not in the caller''s scope', p_from USING ERRCODE = '42501';
    END IF;
    UPDATE clients k SET customer_id = d.id, reseller_id = d.reseller_id
    FROM customers d WHERE d.is_default AND k.customer_id = p_from;
    GET DIAGNOSTICS moved = ROW_COUNT;
    UPDATE client_schedules s SET customer_id = k.customer_id, reseller_id = k.reseller_id
    FROM clients k WHERE k.id = s.client_id AND s.customer_id = p_from;
    RETURN moved;
END
$$;

REVOKE ALL ON FUNCTION customer_name_taken(text), default_customer_key_clash(bigint),
    move_clients_to_default_customer(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION customer_name_taken(text), default_customer_key_clash(bigint),
    move_clients_to_default_customer(bigint) TO msp_app;
