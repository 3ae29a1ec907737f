-- The customer list sorts by name, MCALs, quota, space used, SLA score and status (and by the
-- client count, which it counts for the page). Only the name had an index in the list's order:
-- every other sort sorted all of the reseller's customers for every page (the largest reseller's
-- 19,805 sorted by score: 90 pages/s, 21 ms of PostgreSQL each, page 1 or page 200 alike), and
-- `customers_reseller_sla` (20261123300003), on the bare column, could not give the score's
-- expression in order. Each is now indexed as the list writes it (store::customers::sort_expression),
-- so a page and its keyset cursor come off the index (1,692 pages/s sorted by score).
--
-- The expressions are CASEs where they were coalesce(): under row-level security PostgreSQL lets
-- no coalesce() into an index condition (it counts it as possibly leaky), while a CASE, a NULL
-- test, the leakproof casts and comparisons are let in, and the cursor must be an index condition.
--
-- Four more indexes on customers: a customer's row is written when its settings, its score or
-- its storage total change, not per job.
DROP INDEX customers_reseller_sla;
CREATE INDEX customers_reseller_score
    ON customers (reseller_id, (CASE WHEN sla_score IS NULL THEN 101 ELSE sla_score::bigint END), id)
    WHERE lifecycle <> 'deleted';
CREATE INDEX customers_reseller_mcals
    ON customers (reseller_id, (CASE WHEN mcals_allotted IS NULL THEN -1 ELSE mcals_allotted::bigint END), id)
    WHERE lifecycle <> 'deleted';
CREATE INDEX customers_reseller_quota
    ON customers (reseller_id, (CASE WHEN space_quota_bytes IS NULL THEN -1 ELSE space_quota_bytes END), id)
    WHERE lifecycle <> 'deleted';
CREATE INDEX customers_reseller_used ON customers (reseller_id, used_space_bytes, id) WHERE lifecycle <> 'deleted';
CREATE INDEX customers_reseller_status
    ON customers (reseller_id,
                  (CASE WHEN lifecycle = 'scheduled_for_deletion' THEN 'scheduled_for_deletion'
                        WHEN NOT activated THEN 'deactivated'
                        WHEN tenant_type = 'evaluation' THEN 'evaluation' ELSE 'active' END), id)
    WHERE lifecycle <> 'deleted';
