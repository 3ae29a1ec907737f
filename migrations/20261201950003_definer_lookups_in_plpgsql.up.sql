-- Two SECURITY DEFINER lookups run on every request: reseller_requires_two_factor inside
-- app_open_session (every page) and agent_client inside agent_open_report (every report). As SQL
-- functions with a SET clause they cannot be inlined, and PostgreSQL planned their query anew on
-- each call (pg_stat_statements: plans = calls, 0.05 ms planning for 0.02 ms of work). In plpgsql
-- the plan is kept per connection. Same signatures, same rows.
CREATE OR REPLACE FUNCTION reseller_requires_two_factor(p_reseller bigint) RETURNS boolean
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    RETURN coalesce((SELECT r.require_two_factor FROM resellers r WHERE r.id = p_reseller), false);
END
$$;

CREATE OR REPLACE FUNCTION agent_client(p_token_hash text)
    RETURNS TABLE (client_id bigint, customer_id bigint, reseller_id bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public AS $$
BEGIN
    RETURN QUERY SELECT k.id, k.customer_id, k.reseller_id FROM clients k WHERE k.token_hash = p_token_hash;
END
$$;
