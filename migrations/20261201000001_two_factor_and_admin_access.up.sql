-- Two-factor authentication (TOTP, RFC 6238) for portal users, a reseller-wide rule that its staff
-- must use it, admins an owner limits to chosen customers or to reading only, and one-time
-- passwords that must be replaced at the first login.

ALTER TABLE users
    -- The secret being enrolled: it becomes totp_secret once the user proves it with a code.
    ADD COLUMN totp_pending_secret text,
    ADD COLUMN totp_enabled_at timestamptz,
    -- The last 30-second step accepted: a code is good once, never replayed within its window.
    ADD COLUMN totp_last_step bigint,
    -- True: the admin sees only the customers in admin_customer_grants.
    ADD COLUMN limited_to_granted_customers boolean NOT NULL DEFAULT false,
    -- A one-time password someone else chose: the user must pick its own before anything else.
    ADD COLUMN must_change_password boolean NOT NULL DEFAULT false;

ALTER TABLE resellers ADD COLUMN require_two_factor boolean NOT NULL DEFAULT false;

-- One-time recovery codes for a lost authenticator; only their sha256 is kept.
CREATE TABLE recovery_codes (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- Between a correct password and the second factor: the cookie holds a random id, this its sha256.
CREATE TABLE login_challenges (
    id_hash          bytea PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    next_path        text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    failed_attempts  integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0)
);
CREATE INDEX login_challenges_user ON login_challenges (user_id);
CREATE INDEX admin_customer_grants_customer ON admin_customer_grants (reseller_id, customer_id);

ALTER TABLE recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_only ON recovery_codes USING (app_scope() = 'auth');
ALTER TABLE login_challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_challenges FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_only ON login_challenges USING (app_scope() = 'auth');

-- The session lookup (auth scope) reads which customers a limited admin may see.
CREATE POLICY auth_read ON admin_customer_grants FOR SELECT USING (app_scope() = 'auth');

-- Whether a reseller makes two-factor authentication compulsory for its staff, for the session
-- lookup, which sees users and sessions but no reseller rows.
CREATE FUNCTION reseller_requires_two_factor(p_reseller bigint) RETURNS boolean
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT coalesce((SELECT require_two_factor FROM resellers WHERE id = p_reseller), false)
$$;

-- The customers a limited admin may see, as store::scoped sets them ('' or unset: not limited).
CREATE FUNCTION app_granted_customers() RETURNS bigint[]
    LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.customer_ids', true), '')::bigint[] $$;

-- A limited admin's reseller scope admits only its granted customers' rows; rows of the reseller
-- itself (no customer) stay visible. Every policy built on app_may_see follows.
CREATE OR REPLACE FUNCTION app_may_see(row_reseller_id bigint, row_customer_id bigint) RETURNS boolean
    LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        app_scope() = 'operator'
        OR (app_scope() = 'reseller' AND row_reseller_id = app_reseller_id()
            AND (row_customer_id IS NULL OR app_granted_customers() IS NULL
                 OR row_customer_id = ANY (app_granted_customers())))
        OR (app_scope() = 'customer' AND row_reseller_id = app_reseller_id()
            AND row_customer_id = app_customer_id()),
        false)
$$;
