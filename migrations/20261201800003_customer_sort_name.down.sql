CREATE INDEX customers_reseller_listed ON customers (reseller_id, lower(name), id) INCLUDE (is_default)
    WHERE lifecycle <> 'deleted';
DROP INDEX IF EXISTS customers_reseller_sort_name;
ALTER TABLE customers DROP COLUMN IF EXISTS sort_name;
