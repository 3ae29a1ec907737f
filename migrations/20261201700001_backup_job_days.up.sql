-- The customer SLA tab aggregated raw backup_jobs on every request: 13 weeks of a 100,000-job
-- customer, with a count(DISTINCT source) per week, was ~450 ms of SQL. These roll-ups hold the
-- same figures per customer and UTC day (the raw queries truncate started_at in UTC), so the tab
-- reads a few hundred rows whatever the number of jobs.
--
-- backup_job_days: jobs per customer, UTC day and status, exactly count(*) of the raw rows.
-- backup_job_source_days: per customer, UTC day and source (coalesce(connector_id, -client_id),
-- the key the trend counts distinct) that had a succeeded or warning job that day, the first and
-- last such job's started_at. The trend's weeks end at "now", not at midnight: a source had a good
-- job in the part of a day before an instant t iff first_ok_at < t, and in the part from t on iff
-- last_ok_at >= t, so a week's distinct good sources stay exact at any boundary.
--
-- Both are kept by statement-level triggers on backup_jobs (set-based, from the transition tables,
-- in the writer's transaction), so every writer is covered: agent reports, the seed, tests, and the
-- deletes that cascade from clients, connectors and customers (the engine's purge).
--
-- The tables are created without keys, filled by one INSERT … SELECT … GROUP BY each, then keyed
-- (one sort per key instead of a key lookup and a foreign-key check per row). On the 20 M-job
-- benchmark database (2 shared cores) the whole migration takes about 2½ minutes: about a minute
-- per backfill (8.1 M day rows, 15.6 M source-day rows) and 15–35 s per table's keys. SHARE mode
-- keeps writers of backup_jobs waiting until the triggers exist (the migration is one
-- transaction), so no job committed meanwhile is missed; readers are not blocked.
LOCK TABLE backup_jobs IN SHARE MODE;
-- For this transaction only: sorts of the aggregates and key builds in memory rather than in many
-- small temporary-file runs.
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';

CREATE TABLE backup_job_days (
    reseller_id  bigint NOT NULL,
    customer_id  bigint NOT NULL,
    day          date NOT NULL,
    succeeded    integer NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    warning      integer NOT NULL DEFAULT 0 CHECK (warning >= 0),
    failed       integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    refused      integer NOT NULL DEFAULT 0 CHECK (refused >= 0),
    running      integer NOT NULL DEFAULT 0 CHECK (running >= 0)
);

CREATE TABLE backup_job_source_days (
    reseller_id  bigint NOT NULL,
    customer_id  bigint NOT NULL,
    day          date NOT NULL,
    source       bigint NOT NULL,
    first_ok_at  timestamptz NOT NULL,
    last_ok_at   timestamptz NOT NULL,
    CHECK (first_ok_at <= last_ok_at)
);

-- About 45 s on the benchmark database (20 M jobs, 8.1 M rows).
INSERT INTO backup_job_days (reseller_id, customer_id, day, succeeded, warning, failed, refused, running)
SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date,
       count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'warning'),
       count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'refused'),
       count(*) FILTER (WHERE status = 'running')
FROM backup_jobs
GROUP BY 1, 2, 3;

-- About 60 s on the benchmark database (15.6 M rows).
INSERT INTO backup_job_source_days (reseller_id, customer_id, day, source, first_ok_at, last_ok_at)
SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date, coalesce(connector_id, -client_id),
       min(started_at), max(started_at)
FROM backup_jobs
WHERE status IN ('succeeded', 'warning')
GROUP BY 1, 2, 3, 4;

-- reseller_id is part of the key only so that the roll-up mirrors the raw rows even if a
-- customer's jobs carried two resellers; the SLA queries range over (customer_id, day).
ALTER TABLE backup_job_days ADD PRIMARY KEY (customer_id, day, reseller_id),
    ADD FOREIGN KEY (reseller_id) REFERENCES resellers (id),
    ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;
ALTER TABLE backup_job_source_days ADD PRIMARY KEY (customer_id, day, source, reseller_id),
    ADD FOREIGN KEY (reseller_id) REFERENCES resellers (id),
    ADD FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE;

