-- The stale-source step looks only at healthy sources whose last success is old enough, and at the
-- few sources it marked itself: both are index ranges instead of scans of every connector and client.
CREATE INDEX connectors_healthy_last_success ON connectors ((coalesce(last_success_at, created_at))) WHERE health = 'healthy';
CREATE INDEX clients_healthy_last_success ON clients ((coalesce(last_success_at, created_at))) WHERE health = 'healthy';
CREATE INDEX connectors_unhealthy ON connectors (id) WHERE health <> 'healthy';
CREATE INDEX clients_unhealthy ON clients (id) WHERE health <> 'healthy';
