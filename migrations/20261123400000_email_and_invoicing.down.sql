DROP INDEX IF EXISTS invoices_month;
DROP TABLE IF EXISTS invoice_plan_changes;
DROP TABLE IF EXISTS password_tokens;
DROP TABLE IF EXISTS email_report_marks;
DROP INDEX IF EXISTS email_outbox_sent;
DROP INDEX IF EXISTS email_outbox_state;
DROP INDEX IF EXISTS email_outbox_queued;
ALTER TABLE email_outbox DROP COLUMN IF EXISTS state;
