DROP TRIGGER IF EXISTS alerts_write_email ON alerts;
DROP FUNCTION IF EXISTS alerts_write_email();
