-- The SLA pass was a full pass every 15 minutes: 30 days of backup_job_days of every customer,
-- its sources and its open critical alerts (2.3 s on the large dataset, the one tick in fifteen
-- over the steady-state target), almost always to find little changed. A score depends on the
-- customer's jobs of the last 30 UTC days, its data sources (how many, and how many had a good
-- backup within the stale threshold), its open critical alerts, its lifecycle, the threshold and
-- the time. Every statement that changes one of the first five queues the customers it touched,
-- in its own transaction, as seat forecasts are queued (20261206000002); time alone moves a
-- score when a fresh source turns stale, which the step foresees: sla_score_due holds, for each
-- customer with a fresh source, the instant the first of them turns stale, and the step takes the
-- customers whose instant has come along with the queue. The 30-day window moves for everyone at
-- each UTC day: the step's first pass of a day is a full one.
CREATE TABLE sla_score_queue (
    reseller_id  bigint,
    -- NULL: every customer (the stale threshold changed, a table was truncated).
    customer_id  bigint
);
ALTER TABLE sla_score_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE sla_score_queue FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sla_score_queue USING (app_may_see(reseller_id, customer_id));

-- No foreign key: the row of a customer removed since fires once, finds no customer and is gone.
CREATE TABLE sla_score_due (
    customer_id  bigint PRIMARY KEY,
    reseller_id  bigint NOT NULL,
    due_at       timestamptz NOT NULL
);
CREATE INDEX sla_score_due_at ON sla_score_due (due_at);
ALTER TABLE sla_score_due ENABLE ROW LEVEL SECURITY;
ALTER TABLE sla_score_due FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON sla_score_due USING (app_may_see(reseller_id, customer_id));

-- Inserts and deletes queue once per statement, from the transition table (an agent's batch of
-- jobs is one statement); updates queue per row, and only when a column the score reads has
-- changed. The functions run as their owner (set below): a queued id is no secret, and a write
-- allowed in its own scope may touch rows of another, such as the jobs a client deletion cascades
-- to when the client was moved to the default customer and its jobs were not; queuing in the
-- writer's scope refused the whole deletion.
CREATE FUNCTION queue_sla_scores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id)
    SELECT DISTINCT reseller_id, customer_id FROM changed_rows WHERE customer_id IS NOT NULL;
    RETURN NULL;
END $$;

-- A row moved to another customer changes the scores of both.
CREATE FUNCTION queue_sla_score() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.customer_id IS NOT NULL THEN
        INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (NEW.reseller_id, NEW.customer_id);
    END IF;
    IF OLD.customer_id IS NOT NULL AND OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
        INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (OLD.reseller_id, OLD.customer_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION queue_customers_sla_scores() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id) SELECT reseller_id, id FROM changed_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION queue_customer_sla_score() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (NEW.reseller_id, NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION queue_every_sla_score() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (NULL, NULL);
    RETURN NULL;
END $$;

DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['queue_sla_scores', 'queue_sla_score', 'queue_customers_sla_scores',
                             'queue_customer_sla_score', 'queue_every_sla_score']
    LOOP
        EXECUTE format('ALTER FUNCTION %I() SECURITY DEFINER SET search_path = public, pg_temp', f);
        EXECUTE format('REVOKE ALL ON FUNCTION %I() FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %I() TO msp_app', f);
    END LOOP;
END
$$;

-- Alerts: the open critical ones of the customer, which the queued pass reads by this index
-- (through the customer's index it visited every alert the customer ever had).
CREATE INDEX alerts_open_critical_by_customer ON alerts (customer_id) WHERE severity = 'critical' AND resolved_at IS NULL;

-- Each table the score reads, with the columns whose change moves it: jobs (their roll-up,
-- backup_job_days, changes only with them), data sources (how many, and when each last backed
-- up well) and alerts (the open critical ones).
DO $$
DECLARE
    t text[];
BEGIN
    FOREACH t SLICE 1 IN ARRAY ARRAY[['backup_jobs', 'status, started_at, customer_id'],
                                     ['clients', 'last_success_at, customer_id'],
                                     ['connectors', 'last_success_at, customer_id'],
                                     ['alerts', 'severity, resolved_at, customer_id']]
    LOOP
        EXECUTE format('CREATE TRIGGER sla_score_queue_inserted AFTER INSERT ON %I REFERENCING NEW TABLE AS changed_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION queue_sla_scores()', t[1]);
        EXECUTE format('CREATE TRIGGER sla_score_queue_deleted AFTER DELETE ON %I REFERENCING OLD TABLE AS changed_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION queue_sla_scores()', t[1]);
        EXECUTE format('CREATE TRIGGER sla_score_queue_updated AFTER UPDATE ON %I FOR EACH ROW '
                       'WHEN ((%s) IS DISTINCT FROM (%s)) EXECUTE FUNCTION queue_sla_score()', t[1],
                       regexp_replace(t[2], '(\w+)', 'OLD.\1', 'g'), regexp_replace(t[2], '(\w+)', 'NEW.\1', 'g'));
        EXECUTE format('CREATE TRIGGER sla_score_queue_truncated AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION queue_every_sla_score()', t[1]);
    END LOOP;
END
$$;

-- Customers: a new one gets its first score; a deleted one keeps its last, one revived gets a new one.
CREATE TRIGGER sla_score_queue_inserted AFTER INSERT ON customers REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION queue_customers_sla_scores();
CREATE TRIGGER sla_score_queue_updated AFTER UPDATE ON customers
    FOR EACH ROW WHEN (OLD.lifecycle IS DISTINCT FROM NEW.lifecycle)
    EXECUTE FUNCTION queue_customer_sla_score();

-- The stale threshold decides every customer's fresh sources.
CREATE TRIGGER sla_score_queue_updated AFTER UPDATE ON server_settings
    FOR EACH ROW WHEN (OLD.stale_warning_hours IS DISTINCT FROM NEW.stale_warning_hours)
    EXECUTE FUNCTION queue_every_sla_score();

-- What changed before this migration is in no queue, and no instant is foreseen yet: the next
-- tick makes the full pass.
UPDATE engine_steps SET last_success_at = NULL WHERE step = 'sla_scores';
