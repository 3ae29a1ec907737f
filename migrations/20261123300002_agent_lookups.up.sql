-- Agents authenticate before any tenant scope is known: registration names a customer, a report
-- carries a client token. These two functions are the only way the app role can find a row across
-- tenants, and each returns just the one row it is asked for. They run as the schema owner
-- (SECURITY DEFINER) with a fixed search_path.
CREATE FUNCTION agent_customer(p_name text)
    RETURNS TABLE (id bigint, reseller_id bigint, pass_key_hash text, is_default boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT c.id, c.reseller_id, c.pass_key_hash, c.is_default FROM customers c
    WHERE c.lifecycle <> 'deleted'
      AND CASE WHEN p_name IS NULL THEN c.is_default ELSE lower(c.name) = lower(p_name) END
$$;

CREATE FUNCTION agent_client(p_token_hash text)
    RETURNS TABLE (client_id bigint, customer_id bigint, reseller_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT k.id, k.customer_id, k.reseller_id FROM clients k WHERE k.token_hash = p_token_hash
$$;

-- A reseller's MCAL pool and the clients drawing on it: those of customers without an allotment.
-- An agent's scope is one customer, so it cannot count the others' clients itself.
CREATE FUNCTION agent_pool_usage(p_reseller_id bigint)
    RETURNS TABLE (mcal_pool integer, drawing_from_pool bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT r.mcal_pool,
           (SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id
            WHERE k.reseller_id = r.id AND c.mcals_allotted IS NULL AND c.lifecycle <> 'deleted')
    FROM resellers r WHERE r.id = p_reseller_id
$$;

REVOKE ALL ON FUNCTION agent_customer(text), agent_client(text), agent_pool_usage(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_customer(text), agent_client(text), agent_pool_usage(bigint) TO msp_app;
