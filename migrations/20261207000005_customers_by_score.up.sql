-- The customer list sorts by score with customers not yet scored last when the riskiest come
-- first. `customers_reseller_sla` (20261123300003), on the bare column, could not give the list's
-- expression (then `coalesce(sla_score, 101)::bigint`) in order: every page sorted all of the
-- reseller's customers (27 ms for the largest's 19,805, page 1 or page 200 alike). Indexed as the
-- list writes it (store::customers::sort_expression), the page and its keyset cursor come off the
-- index (0.5 ms). The expression is a CASE: under row-level security PostgreSQL lets no
-- coalesce() into an index condition (it counts it as possibly leaky), while a CASE, a NULL test
-- and the leakproof cast and comparisons are let in.
DROP INDEX customers_reseller_sla;
CREATE INDEX customers_reseller_score
    ON customers (reseller_id, (CASE WHEN sla_score IS NULL THEN 101 ELSE sla_score::bigint END), id)
    WHERE lifecycle <> 'deleted';
