DROP FUNCTION IF EXISTS agent_pool_usage(bigint);
DROP FUNCTION IF EXISTS agent_client(text);
DROP FUNCTION IF EXISTS agent_customer(text);
