-- The critical tab's pages in each of its orders straight off an index, cut at the page's length.
-- By customer: the name lived only on the customer's row, so every page joined and sorted all of
-- the reseller's critical connectors (1,234 for the largest). With the customer's sort name kept
-- on the connector the keyset cursor is the index scan's start (a stored column compares with
-- leakproof operators, so row-level security does not stop it being an index condition; see
-- 20261201800003). By date (the default, newest first): the index lacked the row key that breaks
-- ties, and seeded or mass-changed connectors share few instants (200 for those 1,234), so the
-- ties were sorted on every page.
ALTER TABLE connectors ADD COLUMN customer_sort_name text;
UPDATE connectors k SET customer_sort_name = c.sort_name FROM customers c WHERE c.id = k.customer_id;
ALTER TABLE connectors ALTER COLUMN customer_sort_name SET NOT NULL;

-- A connector takes its customer's name when it is created or moved.
CREATE FUNCTION connector_customer_sort_name() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.customer_sort_name := (SELECT c.sort_name FROM customers c WHERE c.id = NEW.customer_id);
    RETURN NEW;
END $$;
CREATE TRIGGER customer_sort_name BEFORE INSERT OR UPDATE OF customer_id ON connectors
    FOR EACH ROW EXECUTE FUNCTION connector_customer_sort_name();

-- A renamed customer renames its connectors' copy, in the renaming transaction.
CREATE FUNCTION rename_customer_connectors() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE connectors SET customer_sort_name = NEW.sort_name
     WHERE customer_id = NEW.id AND customer_sort_name IS DISTINCT FROM NEW.sort_name;
    RETURN NULL;
END $$;
CREATE TRIGGER rename_connectors AFTER UPDATE OF name ON customers
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) EXECUTE FUNCTION rename_customer_connectors();

CREATE INDEX connectors_reseller_critical_by_customer ON connectors (reseller_id, customer_sort_name, id)
    WHERE health = 'critical';

CREATE INDEX connectors_reseller_critical_since ON connectors (reseller_id, health_since, id)
    WHERE health = 'critical';
DROP INDEX connectors_reseller_critical;
