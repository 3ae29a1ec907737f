-- One statement opens an agent's report: find the client by its token, take the customer's scope
-- and read (and lock) what decides whether the report is accepted. It was three statements and a
-- second pool acquire before the report's transaction began (issue 10: ingestion rate).
--
-- SECURITY INVOKER like app_open_session: the token lookup goes through agent_client (the one way
-- across tenants), and the customer row is then read under the scope just set, so row-level
-- security still has its say. An unknown token leaves no scope at all and returns no row.
-- store::agents::open_report builds the transaction's scope from the ids returned, the same ids the
-- settings were made of.
CREATE FUNCTION agent_open_report(p_token_hash text)
RETURNS TABLE (client_id bigint, customer_id bigint, reseller_id bigint, activated boolean, lifecycle text,
               backups_blocked_reason text)
LANGUAGE plpgsql VOLATILE SET search_path = public AS $$
BEGIN
    SELECT a.client_id, a.customer_id, a.reseller_id INTO client_id, customer_id, reseller_id
      FROM agent_client(p_token_hash) a;
    IF NOT FOUND THEN
        PERFORM set_config('app.scope', '', true), set_config('app.reseller_id', '', true),
                set_config('app.customer_id', '', true), set_config('app.customer_ids', '', true);
        RETURN;
    END IF;
    PERFORM set_config('app.scope', 'customer', true), set_config('app.reseller_id', reseller_id::text, true),
            set_config('app.customer_id', customer_id::text, true), set_config('app.customer_ids', '', true);
    -- Locked: a deactivation or deletion commits before or after the whole report, never inside it.
    SELECT c.activated, c.lifecycle, c.backups_blocked_reason INTO activated, lifecycle, backups_blocked_reason
      FROM customers c WHERE c.id = agent_open_report.customer_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    RETURN NEXT;
END
$$;
REVOKE ALL ON FUNCTION agent_open_report(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION agent_open_report(text) TO msp_app;
