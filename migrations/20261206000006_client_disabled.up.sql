-- A client an admin has disabled is refused: its reports store nothing and answer
-- 'client_disabled', and no report sets its status back to online (before, every accepted report
-- set it so). The customer's own refusals come first, as a report stored alone checks them before
-- its jobs. The admin's page locks the customer's row before it changes the client's status, as a
-- deactivation does, so the change commits before or after a report, never inside it; a writer
-- that changed the status without that lock could still see a report's jobs stored, but not the
-- client marked online again (the guard on the last update).
-- Otherwise as in migration 20261206000001.
CREATE OR REPLACE FUNCTION agent_store_reports(
    p_tokens text[],
    p_job_report int[], p_external_id text[], p_restore boolean[], p_connector text[],
    p_started timestamptz[], p_ended timestamptz[], p_status text[], p_bytes bigint[],
    p_now timestamptz)
RETURNS TABLE (report int, outcome text, detail text, reason text)
LANGUAGE plpgsql VOLATILE
SET search_path = public
SET app.scope = 'operator' SET app.reseller_id = '' SET app.customer_id = '' SET app.customer_ids = ''
AS $$
#variable_conflict use_column
BEGIN
    -- The customers' rows are locked first, in id order (two batches, or a batch and a report
    -- alone, never wait for each other crosswise), so that the next statement's snapshot sees
    -- everything committed for them before, as a report alone does after agent_open_report: a
    -- deactivation or deletion commits before or after each report, never inside it.
    PERFORM 1 FROM customers c
     WHERE c.id IN (SELECT k.customer_id FROM clients k WHERE k.token_hash = ANY (p_tokens))
     ORDER BY c.id FOR UPDATE;

    RETURN QUERY
    WITH senders AS (
        SELECT t.report::int AS report, k.id AS client_id, k.customer_id, k.reseller_id,
               k.status AS client_status, c.activated, c.lifecycle, c.backups_blocked_reason AS blocked
        FROM unnest(p_tokens) WITH ORDINALITY AS t(token_hash, report)
        LEFT JOIN clients k ON k.token_hash = t.token_hash
        LEFT JOIN customers c ON c.id = k.customer_id),
    jobs AS (
        SELECT j.*, s.client_id AS sender, s.customer_id, s.reseller_id, s.blocked, k.id AS connector_id
        FROM unnest(p_job_report, p_external_id, p_restore, p_connector, p_started, p_ended, p_status, p_bytes)
             WITH ORDINALITY AS j(report, external_id, restore, connector, started_at, ended_at, status, bytes, position)
        JOIN senders s ON s.report = j.report
        LEFT JOIN connectors k ON k.customer_id = s.customer_id AND k.name = j.connector),
    verdicts AS (
        SELECT s.report, s.client_id,
               CASE WHEN s.client_id IS NULL OR s.lifecycle IS NULL THEN 'invalid_token'
                    WHEN s.lifecycle <> 'active' THEN 'customer_scheduled_for_deletion'
                    WHEN NOT s.activated THEN 'customer_deactivated'
                    WHEN s.client_status = 'disabled' THEN 'client_disabled'
                    WHEN u.external_id IS NOT NULL THEN 'unknown_connector' END AS refusal,
               u.external_id AS unknown_job
        FROM senders s
        LEFT JOIN LATERAL (
            SELECT j.external_id FROM jobs j
            WHERE j.report = s.report AND j.connector IS NOT NULL AND j.connector_id IS NULL
            ORDER BY j.position LIMIT 1) u ON true),
    accepted AS (
        -- A job two reports of the batch carry (a retry racing its original) goes to the first.
        SELECT DISTINCT ON (j.customer_id, j.restore, j.external_id) j.*
        FROM jobs j JOIN verdicts v ON v.report = j.report AND v.refusal IS NULL
        ORDER BY j.customer_id, j.restore, j.external_id, j.report),
    backups AS (
        INSERT INTO backup_jobs (reseller_id, customer_id, connector_id, client_id, external_id, started_at,
                                 ended_at, status, bytes, error)
        SELECT a.reseller_id, a.customer_id, a.connector_id, CASE WHEN a.connector IS NULL THEN a.sender END,
               a.external_id, a.started_at, a.ended_at,
               CASE WHEN a.blocked IS NULL THEN a.status ELSE 'refused' END, a.bytes, coalesce(a.blocked, '')
        FROM accepted a WHERE NOT a.restore
        ON CONFLICT (customer_id, external_id) DO NOTHING
        RETURNING customer_id, external_id, connector_id, client_id, status, error, coalesce(ended_at, started_at) AS finished),
    restores AS (
        INSERT INTO restore_jobs (reseller_id, customer_id, connector_id, client_id, external_id, started_at,
                                  ended_at, status, bytes)
        SELECT a.reseller_id, a.customer_id, a.connector_id, CASE WHEN a.connector IS NULL THEN a.sender END,
               a.external_id, a.started_at, a.ended_at, a.status, a.bytes
        FROM accepted a WHERE a.restore
        ON CONFLICT (customer_id, external_id) DO NOTHING
        RETURNING customer_id, external_id, connector_id, started_at, status),
    backed_up AS (
        SELECT b.connector_id, max(b.finished) AS last FROM backups b
        WHERE b.status IN ('succeeded', 'warning') AND b.connector_id IS NOT NULL GROUP BY b.connector_id),
    restored AS (
        SELECT DISTINCT ON (r.connector_id) r.connector_id, r.started_at, r.status FROM restores r
        WHERE r.connector_id IS NOT NULL AND r.status <> 'running' ORDER BY r.connector_id, r.started_at DESC),
    touched AS (
        -- Not a FULL JOIN: a coalesce of its two sides cannot drive an index lookup, and the
        -- connectors would be scanned whole to join them.
        SELECT u.connector_id, b.last, r.started_at AS restored_at, r.status AS restore_status
        FROM (SELECT connector_id FROM backed_up UNION SELECT connector_id FROM restored) u
        LEFT JOIN backed_up b ON b.connector_id = u.connector_id
        LEFT JOIN restored r ON r.connector_id = u.connector_id),
    sources AS (
        UPDATE connectors k SET
            last_success_at = CASE WHEN k.last_success_at IS NULL OR k.last_success_at < t.last
                                   THEN t.last ELSE k.last_success_at END,
            last_restore_at = CASE WHEN t.restored_at IS NOT NULL
                                    AND (k.last_restore_at IS NULL OR k.last_restore_at <= t.restored_at)
                                   THEN t.restored_at ELSE k.last_restore_at END,
            last_restore_status = CASE WHEN t.restored_at IS NOT NULL
                                        AND (k.last_restore_at IS NULL OR k.last_restore_at <= t.restored_at)
                                       THEN t.restore_status ELSE k.last_restore_status END
        FROM touched t
        WHERE k.id = t.connector_id
          AND ((t.last IS NOT NULL AND (k.last_success_at IS NULL OR k.last_success_at < t.last))
               OR (t.restored_at IS NOT NULL
                   AND (k.last_restore_at IS NULL OR k.last_restore_at <= t.restored_at)
                   AND (k.last_restore_at, k.last_restore_status) IS DISTINCT FROM (t.restored_at, t.restore_status)))
        RETURNING 1),
    heard AS (
        -- Every accepted report's client, once however many of its reports the batch holds.
        SELECT v.client_id, max(b.finished) FILTER (WHERE b.status IN ('succeeded', 'warning')) AS last
        FROM verdicts v LEFT JOIN backups b ON b.client_id = v.client_id
        WHERE v.refusal IS NULL GROUP BY v.client_id),
    clients_heard AS (
        UPDATE clients k SET last_seen_at = p_now, status = 'online',
            last_success_at = CASE WHEN k.last_success_at IS NULL OR k.last_success_at < h.last
                                   THEN h.last ELSE k.last_success_at END
        -- Not a client disabled since the statement began: its status stays as the admin set it.
        FROM heard h WHERE k.id = h.client_id AND k.status <> 'disabled'
        RETURNING 1)
    SELECT v.report, v.refusal, v.unknown_job, NULL::text FROM verdicts v WHERE v.refusal IS NOT NULL
    UNION ALL
    SELECT a.report, CASE WHEN b.status = 'refused' THEN 'refused' ELSE 'stored' END, b.external_id,
           CASE WHEN b.status = 'refused' THEN b.error END
    FROM backups b JOIN accepted a ON a.customer_id = b.customer_id AND a.external_id = b.external_id AND NOT a.restore
    UNION ALL
    SELECT a.report, 'stored', r.external_id, NULL
    FROM restores r JOIN accepted a ON a.customer_id = r.customer_id AND a.external_id = r.external_id AND a.restore;
END
$$;
