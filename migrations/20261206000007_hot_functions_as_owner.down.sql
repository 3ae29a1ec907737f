-- The session lookup and agent_store_reports as migrations 20261206000005 and 20261206000006 left them.
ALTER FUNCTION agent_store_reports(text[], int[], text[], boolean[], text[], timestamptz[], timestamptz[],
                                    text[], bigint[], timestamptz) SECURITY INVOKER;
ALTER FUNCTION agent_store_reports(text[], int[], text[], boolean[], text[], timestamptz[], timestamptz[],
                                    text[], bigint[], timestamptz)
    SET search_path = public;
ALTER FUNCTION agent_customer(text) SET search_path = public;
ALTER FUNCTION agent_pool_usage(bigint) SET search_path = public;
ALTER FUNCTION agent_client(text) SET search_path = public;
ALTER FUNCTION customer_name_taken(text) SET search_path = public;
ALTER FUNCTION default_customer_key_clash(bigint) SET search_path = public;
ALTER FUNCTION move_clients_to_default_customer(bigint) SET search_path = public;
ALTER FUNCTION reseller_requires_two_factor(bigint) SET search_path = public;

CREATE OR REPLACE FUNCTION app_open_session(p_id_hash bytea, p_now timestamptz, p_idle_since timestamptz)
RETURNS TABLE (
    user_id bigint, username text, display_name text, role text, reseller_id bigint, customer_id bigint,
    read_only boolean, granted_customers bigint[], two_factor_enabled boolean, two_factor_required boolean,
    must_change_password boolean, csrf_token text, last_seen_at timestamptz,
    impersonated_customer_id bigint, impersonated_reseller_id bigint, impersonated_customer_name text,
    impersonation_expires_at timestamptz,
    scope_kind text, scope_reseller_id text, scope_customer_id text, scope_customer_ids text,
    activity_recorded boolean)
LANGUAGE plpgsql VOLATILE SET search_path = public AS $$
DECLARE
    impersonating boolean;
BEGIN
    PERFORM set_config('app.scope', 'auth', true), set_config('app.reseller_id', '', true),
            set_config('app.customer_id', '', true), set_config('app.customer_ids', '', true);
    SELECT u.id, u.username, u.display_name, u.role, u.reseller_id, u.customer_id, u.read_only,
           CASE WHEN u.limited_to_granted_customers THEN
               ARRAY(SELECT g.customer_id FROM admin_customer_grants g WHERE g.user_id = u.id ORDER BY g.customer_id)
           END,
           u.totp_secret IS NOT NULL,
           (u.role IN ('reseller_owner', 'reseller_admin') AND reseller_requires_two_factor(u.reseller_id)),
           u.must_change_password,
           s.csrf_token, s.last_seen_at, s.impersonated_customer_id, s.impersonated_reseller_id,
           s.impersonated_customer_name, s.impersonation_expires_at
      INTO user_id, username, display_name, role, reseller_id, customer_id, read_only, granted_customers,
           two_factor_enabled, two_factor_required, must_change_password, csrf_token, last_seen_at,
           impersonated_customer_id, impersonated_reseller_id, impersonated_customer_name,
           impersonation_expires_at
      FROM sessions s
      JOIN users u ON u.id = s.user_id
     WHERE s.id_hash = p_id_hash AND s.expires_at > p_now AND s.last_seen_at > p_idle_since
       AND u.disabled_at IS NULL;
    IF NOT FOUND THEN
        PERFORM set_config('app.scope', '', true), set_config('transaction_read_only', 'on', true);
        RETURN;
    END IF;

    activity_recorded := last_seen_at < p_now - interval '1 minute';
    IF activity_recorded THEN
        UPDATE sessions SET last_seen_at = p_now WHERE id_hash = p_id_hash;
    END IF;

    impersonating := impersonated_customer_id IS NOT NULL AND impersonated_reseller_id IS NOT NULL
        AND impersonated_customer_name IS NOT NULL AND impersonation_expires_at > p_now;
    IF impersonating THEN
        scope_kind := 'customer';
        scope_reseller_id := impersonated_reseller_id::text;
        scope_customer_id := impersonated_customer_id::text;
    ELSIF role = 'customer' AND reseller_id IS NOT NULL AND customer_id IS NOT NULL THEN
        scope_kind := 'customer';
        scope_reseller_id := reseller_id::text;
        scope_customer_id := customer_id::text;
    ELSIF role IN ('reseller_owner', 'reseller_admin') AND reseller_id IS NOT NULL THEN
        scope_kind := 'reseller';
        scope_reseller_id := reseller_id::text;
        scope_customer_id := '';
    ELSIF role = 'operator' THEN
        scope_kind := 'operator';
        scope_reseller_id := '';
        scope_customer_id := '';
    ELSE
        scope_kind := 'customer';
        scope_reseller_id := coalesce(reseller_id, -1)::text;
        scope_customer_id := coalesce(customer_id, -1)::text;
    END IF;
    scope_customer_ids := CASE WHEN NOT impersonating AND role = 'reseller_admin' AND granted_customers IS NOT NULL
                               THEN granted_customers::text ELSE '' END;

    PERFORM set_config('app.scope', scope_kind, true), set_config('app.reseller_id', scope_reseller_id, true),
            set_config('app.customer_id', scope_customer_id, true),
            set_config('app.customer_ids', scope_customer_ids, true),
            set_config('transaction_read_only', 'on', true);
    RETURN NEXT;
END
$$;

GRANT EXECUTE ON FUNCTION app_open_session(bytea, timestamptz, timestamptz) TO PUBLIC;
GRANT EXECUTE ON FUNCTION reseller_requires_two_factor(bigint) TO PUBLIC;
