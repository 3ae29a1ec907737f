DROP FUNCTION IF EXISTS agent_store_reports(text[], int[], text[], boolean[], text[], timestamptz[], timestamptz[],
                                            text[], bigint[], timestamptz);
