DROP TRIGGER IF EXISTS backup_job_days_truncate ON backup_jobs;
DROP TRIGGER IF EXISTS backup_job_days_delete ON backup_jobs;
DROP TRIGGER IF EXISTS backup_job_days_update ON backup_jobs;
DROP TRIGGER IF EXISTS backup_job_days_insert ON backup_jobs;
DROP FUNCTION IF EXISTS backup_job_days_truncate();
DROP FUNCTION IF EXISTS backup_job_days_maintain();
DROP TABLE IF EXISTS backup_job_source_days;
DROP TABLE IF EXISTS backup_job_days;
