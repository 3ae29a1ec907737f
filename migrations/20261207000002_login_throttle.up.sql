-- Failed logins are counted in the database instead of each instance's memory (docs/scaling.md).
-- Counted in memory, a password guesser had N times the attempts before a lock with N instances
-- behind a load balancer, and a restart or a deployment forgave every lock in force.
--
-- One row per throttled key: a username ('user:' and the SHA-256 of lower(username), the
-- normalisation the login's lookup of users uses, so that no spelling of a name draws an
-- allowance of its own; hashed, so that what people type into the username field, a password now
-- and then, is not kept as typed) or a client address ('addr:' and the address, an IPv6 client's
-- /64). An attempt is counted before its password is checked, and given back if it was right
-- (store::login_throttle): attempts sent all at once cannot all pass the check before any of
-- them is counted. The rule a count turns into a lock stays in Rust (auth::throttle::lock_after_free).
-- Housekeeping forgets a key within its free attempts an hour after its last failure, any other a
-- day after, once no lock of it holds.
CREATE TABLE login_throttle (
    key              text PRIMARY KEY CHECK (length(key) <= 80),
    failures         integer NOT NULL CHECK (failures >= 0),
    locked_until     timestamptz,
    last_failure_at  timestamptz NOT NULL
);
CREATE INDEX login_throttle_last_failure ON login_throttle (last_failure_at);

-- Read and written before anyone is logged in, as sessions are: in the 'auth' scope only.
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttle FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_only ON login_throttle USING (app_scope() = 'auth');
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO msp_app;
