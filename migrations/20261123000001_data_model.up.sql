-- The whole data model of DESIGN.md in one step, so that every later issue adds to a complete
-- schema instead of reshaping it. Tenant-owned tables carry reseller_id (and customer_id below
-- the customer level) and their indexes lead with it: pages filter by tenant first, and it is the
-- distribution column should the data ever move to Citus.
--
-- Instants are timestamptz; calendar days (expiry dates, effective dates, usage days) are date and
-- are read in UTC.

-- Server-wide settings: one row. Rules that are "configurable" in DESIGN.md read them here.
CREATE TABLE server_settings (
    id                         smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    grace_period_days          integer NOT NULL DEFAULT 14 CHECK (grace_period_days >= 0),
    deletion_retention_days    integer NOT NULL DEFAULT 30 CHECK (deletion_retention_days >= 0),
    expiring_soon_days         integer NOT NULL DEFAULT 30 CHECK (expiring_soon_days >= 0),
    stale_warning_hours        integer NOT NULL DEFAULT 26 CHECK (stale_warning_hours > 0),
    stale_critical_hours       integer NOT NULL DEFAULT 72 CHECK (stale_critical_hours > 0),
    -- NULL: no throttling at server level. Shape: see domain::throttling.
    bandwidth_throttling       jsonb,
    consolidated_report_global boolean NOT NULL DEFAULT false,
    email_sender               text NOT NULL DEFAULT 'portal@msp-portal.example',
    CHECK (stale_critical_hours >= stale_warning_hours)
);
INSERT INTO server_settings (id) VALUES (1);

CREATE TABLE resellers (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    -- The built-in reseller that catches agents without a valid customer.
    is_default            boolean NOT NULL DEFAULT false,
    max_customers         integer NOT NULL DEFAULT 100 CHECK (max_customers >= 0),
    max_accounts          integer NOT NULL DEFAULT 1000 CHECK (max_accounts >= 0),
    mau_allowance         integer NOT NULL DEFAULT 0 CHECK (mau_allowance >= 0),
    disk_space_bytes      bigint NOT NULL DEFAULT 0 CHECK (disk_space_bytes >= 0),
    mcal_pool             integer NOT NULL DEFAULT 0 CHECK (mcal_pool >= 0),
    bandwidth_throttling  jsonb,
    created_at            timestamptz NOT NULL,
    CONSTRAINT resellers_name_key UNIQUE (name)
);
CREATE UNIQUE INDEX resellers_one_default ON resellers (is_default) WHERE is_default;

-- Catalogue of service plans a customer can be on; evaluation plans are the POC ones.
CREATE TABLE service_plans (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           text NOT NULL,
    edition        text NOT NULL,
    is_evaluation  boolean NOT NULL DEFAULT false,
    monthly_credits numeric(14, 2) NOT NULL DEFAULT 0 CHECK (monthly_credits >= 0),
    CONSTRAINT service_plans_name_key UNIQUE (name)
);

