-- The customer list counted each page's customers' clients, and sorting by the client count
-- counted every client of the reseller for every page (the largest reseller's 200,000: 65 ms of
-- PostgreSQL a page, 30 pages/s). The count is now stored on the customer, kept by triggers on
-- clients in the writer's transaction, so the list reads it and sorts by it off an index, as it
-- does its other columns (20261207000005).
--
-- The triggers add and subtract (never recount), so concurrent writers of one customer's clients
-- queue on its row and each adds its own: under READ COMMITTED an UPDATE that waited re-reads the
-- row it updates. An agent's registration locks the customer's row first anyway (its gate), so
-- this takes no lock it did not hold. They run as their owner: whoever may add or remove a client
-- keeps the count, whatever row security lets it update on customers.
ALTER TABLE customers ADD COLUMN client_count bigint NOT NULL DEFAULT 0 CHECK (client_count >= 0);

UPDATE customers c SET client_count = k.clients
FROM (SELECT customer_id, count(*) AS clients FROM clients GROUP BY customer_id) k
WHERE c.id = k.customer_id;

CREATE INDEX customers_reseller_clients ON customers (reseller_id, client_count, id) WHERE lifecycle <> 'deleted';

-- Both statement triggers, inserts adding and deletes subtracting. A customer deleted by the same
-- statement's cascade is gone already: nothing to update.
CREATE FUNCTION count_changed_clients() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE customers c SET client_count = c.client_count + CASE TG_OP WHEN 'INSERT' THEN n.clients ELSE -n.clients END
    FROM (SELECT customer_id, count(*) AS clients FROM changed_rows GROUP BY customer_id) n
    WHERE c.id = n.customer_id;
    RETURN NULL;
END $$;

-- Per row, and only when a client moves to another customer (nothing in the portal moves one): a
-- statement trigger on updates would collect every updated client, which agents' reports update
-- all the time.
CREATE FUNCTION count_moved_client() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE customers SET client_count = client_count + CASE WHEN id = NEW.customer_id THEN 1 ELSE -1 END
    WHERE id IN (OLD.customer_id, NEW.customer_id);
    RETURN NULL;
END $$;

CREATE FUNCTION count_truncated_clients() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE customers SET client_count = 0 WHERE client_count <> 0;
    RETURN NULL;
END $$;

CREATE TRIGGER client_count_inserted AFTER INSERT ON clients
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION count_changed_clients();
CREATE TRIGGER client_count_deleted AFTER DELETE ON clients
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION count_changed_clients();
CREATE TRIGGER client_count_moved AFTER UPDATE OF customer_id ON clients
    FOR EACH ROW WHEN (OLD.customer_id IS DISTINCT FROM NEW.customer_id) EXECUTE FUNCTION count_moved_client();
CREATE TRIGGER client_count_truncated AFTER TRUNCATE ON clients
    FOR EACH STATEMENT EXECUTE FUNCTION count_truncated_clients();

-- Called only by the triggers, as the other functions that run as their owner (20261206000008).
DO $$
DECLARE
    f text;
BEGIN
    FOREACH f IN ARRAY ARRAY['count_changed_clients', 'count_moved_client', 'count_truncated_clients']
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %I() FROM PUBLIC', f);
        EXECUTE format('GRANT EXECUTE ON FUNCTION %I() TO msp_app', f);
    END LOOP;
END
$$;
