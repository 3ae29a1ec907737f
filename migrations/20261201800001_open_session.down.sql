DROP FUNCTION IF EXISTS app_open_session(bytea, timestamptz, timestamptz);