CREATE TABLE customers (
    id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id                 bigint NOT NULL REFERENCES resellers (id),
    -- The built-in customer of the default reseller.
    is_default                  boolean NOT NULL DEFAULT false,
    name                        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    legal_name                  text NOT NULL DEFAULT '' CHECK (length(legal_name) <= 200),
    email                       text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    address                     text NOT NULL DEFAULT '' CHECK (length(address) <= 300),
    city                        text NOT NULL DEFAULT '' CHECK (length(city) <= 120),
    phone                       text NOT NULL DEFAULT '' CHECK (length(phone) <= 40),
    fax                         text NOT NULL DEFAULT '' CHECK (length(fax) <= 40),
    notes                       text NOT NULL DEFAULT '' CHECK (length(notes) <= 4000),
    -- sha256 of the pass key; the key itself is shown once and never stored.
    pass_key_hash               text NOT NULL,
    activated                   boolean NOT NULL DEFAULT true,
    lifecycle                   text NOT NULL DEFAULT 'active'
                                CHECK (lifecycle IN ('active', 'scheduled_for_deletion', 'deleted')),
    scheduled_for_deletion_at   timestamptz,
    delete_on                   date,
    deleted_at                  timestamptz,
    tenant_type                 text NOT NULL DEFAULT 'commercial'
                                CHECK (tenant_type IN ('commercial', 'evaluation')),
    trial_ends_on               date,
    service_plan_id             bigint REFERENCES service_plans (id),
    storage_region              text NOT NULL DEFAULT 'eu-west',
    service_expires_on          date,
    credit_quota                numeric(14, 2) CHECK (credit_quota >= 0),
    credit_quota_effective_on   date,
    pending_credit_quota        numeric(14, 2) CHECK (pending_credit_quota >= 0),
    pending_credit_quota_on     date,
    backup_location             text NOT NULL DEFAULT 'primary',
    space_quota_bytes           bigint CHECK (space_quota_bytes >= 0),
    used_space_bytes            bigint NOT NULL DEFAULT 0 CHECK (used_space_bytes >= 0),
    -- NULL: draw MCALs from the reseller's pool as needed.
    mcals_allotted              integer CHECK (mcals_allotted >= 0),
    max_clients                 integer CHECK (max_clients >= 0),
    auto_authorize              boolean NOT NULL DEFAULT true,
    email_reports               boolean NOT NULL DEFAULT false,
    backup_status_reports       boolean NOT NULL DEFAULT false,
    bandwidth_throttling        jsonb,
    consolidated_report_to      text NOT NULL DEFAULT '',
    consolidated_report_every   text CHECK (consolidated_report_every IN ('daily', 'weekly', 'monthly')),
    max_mau                     integer NOT NULL DEFAULT 1000000 CHECK (max_mau >= 0),
    replication_mode            text NOT NULL DEFAULT 'inherit' CHECK (replication_mode IN ('inherit', 'custom')),
    replication_target          text NOT NULL DEFAULT '',
    replication_schedule        text NOT NULL DEFAULT '',
    -- Set by the engine once a seat grace period has ended: new backups fail with this reason.
    backups_blocked_reason      text,
    created_at                  timestamptz NOT NULL,
    CHECK (tenant_type = 'commercial' OR trial_ends_on IS NOT NULL),
    CHECK (lifecycle <> 'scheduled_for_deletion' OR delete_on IS NOT NULL),
    CHECK ((pending_credit_quota IS NULL) = (pending_credit_quota_on IS NULL)),
    CHECK (replication_mode = 'inherit' OR replication_target <> '')
);
-- Agents register by customer name, so names are unique across the installation.
CREATE UNIQUE INDEX customers_name_key ON customers (lower(name));
CREATE UNIQUE INDEX customers_one_default ON customers (is_default) WHERE is_default;
CREATE INDEX customers_reseller_name ON customers (reseller_id, lower(name), id);
CREATE INDEX customers_reseller_expiry ON customers (reseller_id, service_expires_on)
    WHERE lifecycle = 'active' AND service_expires_on IS NOT NULL;
CREATE INDEX customers_reseller_trial ON customers (reseller_id, trial_ends_on)
    WHERE tenant_type = 'evaluation' AND lifecycle = 'active';
CREATE INDEX customers_reseller_deletion ON customers (reseller_id, delete_on)
    WHERE lifecycle = 'scheduled_for_deletion';

