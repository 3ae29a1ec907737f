DROP TRIGGER IF EXISTS count_inserted ON customers;
DROP TRIGGER IF EXISTS count_deleted ON customers;
DROP TRIGGER IF EXISTS count_updated ON customers;
DROP TRIGGER IF EXISTS count_inserted ON locations;
DROP TRIGGER IF EXISTS count_deleted ON locations;
DROP TRIGGER IF EXISTS count_moved ON locations;
DROP FUNCTION IF EXISTS count_inserted_customers(), count_deleted_customers(), count_updated_customer(),
    count_inserted_locations(), count_deleted_locations(), count_moved_location();
DROP FUNCTION IF EXISTS add_reseller_counts(bigint[], bigint[], bigint[], bigint[]);
DROP TABLE IF EXISTS reseller_counts;
