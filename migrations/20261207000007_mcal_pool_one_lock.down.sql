CREATE FUNCTION agent_pool_usage(p_reseller_id bigint)
    RETURNS TABLE (mcal_pool integer, drawing_from_pool bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.mcal_pool,
           (SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id
            WHERE k.reseller_id = r.id AND c.mcals_allotted IS NULL AND c.lifecycle <> 'deleted')
    FROM resellers r WHERE r.id = p_reseller_id
$$;
REVOKE ALL ON FUNCTION agent_pool_usage(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_pool_usage(bigint) TO msp_app;

CREATE OR REPLACE FUNCTION reseller_mcal_pool_free(p_reseller_id bigint) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT greatest(0, r.mcal_pool::bigint
           - (SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id
              WHERE k.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.mcals_allotted IS NULL))
    FROM resellers r WHERE r.id = p_reseller_id
$$;

DROP FUNCTION lock_mcal_pool(bigint);
DROP FUNCTION mcal_pool_usage(bigint);