CREATE TABLE users (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username             text NOT NULL CHECK (length(username) BETWEEN 1 AND 254),
    display_name         text NOT NULL DEFAULT '',
    email                text NOT NULL DEFAULT '',
    -- argon2id PHC string.
    password_hash        text NOT NULL,
    role                 text NOT NULL
                         CHECK (role IN ('operator', 'reseller_owner', 'reseller_admin', 'customer')),
    reseller_id          bigint REFERENCES resellers (id),
    customer_id          bigint REFERENCES customers (id) ON DELETE CASCADE,
    read_only            boolean NOT NULL DEFAULT false,
    disabled_at          timestamptz,
    failed_logins        integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until         timestamptz,
    totp_secret          text,
    created_at           timestamptz NOT NULL,
    password_changed_at  timestamptz NOT NULL,
    CHECK (CASE role
             WHEN 'operator' THEN reseller_id IS NULL AND customer_id IS NULL
             WHEN 'customer' THEN reseller_id IS NOT NULL AND customer_id IS NOT NULL
             ELSE reseller_id IS NOT NULL AND customer_id IS NULL
           END)
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_reseller ON users (reseller_id, role) WHERE reseller_id IS NOT NULL;
CREATE UNIQUE INDEX users_one_portal_user ON users (customer_id) WHERE role = 'customer';

-- An admin restricted to chosen customers (no rows: all of the reseller's customers).
CREATE TABLE admin_customer_grants (
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, customer_id)
);

-- Server-side sessions: the cookie holds a random id, the table its sha256.
CREATE TABLE sessions (
    id_hash                     bytea PRIMARY KEY,
    user_id                     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token                  text NOT NULL,
    created_at                  timestamptz NOT NULL,
    last_seen_at                timestamptz NOT NULL,
    expires_at                  timestamptz NOT NULL,
    -- "Log in as": copied at the start so the session lookup needs no tenant data.
    impersonated_customer_id    bigint REFERENCES customers (id) ON DELETE SET NULL,
    impersonated_reseller_id    bigint REFERENCES resellers (id),
    impersonated_customer_name  text,
    impersonation_reason        text,
    impersonation_started_at    timestamptz,
    impersonation_expires_at    timestamptz,
    CHECK ((impersonated_customer_id IS NULL) = (impersonation_started_at IS NULL))
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE clients (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id           bigint NOT NULL REFERENCES resellers (id),
    customer_id           bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    -- The id the agent uses; unique within its customer.
    client_key            text NOT NULL CHECK (length(btrim(client_key)) BETWEEN 1 AND 120),
    hostname              text NOT NULL DEFAULT '',
    os                    text NOT NULL DEFAULT '',
    status                text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'online', 'offline', 'disabled')),
    health                text NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'warning', 'critical')),
    health_reason         text NOT NULL DEFAULT '',
    health_since          timestamptz,
    last_seen_at          timestamptz,
    last_success_at       timestamptz,
    used_space_bytes      bigint NOT NULL DEFAULT 0 CHECK (used_space_bytes >= 0),
    space_limit_bytes     bigint CHECK (space_limit_bytes >= 0),
    bandwidth_throttling  jsonb,
    -- sha256 of the agent's bearer token.
    token_hash            text,
    created_by            text NOT NULL CHECK (created_by IN ('admin', 'auto_authorization', 'customer')),
    created_at            timestamptz NOT NULL,
    CONSTRAINT clients_customer_key_key UNIQUE (customer_id, client_key)
);
CREATE INDEX clients_reseller_customer ON clients (reseller_id, customer_id);
CREATE UNIQUE INDEX clients_token ON clients (token_hash) WHERE token_hash IS NOT NULL;

-- Backup schedules as reported by a client's agent.
CREATE TABLE client_schedules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    client_id    bigint NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    name         text NOT NULL,
    schedule     text NOT NULL,
    reported_at  timestamptz NOT NULL,
    CONSTRAINT client_schedules_name_key UNIQUE (client_id, name)
);
CREATE INDEX client_schedules_customer ON client_schedules (reseller_id, customer_id);

-- A protected data source ("backup set").
CREATE TABLE connectors (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id           bigint NOT NULL REFERENCES resellers (id),
    customer_id           bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name                  text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    kind                  text NOT NULL CHECK (kind IN ('microsoft_365', 'google_workspace', 'salesforce',
                                                        'file_server', 'virtual_machine', 'endpoint')),
    health                text NOT NULL DEFAULT 'healthy' CHECK (health IN ('healthy', 'warning', 'critical')),
    health_reason         text NOT NULL DEFAULT '',
    health_since          timestamptz NOT NULL,
    last_success_at       timestamptz,
    last_restore_at       timestamptz,
    last_restore_status   text CHECK (last_restore_status IN ('succeeded', 'warning', 'failed')),
    created_at            timestamptz NOT NULL,
    CONSTRAINT connectors_name_key UNIQUE (customer_id, name)
);
CREATE INDEX connectors_reseller_customer ON connectors (reseller_id, customer_id);
CREATE INDEX connectors_reseller_critical ON connectors (reseller_id, health_since)
    WHERE health = 'critical';