-- Statistics now, not at autovacuum's leisure: without them the first SLA pages would be planned
-- for empty tables. A sample, a few seconds.
ANALYZE backup_job_days, backup_job_source_days;

-- Same policy as the other tables below the customer level (20261201500004).
DO $$
DECLARE
    t text;
    rule constant text := 'coalesce((SELECT app_scope()) = ''operator'' '
        'OR ((SELECT app_scope()) = ''reseller'' AND reseller_id = (SELECT app_reseller_id()) '
        'AND (customer_id IS NULL OR (SELECT app_granted_customers()) IS NULL '
        'OR customer_id = ANY ((SELECT app_granted_customers())::bigint[]))) '
        'OR ((SELECT app_scope()) = ''customer'' AND reseller_id = (SELECT app_reseller_id()) '
        'AND customer_id = (SELECT app_customer_id())), false)';
BEGIN
    FOREACH t IN ARRAY ARRAY['backup_job_days', 'backup_job_source_days']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I USING (' || rule || ')', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO msp_app', t);
    END LOOP;
END
$$;

-- The trigger runs as the writer (no SECURITY DEFINER): the roll-up rows carry the reseller and
-- customer of the job rows the writer was allowed to write, so the same policy admits them. Rows
-- are upserted in key order, so two writers of one customer cannot deadlock on them; agent reports
-- of one customer already queue on the customer row (the gate's SELECT … FOR UPDATE comes first),
-- so the shared day row adds no wait to them.
-- Jobs are never updated today (a report stores each job once, ON CONFLICT DO NOTHING); UPDATE is
-- handled anyway, as a removal of the old rows and an addition of the new ones.
CREATE FUNCTION backup_job_days_maintain() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    r bigint[];
    c bigint[];
    d date[];
    s bigint[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO backup_job_days AS x (reseller_id, customer_id, day, succeeded, warning, failed, refused, running)
        SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date,
               count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'warning'),
               count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'refused'),
               count(*) FILTER (WHERE status = 'running')
        FROM new_jobs
        GROUP BY 1, 2, 3
        ORDER BY 2, 3, 1
        ON CONFLICT (customer_id, day, reseller_id) DO UPDATE
            SET succeeded = x.succeeded + EXCLUDED.succeeded, warning = x.warning + EXCLUDED.warning,
                failed = x.failed + EXCLUDED.failed, refused = x.refused + EXCLUDED.refused,
                running = x.running + EXCLUDED.running;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO backup_job_source_days AS x (reseller_id, customer_id, day, source, first_ok_at, last_ok_at)
        SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date, coalesce(connector_id, -client_id),
               min(started_at), max(started_at)
        FROM new_jobs
        WHERE status IN ('succeeded', 'warning')
        GROUP BY 1, 2, 3, 4
        ORDER BY 2, 3, 4, 1
        ON CONFLICT (customer_id, day, source, reseller_id) DO UPDATE
            SET first_ok_at = least(x.first_ok_at, EXCLUDED.first_ok_at),
                last_ok_at = greatest(x.last_ok_at, EXCLUDED.last_ok_at);
        RETURN NULL;
    END IF;

    -- DELETE or UPDATE: counts are subtracted; days left with no job go, as they are absent from
    -- the raw aggregate.
    UPDATE backup_job_days x
       SET succeeded = x.succeeded - g.succeeded, warning = x.warning - g.warning, failed = x.failed - g.failed,
           refused = x.refused - g.refused, running = x.running - g.running
      FROM (SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date AS day,
                   count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
                   count(*) FILTER (WHERE status = 'warning') AS warning,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   count(*) FILTER (WHERE status = 'refused') AS refused,
                   count(*) FILTER (WHERE status = 'running') AS running
            FROM old_jobs GROUP BY 1, 2, 3) g
     WHERE x.customer_id = g.customer_id AND x.day = g.day AND x.reseller_id = g.reseller_id;
    DELETE FROM backup_job_days x
     USING (SELECT DISTINCT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date AS day FROM old_jobs) g
     WHERE x.customer_id = g.customer_id AND x.day = g.day AND x.reseller_id = g.reseller_id
       AND x.succeeded = 0 AND x.warning = 0 AND x.failed = 0 AND x.refused = 0 AND x.running = 0;

    -- A source-day's first and last good job cannot be subtracted: the source-days the old rows
    -- (and, on UPDATE, the new ones) touched are read again from the jobs there are now, one UTC
    -- day of one customer each on the covering index.
    IF TG_OP = 'DELETE' THEN
        SELECT array_agg(t.reseller_id), array_agg(t.customer_id), array_agg(t.day), array_agg(t.source)
          INTO r, c, d, s
          FROM (SELECT DISTINCT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date AS day,
                       coalesce(connector_id, -client_id) AS source
                FROM old_jobs WHERE status IN ('succeeded', 'warning')) t;
    ELSE
        SELECT array_agg(t.reseller_id), array_agg(t.customer_id), array_agg(t.day), array_agg(t.source)
          INTO r, c, d, s
          FROM (SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date AS day,
                       coalesce(connector_id, -client_id) AS source
                FROM old_jobs WHERE status IN ('succeeded', 'warning')
                UNION
                SELECT reseller_id, customer_id, (started_at AT TIME ZONE 'UTC')::date,
                       coalesce(connector_id, -client_id)
                FROM new_jobs WHERE status IN ('succeeded', 'warning')) t;
    END IF;
    IF r IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO backup_job_source_days AS x (reseller_id, customer_id, day, source, first_ok_at, last_ok_at)
    SELECT t.reseller_id, t.customer_id, t.day, t.source, min(j.started_at), max(j.started_at)
    FROM unnest(r, c, d, s) AS t(reseller_id, customer_id, day, source)
    JOIN backup_jobs j ON j.customer_id = t.customer_id AND j.reseller_id = t.reseller_id
         AND j.started_at >= t.day::timestamp AT TIME ZONE 'UTC'
         AND j.started_at < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
         AND coalesce(j.connector_id, -j.client_id) = t.source AND j.status IN ('succeeded', 'warning')
    GROUP BY 1, 2, 3, 4
    ORDER BY 2, 3, 4, 1
    ON CONFLICT (customer_id, day, source, reseller_id) DO UPDATE
        SET first_ok_at = EXCLUDED.first_ok_at, last_ok_at = EXCLUDED.last_ok_at;
    DELETE FROM backup_job_source_days x
     USING unnest(r, c, d, s) AS t(reseller_id, customer_id, day, source)
     WHERE x.customer_id = t.customer_id AND x.day = t.day AND x.source = t.source AND x.reseller_id = t.reseller_id
       AND NOT EXISTS (
           SELECT 1 FROM backup_jobs j
           WHERE j.customer_id = t.customer_id AND j.reseller_id = t.reseller_id
             AND j.started_at >= t.day::timestamp AT TIME ZONE 'UTC'
             AND j.started_at < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
             AND coalesce(j.connector_id, -j.client_id) = t.source AND j.status IN ('succeeded', 'warning'));
    RETURN NULL;
END
$$;

CREATE FUNCTION backup_job_days_truncate() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE backup_job_days, backup_job_source_days;
    RETURN NULL;
END
$$;

-- Transition tables allow one event per trigger, hence three.
CREATE TRIGGER backup_job_days_insert AFTER INSERT ON backup_jobs
    REFERENCING NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION backup_job_days_maintain();
CREATE TRIGGER backup_job_days_update AFTER UPDATE ON backup_jobs
    REFERENCING OLD TABLE AS old_jobs NEW TABLE AS new_jobs FOR EACH STATEMENT EXECUTE FUNCTION backup_job_days_maintain();
CREATE TRIGGER backup_job_days_delete AFTER DELETE ON backup_jobs
    REFERENCING OLD TABLE AS old_jobs FOR EACH STATEMENT EXECUTE FUNCTION backup_job_days_maintain();
CREATE TRIGGER backup_job_days_truncate AFTER TRUNCATE ON backup_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION backup_job_days_truncate();
