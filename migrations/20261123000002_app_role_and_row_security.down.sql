DO $$
DECLARE
    t text;
BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND rowsecurity LOOP
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I DISABLE ROW LEVEL SECURITY', t);
    END LOOP;
    FOR t IN SELECT format('%I ON %I', policyname, tablename) FROM pg_policies WHERE schemaname = 'public' LOOP
        EXECUTE 'DROP POLICY ' || t;
    END LOOP;
END
$$;
DROP FUNCTION IF EXISTS app_may_see(bigint, bigint), app_scope(), app_reseller_id(), app_customer_id();
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM msp_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM msp_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM msp_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM msp_app;
REVOKE USAGE ON SCHEMA public FROM msp_app;