CREATE TABLE backup_jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id   bigint NOT NULL REFERENCES resellers (id),
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    connector_id  bigint REFERENCES connectors (id) ON DELETE CASCADE,
    client_id     bigint REFERENCES clients (id) ON DELETE CASCADE,
    -- Generated by the agent so that a retried report is stored once.
    external_id   text NOT NULL,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'warning', 'failed', 'refused')),
    bytes         bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    error         text NOT NULL DEFAULT '',
    CHECK (connector_id IS NOT NULL OR client_id IS NOT NULL),
    CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT backup_jobs_external_key UNIQUE (customer_id, external_id)
);
CREATE INDEX backup_jobs_customer_started ON backup_jobs (customer_id, started_at);
CREATE INDEX backup_jobs_running ON backup_jobs (customer_id) WHERE status = 'running';

CREATE TABLE restore_jobs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id   bigint NOT NULL REFERENCES resellers (id),
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    connector_id  bigint REFERENCES connectors (id) ON DELETE CASCADE,
    client_id     bigint REFERENCES clients (id) ON DELETE CASCADE,
    external_id   text NOT NULL,
    started_at    timestamptz NOT NULL,
    ended_at      timestamptz,
    status        text NOT NULL CHECK (status IN ('running', 'succeeded', 'warning', 'failed')),
    bytes         bigint NOT NULL DEFAULT 0 CHECK (bytes >= 0),
    CHECK (connector_id IS NOT NULL OR client_id IS NOT NULL),
    CHECK (ended_at IS NULL OR ended_at >= started_at),
    CONSTRAINT restore_jobs_external_key UNIQUE (customer_id, external_id)
);
CREATE INDEX restore_jobs_customer_started ON restore_jobs (customer_id, started_at);

-- An end-user account protected under a customer: one seat of its seat property.
CREATE TABLE accounts (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id       bigint NOT NULL REFERENCES resellers (id),
    customer_id       bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    external_id       text NOT NULL,
    display_name      text NOT NULL DEFAULT '',
    seat_property     text NOT NULL CHECK (seat_property IN ('m365_user', 'google_user', 'salesforce_user', 'endpoint')),
    last_activity_at  timestamptz,
    created_at        timestamptz NOT NULL,
    CONSTRAINT accounts_external_key UNIQUE (customer_id, seat_property, external_id)
);
CREATE INDEX accounts_reseller_customer ON accounts (reseller_id, customer_id);

-- One row per account and calendar month in which it was active: MAU counts these.
CREATE TABLE account_activity_months (
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    PRIMARY KEY (customer_id, month, account_id)
);
CREATE INDEX account_activity_months_reseller ON account_activity_months (reseller_id, month);

CREATE TABLE seat_limits (
    reseller_id              bigint NOT NULL REFERENCES resellers (id),
    customer_id              bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    seat_property            text NOT NULL CHECK (seat_property IN ('m365_user', 'google_user', 'salesforce_user', 'endpoint')),
    seat_limit               integer NOT NULL CHECK (seat_limit >= 0),
    -- Seats in use, kept by the engine and the agent API (a roll-up of accounts).
    seats_used               integer NOT NULL DEFAULT 0 CHECK (seats_used >= 0),
    pending_limit            integer CHECK (pending_limit >= 0),
    pending_effective_on     date,
    over_limit_since         timestamptz,
    grace_ends_at            timestamptz,
    PRIMARY KEY (customer_id, seat_property),
    CHECK ((pending_limit IS NULL) = (pending_effective_on IS NULL)),
    CHECK ((over_limit_since IS NULL) = (grace_ends_at IS NULL))
);
CREATE INDEX seat_limits_reseller_over ON seat_limits (reseller_id, grace_ends_at)
    WHERE over_limit_since IS NOT NULL;

CREATE TABLE locations (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    address      text NOT NULL DEFAULT '',
    CONSTRAINT locations_name_key UNIQUE (customer_id, name)
);
CREATE INDEX locations_reseller_customer ON locations (reseller_id, customer_id);

CREATE TABLE contacts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    email        text NOT NULL DEFAULT '' CHECK (length(email) <= 254),
    phone        text NOT NULL DEFAULT '' CHECK (length(phone) <= 40)
);
CREATE INDEX contacts_reseller_customer ON contacts (reseller_id, customer_id);

