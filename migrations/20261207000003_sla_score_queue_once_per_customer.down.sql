CREATE OR REPLACE FUNCTION queue_sla_scores() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id)
    SELECT DISTINCT reseller_id, customer_id FROM changed_rows WHERE customer_id IS NOT NULL;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION queue_sla_score() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF NEW.customer_id IS NOT NULL THEN
        INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (NEW.reseller_id, NEW.customer_id);
    END IF;
    IF OLD.customer_id IS NOT NULL AND OLD.customer_id IS DISTINCT FROM NEW.customer_id THEN
        INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (OLD.reseller_id, OLD.customer_id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION queue_customers_sla_scores() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id) SELECT reseller_id, id FROM changed_rows;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION queue_customer_sla_score() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO sla_score_queue (reseller_id, customer_id) VALUES (NEW.reseller_id, NEW.id);
    RETURN NULL;
END $$;

DROP FUNCTION queue_sla_customer(bigint, bigint);
DROP INDEX sla_score_queue_customer;
