-- Indexes for the filters of /alerts (open alerts newest first, per reseller) and /audit (one
-- action or one object of a reseller, newest first). Keyset pages order by (time, id).
CREATE INDEX alerts_reseller_open_raised ON alerts (reseller_id, raised_at DESC, id DESC) WHERE resolved_at IS NULL;
CREATE INDEX audit_log_reseller_action_at ON audit_log (reseller_id, action, at DESC, id DESC);
CREATE INDEX audit_log_reseller_object_at ON audit_log (reseller_id, object_kind, object_id, at DESC);
