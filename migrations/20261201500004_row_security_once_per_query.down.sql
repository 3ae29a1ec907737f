DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['clients', 'client_schedules', 'connectors', 'backup_jobs', 'restore_jobs',
        'accounts', 'account_activity_months', 'seat_limits', 'locations', 'contacts', 'usage_daily',
        'mau_monthly', 'invoice_configs', 'invoices', 'deleted_items', 'alerts', 'admin_customer_grants']
    LOOP
        EXECUTE format('ALTER POLICY tenant ON %I USING (app_may_see(reseller_id, customer_id))', t);
    END LOOP;
    ALTER POLICY tenant ON customers USING (app_may_see(reseller_id, id));
END
$$;
