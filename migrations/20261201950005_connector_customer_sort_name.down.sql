CREATE INDEX connectors_reseller_critical ON connectors (reseller_id, health_since)
    WHERE health = 'critical';
DROP INDEX IF EXISTS connectors_reseller_critical_since;
DROP INDEX IF EXISTS connectors_reseller_critical_by_customer;
DROP TRIGGER IF EXISTS rename_connectors ON customers;
DROP FUNCTION IF EXISTS rename_customer_connectors();
DROP TRIGGER IF EXISTS customer_sort_name ON connectors;
DROP FUNCTION IF EXISTS connector_customer_sort_name();
ALTER TABLE connectors DROP COLUMN IF EXISTS customer_sort_name;