CREATE TABLE usage_daily (
    reseller_id       bigint NOT NULL REFERENCES resellers (id),
    customer_id       bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    day               date NOT NULL,
    credits_consumed  numeric(14, 2) NOT NULL DEFAULT 0 CHECK (credits_consumed >= 0),
    storage_bytes     bigint NOT NULL DEFAULT 0 CHECK (storage_bytes >= 0),
    -- Seats in use that day per property, for the trend forecast: {"m365_user": 42, ...}.
    seats             jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (customer_id, day)
);
CREATE INDEX usage_daily_reseller_day ON usage_daily (reseller_id, day);

CREATE TABLE mau_monthly (
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    mau          integer NOT NULL CHECK (mau >= 0),
    PRIMARY KEY (customer_id, month)
);
CREATE INDEX mau_monthly_reseller_month ON mau_monthly (reseller_id, month);

-- The reseller's MAU allowance as it stood in each month.
CREATE TABLE mau_allowance_history (
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    allowance    integer NOT NULL CHECK (allowance >= 0),
    PRIMARY KEY (reseller_id, month)
);

CREATE TABLE mau_offers (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    mau_delta   integer NOT NULL CHECK (mau_delta > 0),
    term        text NOT NULL CHECK (term IN ('monthly', 'annual')),
    price_minor bigint NOT NULL CHECK (price_minor >= 0),
    currency    text NOT NULL DEFAULT 'EUR',
    CONSTRAINT mau_offers_name_key UNIQUE (name)
);

CREATE TABLE mau_orders (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    offer_id     bigint NOT NULL REFERENCES mau_offers (id),
    mau_delta    integer NOT NULL CHECK (mau_delta > 0),
    term         text NOT NULL CHECK (term IN ('monthly', 'annual')),
    starts_on    date NOT NULL,
    ends_on      date,
    ordered_by   bigint REFERENCES users (id) ON DELETE SET NULL,
    ordered_at   timestamptz NOT NULL
);
CREATE INDEX mau_orders_reseller ON mau_orders (reseller_id, ordered_at);

CREATE TABLE alerts (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id      bigint NOT NULL REFERENCES resellers (id),
    customer_id      bigint REFERENCES customers (id) ON DELETE CASCADE,
    severity         text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    kind             text NOT NULL,
    -- What the alert is about, so the engine raises one per subject and state, not one per tick.
    subject          text NOT NULL DEFAULT '',
    message          text NOT NULL,
    raised_at        timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    resolved_at      timestamptz
);
CREATE INDEX alerts_reseller_raised ON alerts (reseller_id, raised_at DESC);
CREATE INDEX alerts_customer_raised ON alerts (customer_id, raised_at DESC);
CREATE UNIQUE INDEX alerts_one_open ON alerts (reseller_id, kind, subject) WHERE resolved_at IS NULL;

CREATE TABLE invoice_plans (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id          bigint NOT NULL REFERENCES resellers (id),
    name                 text NOT NULL,
    currency             text NOT NULL DEFAULT 'EUR' CHECK (currency ~ '^[A-Z]{3}$'),
    per_gb_minor         bigint NOT NULL DEFAULT 0 CHECK (per_gb_minor >= 0),
    per_client_minor     bigint NOT NULL DEFAULT 0 CHECK (per_client_minor >= 0),
    per_seat_minor       bigint NOT NULL DEFAULT 0 CHECK (per_seat_minor >= 0),
    flat_fee_minor       bigint NOT NULL DEFAULT 0 CHECK (flat_fee_minor >= 0),
    CONSTRAINT invoice_plans_name_key UNIQUE (reseller_id, name)
);

CREATE TABLE invoice_configs (
    customer_id   bigint PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    reseller_id   bigint NOT NULL REFERENCES resellers (id),
    enabled       boolean NOT NULL DEFAULT false,
    plan_id       bigint REFERENCES invoice_plans (id),
    updated_at    timestamptz NOT NULL,
    CHECK (NOT enabled OR plan_id IS NOT NULL)
);
CREATE INDEX invoice_configs_reseller ON invoice_configs (reseller_id);

