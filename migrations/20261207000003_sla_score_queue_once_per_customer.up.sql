-- The SLA queue (20261206000008) took one row per writing statement: 64,000 rows for the 2,000
-- customers of a ten-second report load, and a tick then spent 76 ms deleting them. A writer now
-- queues a customer only if no row of its is queued already, and no one waits on anyone:
-- * A writer that finds its customer's row key-share locks it (FOR KEY SHARE) until it commits,
--   and queues nothing more. A row the engine is taking (locked to be deleted) is skipped (SKIP
--   LOCKED), as if it were gone: the writer queues a new one, since the engine may have read the
--   customer's figures before the writer's rows were committed.
-- * The engine deletes only the rows it can lock at once (FOR UPDATE SKIP LOCKED), and scores the
--   customers of every queued row, held or not: other writers may have committed changes under a
--   held row. A held row stays queued until a tick after its holder has ended.
-- Writers must run in READ COMMITTED (all do): in REPEATABLE READ or SERIALIZABLE, a row the
-- engine took after the writer's snapshot makes the lock attempt fail with a serialization error.
-- Two writers that find no row at the same time both queue one: a duplicate id, which the engine
-- folds (it reads each customer once per pass).
-- The functions keep running as their owner, as 20261206000008 made them (CREATE OR REPLACE resets
-- what it does not state; their grants are kept).
CREATE INDEX sla_score_queue_customer ON sla_score_queue (customer_id);

-- Each customer once, then its check: an agent's batch of thousands of jobs probes the queue once
-- per customer, not once per job.
CREATE OR REPLACE FUNCTION queue_sla_scores() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id)
    SELECT c.reseller_id, c.customer_id
    FROM (SELECT DISTINCT reseller_id, customer_id FROM changed_rows WHERE customer_id IS NOT NULL) c
    WHERE NOT EXISTS (SELECT FROM sla_score_queue q WHERE q.customer_id = c.customer_id FOR KEY SHARE SKIP LOCKED);
    RETURN NULL;
END $$;

-- The per-row triggers' one customer, with the statement triggers' check. Called only by them, as
-- their owner.
CREATE FUNCTION queue_sla_customer(p_reseller_id bigint, p_customer_id bigint) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM sla_score_queue q WHERE q.customer_id = p_customer_id FOR KEY SHARE SKIP LOCKED) THEN
        INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (p_reseller_id, p_customer_id);
    END IF;
END $$;
REVOKE ALL ON FUNCTION queue_sla_customer(bigint, bigint) FROM PUBLIC;

-- A row moved to another customer changes the scores of both.
CREATE OR REPLACE FUNCTION queue_sla_score() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.customer_id IS NOT NULL THEN
        PERFORM queue_sla_customer(NEW.reseller_id, NEW.customer_id);
    END IF;
    IF OLD.customer_id IS NOT NULL AND OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
        PERFORM queue_sla_customer(OLD.reseller_id, OLD.customer_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION queue_customers_sla_scores() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id)
    SELECT c.reseller_id, c.id FROM changed_rows c
    WHERE NOT EXISTS (SELECT FROM sla_score_queue q WHERE q.customer_id = c.id FOR KEY SHARE SKIP LOCKED);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION queue_customer_sla_score() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    PERFORM queue_sla_customer(NEW.reseller_id, NEW.id);
    RETURN NULL;
END $$;
