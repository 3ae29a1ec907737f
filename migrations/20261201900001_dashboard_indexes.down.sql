DROP INDEX IF EXISTS seat_limits_approaching_by_days;
DROP INDEX IF EXISTS seat_limits_exceeding_by_grace;
CREATE INDEX customers_reseller_deletion ON customers (reseller_id, delete_on) WHERE lifecycle = 'scheduled_for_deletion';
CREATE INDEX customers_reseller_trial ON customers (reseller_id, trial_ends_on)
    WHERE tenant_type = 'evaluation' AND lifecycle = 'active';
CREATE INDEX customers_reseller_expiry ON customers (reseller_id, service_expires_on)
    WHERE lifecycle = 'active' AND service_expires_on IS NOT NULL;
DROP INDEX IF EXISTS customers_active_ids;
DROP INDEX IF EXISTS customers_reseller_expiry_ids;
DROP INDEX IF EXISTS customers_reseller_trial_ids;
DROP INDEX IF EXISTS customers_reseller_deletion_ids;
