DROP TABLE IF EXISTS engine_steps, email_outbox, audit_log, deleted_items, invoice_lines, invoices,
    invoice_configs, invoice_plans, alerts, mau_orders, mau_offers, mau_allowance_history, mau_monthly,
    usage_daily, contacts, locations, seat_limits, account_activity_months, accounts, restore_jobs,
    backup_jobs, connectors, client_schedules, clients, sessions, admin_customer_grants, users,
    customers, service_plans, resellers, server_settings CASCADE;
