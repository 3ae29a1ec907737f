-- Failed logins are counted in the database instead of each instance's memory (docs/scaling.md).
-- Counted in memory, a password guesser had N times the attempts before a lock with N instances
-- behind a load balancer, and a restart or a deployment forgave every lock in force.
--
-- One row per throttled key: a username (its SHA-256, lower-cased and trimmed, so that what people
-- type into the username field, a password now and then, is not kept) or a client address;
-- its failures since the username's last success (an address's are never forgiven by one), the
-- lock in force, and the last failure, by which housekeeping forgets keys quiet for a day.
-- The rule a count turns into a lock stays in Rust (auth::throttle::lock_after).
CREATE TABLE login_throttle (
    key              text PRIMARY KEY CHECK (length(key) <= 80),
    failures         integer NOT NULL CHECK (failures > 0),
    locked_until     timestamptz,
    last_failure_at  timestamptz NOT NULL
);
CREATE INDEX login_throttle_last_failure ON login_throttle (last_failure_at);

-- Read and written before anyone is logged in, as sessions are: in the 'auth' scope only.
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttle FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_only ON login_throttle USING (app_scope() = 'auth');
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO msp_app;
