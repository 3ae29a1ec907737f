DROP FUNCTION IF EXISTS move_clients_to_default_customer(bigint);
DROP FUNCTION IF EXISTS default_customer_key_clash(bigint);
DROP FUNCTION IF EXISTS customer_name_taken(text);
