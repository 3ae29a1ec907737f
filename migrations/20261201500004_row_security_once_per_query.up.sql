-- Row-level security at MSP scale: the tenant policies called app_may_see(), which PostgreSQL
-- inlines but whose current_setting() calls it evaluates for every row. Counting a large reseller's
-- 400,000 accounts spent most of its 350 ms there. Written with scalar sub-selects, the settings are
-- read once per query (init plans) and each row costs a comparison; the planner can also use
-- `reseller_id = (init plan)` as an index condition. Same rule as app_may_see, row for row.
DO $$
DECLARE
    t text;
    -- A limited admin's reseller scope admits only its granted customers' rows (app_may_see).
    rule constant text := 'coalesce((SELECT app_scope()) = ''operator'' '
        'OR ((SELECT app_scope()) = ''reseller'' AND reseller_id = (SELECT app_reseller_id()) '
        'AND (%1$I IS NULL OR (SELECT app_granted_customers()) IS NULL '
        'OR %1$I = ANY ((SELECT app_granted_customers())::bigint[]))) '
        'OR ((SELECT app_scope()) = ''customer'' AND reseller_id = (SELECT app_reseller_id()) '
        'AND %1$I = (SELECT app_customer_id())), false)';
BEGIN
    FOREACH t IN ARRAY ARRAY['clients', 'client_schedules', 'connectors', 'backup_jobs', 'restore_jobs',
        'accounts', 'account_activity_months', 'seat_limits', 'locations', 'contacts', 'usage_daily',
        'mau_monthly', 'invoice_configs', 'invoices', 'deleted_items', 'alerts', 'admin_customer_grants']
    LOOP
        EXECUTE format('ALTER POLICY tenant ON %I USING (' || format(rule, 'customer_id') || ')', t);
    END LOOP;
    EXECUTE 'ALTER POLICY tenant ON customers USING (' || format(rule, 'id') || ')';
END
$$;
