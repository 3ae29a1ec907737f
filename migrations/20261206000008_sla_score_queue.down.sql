DROP TRIGGER sla_score_queue_updated ON server_settings;
DROP TRIGGER sla_score_queue_inserted ON customers;
DROP TRIGGER sla_score_queue_updated ON customers;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['backup_jobs', 'clients', 'connectors', 'alerts']
    LOOP
        EXECUTE format('DROP TRIGGER sla_score_queue_inserted ON %I', t);
        EXECUTE format('DROP TRIGGER sla_score_queue_deleted ON %I', t);
        EXECUTE format('DROP TRIGGER sla_score_queue_updated ON %I', t);
        EXECUTE format('DROP TRIGGER sla_score_queue_truncated ON %I', t);
    END LOOP;
END
$$;
DROP INDEX alerts_open_critical_by_customer;
DROP FUNCTION queue_every_sla_score();
DROP FUNCTION queue_customer_sla_score();
DROP FUNCTION queue_customers_sla_scores();
DROP FUNCTION queue_sla_score();
DROP FUNCTION queue_sla_scores();
DROP TABLE sla_score_due;
DROP TABLE sla_score_queue;