CREATE TABLE invoices (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id   bigint NOT NULL REFERENCES resellers (id),
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    month         date NOT NULL CHECK (extract(day FROM month) = 1),
    currency      text NOT NULL,
    total_minor   bigint NOT NULL CHECK (total_minor >= 0),
    created_at    timestamptz NOT NULL,
    CONSTRAINT invoices_month_key UNIQUE (customer_id, month)
);
CREATE INDEX invoices_reseller_month ON invoices (reseller_id, month);

CREATE TABLE invoice_lines (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    invoice_id    bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    reseller_id   bigint NOT NULL REFERENCES resellers (id),
    description   text NOT NULL,
    quantity      numeric(18, 4) NOT NULL CHECK (quantity >= 0),
    unit_minor    bigint NOT NULL CHECK (unit_minor >= 0),
    amount_minor  bigint NOT NULL CHECK (amount_minor >= 0)
);
CREATE INDEX invoice_lines_invoice ON invoice_lines (invoice_id);

-- Deleted clients, backups and customers, for the deleted-items report. Names are copied because
-- the rows they describe are gone.
CREATE TABLE deleted_items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id      bigint NOT NULL REFERENCES resellers (id),
    customer_id      bigint REFERENCES customers (id) ON DELETE SET NULL,
    customer_name    text NOT NULL,
    item_kind        text NOT NULL CHECK (item_kind IN ('client', 'backup', 'customer')),
    item_name        text NOT NULL,
    size_bytes       bigint NOT NULL DEFAULT 0 CHECK (size_bytes >= 0),
    deleted_by_kind  text NOT NULL CHECK (deleted_by_kind IN ('admin', 'customer', 'engine', 'agent')),
    deleted_by_name  text NOT NULL,
    deleted_at       timestamptz NOT NULL
);
CREATE INDEX deleted_items_reseller ON deleted_items (reseller_id, deleted_at DESC);
CREATE INDEX deleted_items_customer ON deleted_items (customer_id, deleted_at DESC);

CREATE TABLE audit_log (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                 timestamptz NOT NULL,
    actor_user_id      bigint REFERENCES users (id) ON DELETE SET NULL,
    actor_name         text NOT NULL,
    -- Set when an admin acted while logged in as a customer.
    impersonator_name  text,
    reseller_id        bigint REFERENCES resellers (id),
    customer_id        bigint REFERENCES customers (id) ON DELETE SET NULL,
    action             text NOT NULL,
    object_kind        text NOT NULL,
    object_id          text NOT NULL DEFAULT '',
    -- {"field": {"before": ..., "after": ...}}
    changes            jsonb NOT NULL DEFAULT '{}',
    reason             text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_reseller_at ON audit_log (reseller_id, at DESC);
CREATE INDEX audit_log_customer_at ON audit_log (customer_id, at DESC);
CREATE INDEX audit_log_at ON audit_log (at DESC);

-- Emails are written in the transaction of the change that causes them and sent by the engine.
CREATE TABLE email_outbox (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reseller_id      bigint REFERENCES resellers (id),
    customer_id      bigint REFERENCES customers (id) ON DELETE SET NULL,
    kind             text NOT NULL,
    to_addresses     text NOT NULL,
    subject          text NOT NULL,
    body_text        text NOT NULL,
    body_html        text NOT NULL,
    -- The Message-ID header: the same on every attempt, so a duplicate is detectable.
    message_id       text NOT NULL,
    created_at       timestamptz NOT NULL,
    attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_attempt_at  timestamptz,
    next_attempt_at  timestamptz NOT NULL,
    sent_at          timestamptz,
    last_error       text NOT NULL DEFAULT '',
    CONSTRAINT email_outbox_message_id_key UNIQUE (message_id)
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX email_outbox_reseller ON email_outbox (reseller_id, created_at DESC);

-- What the engine did and when: the pages' "as of" and /healthz's last successful tick.
CREATE TABLE engine_steps (
    step             text PRIMARY KEY,
    last_started_at  timestamptz,
    last_success_at  timestamptz,
    last_duration_ms integer,
    last_changed     integer,
    last_error       text NOT NULL DEFAULT ''
);
