-- The SLA score's 30 days and the SLA tab's weeks read a customer's day roll-ups by
-- (customer_id, day). The rows of one customer lie on as many heap pages as it has days (the
-- table grows a day at a time, every customer's row of a day together): a tick after ten seconds
-- of agent reports read 53,000 heap pages for the 2,000 customers it scored (158 of the step's
-- 257 ms). With the counters in the key's index, those reads are index-only scans of a leaf page
-- or two per customer, and only the pages changed since the last vacuum are visited.
--
-- What it costs: a report's update of its day row changes an indexed column, so it is no longer
-- a heap-only update and adds a key entry (old ones go by bottom-up deletion and vacuum); the
-- index grows from 413 to about 600 MB on the benchmark's 23.6 M rows. Alternating report loads
-- measured no difference in reports/s beyond the noise (docs/performance.md).
--
-- One key rather than a second, covering index: a second would add that entry on every report
-- and keep both. The rebuild holds an ACCESS EXCLUSIVE lock on the roll-up (reports wait): about
-- 10 s on the benchmark's dataset.
SET LOCAL maintenance_work_mem = '512MB';
ALTER TABLE backup_job_days
    DROP CONSTRAINT backup_job_days_pkey,
    ADD CONSTRAINT backup_job_days_pkey PRIMARY KEY (customer_id, day, reseller_id)
        INCLUDE (succeeded, warning, failed, refused, running);
