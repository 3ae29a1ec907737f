CREATE INDEX backup_jobs_customer_started ON backup_jobs (customer_id, started_at);
DROP INDEX IF EXISTS backup_jobs_customer_started_cover;
