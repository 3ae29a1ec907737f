CREATE INDEX backup_jobs_customer_started_cover ON backup_jobs (customer_id, started_at)
    INCLUDE (status, connector_id, client_id);
DROP INDEX IF EXISTS backup_jobs_customer_started_tenant_cover;
