-- The web app and the agent API connect as msp_app: not a superuser, not the tables' owner, no
-- BYPASSRLS. Row-level security is the second wall behind the store layer's own tenant filters:
-- every request runs in a transaction that first sets app.scope / app.reseller_id /
-- app.customer_id (store::scoped), and these policies admit only that tenant's rows.
-- Migrations, the seed and the engine connect as the owner and are not subject to the policies.
DO $$
BEGIN
    CREATE ROLE msp_app LOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL; -- roles are cluster-wide: another database of this cluster created it already
END
$$;

GRANT USAGE ON SCHEMA public TO msp_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO msp_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO msp_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO msp_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO msp_app;

-- 'operator' sees everything; 'reseller' its reseller; 'customer' its customer; 'auth' (login and
-- session lookup only) sees users and sessions. Unset settings read as NULL, which admits nothing.
CREATE FUNCTION app_scope() RETURNS text
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.scope', true), '') $$;
CREATE FUNCTION app_reseller_id() RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.reseller_id', true), '')::bigint $$;
CREATE FUNCTION app_customer_id() RETURNS bigint
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.customer_id', true), '')::bigint $$;

CREATE FUNCTION app_may_see(row_reseller_id bigint, row_customer_id bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        app_scope() = 'operator'
        OR (app_scope() = 'reseller' AND row_reseller_id = app_reseller_id())
        OR (app_scope() = 'customer' AND row_reseller_id = app_reseller_id()
            AND row_customer_id = app_customer_id()),
        false)
$$;

DO $$
DECLARE
    t text;
BEGIN
    -- Tables below the customer level: reseller_id and customer_id.
    FOREACH t IN ARRAY ARRAY['clients', 'client_schedules', 'connectors', 'backup_jobs', 'restore_jobs',
        'accounts', 'account_activity_months', 'seat_limits', 'locations', 'contacts', 'usage_daily',
        'mau_monthly', 'invoice_configs', 'invoices', 'deleted_items', 'alerts', 'admin_customer_grants']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (app_may_see(reseller_id, customer_id))', t);
    END LOOP;
    -- Tables at the reseller level: a customer user sees none of them.
    FOREACH t IN ARRAY ARRAY['mau_allowance_history', 'mau_orders', 'invoice_plans', 'invoice_lines']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (app_may_see(reseller_id, NULL) OR app_scope() = ''operator'')', t);
    END LOOP;
END
$$;

ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON customers USING (app_may_see(reseller_id, id));

ALTER TABLE resellers ENABLE ROW LEVEL SECURITY;
ALTER TABLE resellers FORCE ROW LEVEL SECURITY;
-- A customer user may read its own reseller's row (its name is shown), never change it.
CREATE POLICY tenant_read ON resellers FOR SELECT
    USING (app_scope() = 'operator' OR id = app_reseller_id());
CREATE POLICY tenant_write ON resellers FOR UPDATE
    USING (app_scope() = 'operator' OR (app_scope() = 'reseller' AND id = app_reseller_id()));
CREATE POLICY operator_insert ON resellers FOR INSERT WITH CHECK (app_scope() = 'operator');
CREATE POLICY operator_delete ON resellers FOR DELETE USING (app_scope() = 'operator');

-- Audit and outbox rows may have no reseller (operator-level events); only the operator sees those.
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON audit_log USING (app_may_see(reseller_id, customer_id)
    OR (app_scope() = 'reseller' AND reseller_id = app_reseller_id()));
ALTER TABLE email_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON email_outbox USING (app_may_see(reseller_id, customer_id)
    OR (app_scope() = 'reseller' AND reseller_id = app_reseller_id()));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON users USING (app_scope() = 'auth' OR app_may_see(reseller_id, customer_id)
    OR (app_scope() = 'reseller' AND reseller_id = app_reseller_id()));

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_only ON sessions USING (app_scope() = 'auth');
