DROP TRIGGER IF EXISTS queue_inserted ON account_activity_months;
DROP TRIGGER IF EXISTS queue_deleted ON account_activity_months;
DROP FUNCTION IF EXISTS queue_mau_recount();
DROP TABLE IF EXISTS mau_recount;
