DROP TRIGGER IF EXISTS count_inserted ON connectors;
DROP TRIGGER IF EXISTS count_deleted ON connectors;
DROP TRIGGER IF EXISTS count_updated ON connectors;
DROP TRIGGER IF EXISTS count_inserted ON seat_limits;
DROP TRIGGER IF EXISTS count_deleted ON seat_limits;
DROP TRIGGER IF EXISTS count_updated ON seat_limits;
DROP TRIGGER IF EXISTS count_attention ON customers;
DROP TRIGGER IF EXISTS count_removed ON customers;
DROP FUNCTION IF EXISTS count_inserted_connectors(), count_deleted_connectors(), count_updated_connector(),
    count_inserted_seat_limits(), count_deleted_seat_limits(), count_updated_seat_limit(),
    count_customer_deleted_or_restored(), count_customer_removed();
DROP FUNCTION IF EXISTS count_customer_attention(bigint, bigint, int);
DROP FUNCTION IF EXISTS customer_counts(bigint);
DROP FUNCTION IF EXISTS add_reseller_attention(bigint[], bigint[], bigint[]);
ALTER TABLE reseller_counts DROP COLUMN IF EXISTS critical_connectors, DROP COLUMN IF EXISTS exceeded_seat_limits;
ALTER POLICY tenant ON reseller_counts USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator');
