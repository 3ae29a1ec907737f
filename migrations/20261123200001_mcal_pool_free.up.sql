-- MCALs left in a reseller's pool (domain::licensing::mcal_pool_free): the pool is drawn on by the
-- clients of customers without an allotment, one MCAL each; customers with an allotment are capped
-- by it and leave the pool alone. A customer user adding a client must know whether the pool has room,
-- but row-level security rightly hides the other customers' rows from it: this function, run with
-- its owner's rights, answers with one number and nothing else. Like the seed and the engine,
-- it relies on the schema owner not being subject to the policies (superuser or BYPASSRLS).
CREATE FUNCTION reseller_mcal_pool_free(p_reseller_id bigint) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT greatest(0, r.mcal_pool::bigint
           - (SELECT count(*) FROM clients k JOIN customers c ON c.id = k.customer_id
              WHERE k.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.mcals_allotted IS NULL))
    FROM resellers r WHERE r.id = p_reseller_id
$$;
REVOKE ALL ON FUNCTION reseller_mcal_pool_free(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION reseller_mcal_pool_free(bigint) TO msp_app;
