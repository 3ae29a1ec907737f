DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['customers', 'locations', 'connectors', 'seat_limits'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS count_inserted ON %I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS count_updated ON %I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS count_deleted ON %I', t);
    END LOOP;
END
$$;
DROP TRIGGER IF EXISTS count_removed ON customers;
DROP TRIGGER IF EXISTS count_moved ON locations;
DROP FUNCTION IF EXISTS count_inserted_customers(), count_changed_customer(), count_locations(), count_moved_location(),
    count_connectors(), count_changed_connector(), count_seat_limits(), count_changed_seat_limit();
DROP FUNCTION IF EXISTS customer_counts(bigint, bigint, text, boolean, int);
DROP FUNCTION IF EXISTS customer_is_live(bigint);
DROP FUNCTION IF EXISTS add_reseller_counts(reseller_count_change[]);
DROP TABLE IF EXISTS reseller_counts;
DROP TYPE IF EXISTS reseller_count_change;
