DROP INDEX IF EXISTS audit_log_reseller_object_at;
DROP INDEX IF EXISTS audit_log_reseller_action_at;
DROP INDEX IF EXISTS alerts_reseller_open_raised;
