CREATE OR REPLACE FUNCTION reseller_requires_two_factor(p_reseller bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT coalesce((SELECT require_two_factor FROM resellers WHERE id = p_reseller), false)
$$;

CREATE OR REPLACE FUNCTION agent_client(p_token_hash text)
    RETURNS TABLE (client_id bigint, customer_id bigint, reseller_id bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT k.id, k.customer_id, k.reseller_id FROM clients k WHERE k.token_hash = p_token_hash
$$;
