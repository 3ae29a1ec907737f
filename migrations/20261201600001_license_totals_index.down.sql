CREATE INDEX IF NOT EXISTS mau_monthly_reseller_month ON mau_monthly (reseller_id, month);
DROP INDEX IF EXISTS mau_monthly_reseller_month_mau;
