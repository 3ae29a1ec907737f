-- MCALs left in a reseller's pool. A customer with an allotment holds all of it; one without
-- draws one MCAL per client. A customer user adding a client must know whether the pool has room,
-- but row-level security rightly hides the other customers' rows from it: this function, run with
-- its owner's rights, answers with one number and nothing else. Like the seed and the engine,
-- it relies on the schema owner not being subject to the policies (superuser or BYPASSRLS).
CREATE FUNCTION reseller_mcal_pool_free(p_reseller_id bigint) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.mcal_pool::bigint
           - coalesce((SELECT sum(c.mcals_allotted) FROM customers c
                       WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.mcals_allotted IS NOT NULL), 0)
           - (SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id
              WHERE k.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.mcals_allotted IS NULL)
    FROM resellers r WHERE r.id = p_reseller_id
$$;
REVOKE ALL ON FUNCTION reseller_mcal_pool_free(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reseller_mcal_pool_free(bigint) TO msp_app;
