SET LOCAL maintenance_work_mem = '512MB';
ALTER TABLE backup_job_days
    DROP CONSTRAINT backup_job_days_pkey,
    ADD CONSTRAINT backup_job_days_pkey PRIMARY KEY (customer_id, day, reseller_id);
