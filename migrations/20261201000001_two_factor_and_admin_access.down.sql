CREATE OR REPLACE FUNCTION app_may_see(row_reseller_id bigint, row_customer_id bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        app_scope() = 'operator'
        OR (app_scope() = 'reseller' AND row_reseller_id = app_reseller_id())
        OR (app_scope() = 'customer' AND row_reseller_id = app_reseller_id()
            AND row_customer_id = app_customer_id()),
        false)
$$;
DROP FUNCTION app_granted_customers();
DROP FUNCTION reseller_requires_two_factor(bigint);
DROP POLICY auth_read ON admin_customer_grants;
DROP INDEX admin_customer_grants_customer;
DROP TABLE login_challenges;
DROP TABLE recovery_codes;
ALTER TABLE resellers DROP COLUMN require_two_factor;
ALTER TABLE users
    DROP COLUMN totp_pending_secret,
    DROP COLUMN totp_enabled_at,
    DROP COLUMN totp_last_step,
    DROP COLUMN limited_to_granted_customers,
    DROP COLUMN must_change_password;
