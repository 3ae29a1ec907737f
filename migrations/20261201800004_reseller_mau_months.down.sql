DROP TRIGGER IF EXISTS count_inserted ON mau_monthly;
DROP TRIGGER IF EXISTS count_deleted ON mau_monthly;
DROP TRIGGER IF EXISTS count_updated ON mau_monthly;
DROP FUNCTION IF EXISTS count_mau();
DROP FUNCTION IF EXISTS add_reseller_mau(bigint[], date[], bigint[]);
DROP TABLE IF EXISTS reseller_mau_months;
DROP INDEX IF EXISTS customers_reseller_unlisted;
