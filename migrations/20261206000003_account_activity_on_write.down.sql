DROP TRIGGER IF EXISTS record_activity_updated ON accounts;
DROP TRIGGER IF EXISTS record_activity_inserted ON accounts;
DROP FUNCTION IF EXISTS record_account_activity_months();
