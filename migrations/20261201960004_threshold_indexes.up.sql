-- The engine's steps that run every tick looked for a few rows with a pass over every customer or
-- seat limit (each 30-70 ms on the large dataset, ~0.45 s of a steady tick of ~0.65 s): customers
-- at 80 % of their storage quota, services and evaluations ending within 30 days, seat limits and
-- credit quotas with a change due, seat limits over their limit without a grace period yet,
-- customers whose backups the engine blocked, and the recipients of each kind of email report.
-- These partial indexes hold just those rows; each step's SQL repeats its predicate literally, so
-- the planner can use them.
CREATE INDEX customers_storage_high ON customers (id)
    WHERE lifecycle <> 'deleted' AND space_quota_bytes > 0 AND used_space_bytes >= space_quota_bytes * 0.8;
CREATE INDEX customers_service_ending ON customers (service_expires_on)
    WHERE lifecycle = 'active' AND NOT is_default AND service_expires_on IS NOT NULL;
CREATE INDEX customers_trial_ending ON customers (trial_ends_on)
    WHERE lifecycle = 'active' AND tenant_type = 'evaluation';
CREATE INDEX customers_credit_quota_due ON customers (pending_credit_quota_on)
    WHERE pending_credit_quota_on IS NOT NULL;
CREATE INDEX customers_backups_blocked ON customers (id) WHERE backups_blocked_reason IS NOT NULL;
CREATE INDEX customers_event_report_recipients ON customers (id)
    WHERE email_reports AND email <> '' AND lifecycle <> 'deleted';
CREATE INDEX customers_status_report_recipients ON customers (id)
    WHERE backup_status_reports AND email <> '' AND lifecycle <> 'deleted';
CREATE INDEX customers_consolidated_report_recipients ON customers (id)
    WHERE consolidated_report_every IS NOT NULL AND consolidated_report_to <> '' AND lifecycle <> 'deleted';
CREATE INDEX seat_limits_change_due ON seat_limits (pending_effective_on) WHERE pending_effective_on IS NOT NULL;
CREATE INDEX seat_limits_grace_to_start ON seat_limits (customer_id)
    WHERE seats_used > seat_limit AND over_limit_since IS NULL;
