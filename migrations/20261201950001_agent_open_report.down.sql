DROP FUNCTION IF EXISTS agent_open_report(text);
