-- A reseller's MCAL pool is drawn on from three places: an admin adding a client, a customer
-- adding one in its portal, and an agent registering. Each took a lock of its own (the reseller's
-- row, and two advisory locks under different names), so an admin and an agent, or a customer and
-- an agent, could both take the pool's last MCAL. All three now take this one lock, the reseller's
-- row FOR NO KEY UPDATE: it queues them with each other and with the customer forms' FOR UPDATE of
-- the same row, and not with the foreign-key checks of new customers and clients (FOR KEY SHARE).
-- Every caller locks the customer's row first and the reseller's second, so none waits crosswise.
--
-- The count is a statement of its own after the lock: a statement that waited for a row lock
-- re-reads that row, but its sub-selects keep the snapshot they started with, and would miss the
-- client of the writer waited for.
--
-- What draws on the pool is summed from the customers' stored client counts (20261207000006)
-- rather than counted client by client: the largest reseller has 200,000 clients, 20,000 customers.
--
-- Both functions run as their owner, so they answer only for the caller's own reseller (or for an
-- operator): another reseller's pool is neither locked nor counted, as row security would have it.
CREATE FUNCTION mcal_pool_usage(p_reseller_id bigint) RETURNS TABLE (mcal_pool integer, drawing_from_pool bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT r.mcal_pool,
           (SELECT coalesce(sum(c.client_count), 0)::bigint FROM customers c
            WHERE c.reseller_id = r.id AND c.mcals_allotted IS NULL AND c.lifecycle <> 'deleted')
    FROM resellers r WHERE r.id = p_reseller_id AND (app_scope() = 'operator' OR r.id = app_reseller_id())
$$;

CREATE FUNCTION lock_mcal_pool(p_reseller_id bigint) RETURNS TABLE (mcal_pool integer, drawing_from_pool bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM 1 FROM resellers r WHERE r.id = p_reseller_id AND (app_scope() = 'operator' OR r.id = app_reseller_id())
        FOR NO KEY UPDATE;
    RETURN QUERY SELECT u.mcal_pool, u.drawing_from_pool FROM mcal_pool_usage(p_reseller_id) u;
END $$;

CREATE OR REPLACE FUNCTION reseller_mcal_pool_free(p_reseller_id bigint) RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT greatest(0, u.mcal_pool::bigint - u.drawing_from_pool) FROM mcal_pool_usage(p_reseller_id) u
$$;

-- Replaced by mcal_pool_usage, which every scope's callers share.
DROP FUNCTION agent_pool_usage(bigint);

REVOKE ALL ON FUNCTION mcal_pool_usage(bigint), lock_mcal_pool(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION mcal_pool_usage(bigint), lock_mcal_pool(bigint) TO msp_app;
