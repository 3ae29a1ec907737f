DROP TRIGGER client_count_truncated ON clients;
DROP TRIGGER client_count_moved ON clients;
DROP TRIGGER client_count_deleted ON clients;
DROP TRIGGER client_count_inserted ON clients;
DROP FUNCTION count_truncated_clients();
DROP FUNCTION count_moved_client();
DROP FUNCTION count_changed_clients();
ALTER TABLE customers DROP COLUMN client_count;
