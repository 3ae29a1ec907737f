-- Email delivery, report schedules, set-password links and invoice plan history (issue 9).

-- Where a message stands. 'sending' is committed before the SMTP conversation starts, so a crash
-- between sending and marking leaves the row 'sending'; the next mailer run turns it 'in_doubt'
-- and never sends it again on its own (the same Message-ID would let a receiver spot a duplicate,
-- but not every receiver looks).
ALTER TABLE email_outbox
    ADD COLUMN state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'in_doubt'));
UPDATE email_outbox SET state = 'sent' WHERE sent_at IS NOT NULL;
CREATE INDEX email_outbox_queued ON email_outbox (next_attempt_at, id) WHERE state = 'queued';
CREATE INDEX email_outbox_state ON email_outbox (state, created_at DESC) WHERE state <> 'sent';
-- The operator's page counts what was sent in the last day.
CREATE INDEX email_outbox_sent ON email_outbox (sent_at) WHERE state = 'sent';

-- How far each scheduled report of a customer has been written: the next one covers what comes
-- after `covered_until`. Writing the email and moving the mark happen in one transaction, so a
-- report is written once per period however often the engine ticks.
CREATE TABLE email_report_marks (
    customer_id    bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    reseller_id    bigint NOT NULL REFERENCES resellers (id),
    kind           text NOT NULL CHECK (kind IN ('events', 'backup_status', 'consolidated')),
    covered_until  timestamptz NOT NULL,
    PRIMARY KEY (customer_id, kind)
);
ALTER TABLE email_report_marks ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_report_marks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON email_report_marks USING (app_may_see(reseller_id, customer_id));

-- A link that lets a customer's portal user choose a password; the URL holds the token, the table
-- only its sha256. Used once, valid for a limited time.
CREATE TABLE password_tokens (
    token_hash   text PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reseller_id  bigint NOT NULL REFERENCES resellers (id),
    customer_id  bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX password_tokens_user ON password_tokens (user_id);
ALTER TABLE password_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE password_tokens FORCE ROW LEVEL SECURITY;
-- Staff create them within their tenant; the anonymous set-password page reads them in the
-- 'auth' scope, like sessions.
CREATE POLICY tenant ON password_tokens USING (app_scope() = 'auth' OR app_may_see(reseller_id, customer_id));

-- Which plan billed a customer from which day: every change of the invoice configuration adds a
-- row (plan_id NULL: invoicing off), so a month with a change is billed day by day on each plan.
CREATE TABLE invoice_plan_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id   bigint NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    reseller_id   bigint NOT NULL REFERENCES resellers (id),
    plan_id       bigint REFERENCES invoice_plans (id),
    effective_at  timestamptz NOT NULL
);
CREATE INDEX invoice_plan_changes_customer ON invoice_plan_changes (customer_id, effective_at);
ALTER TABLE invoice_plan_changes ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_plan_changes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON invoice_plan_changes USING (app_may_see(reseller_id, customer_id));
-- Configurations saved before this table existed bill from when they were saved.
INSERT INTO invoice_plan_changes (customer_id, reseller_id, plan_id, effective_at)
SELECT customer_id, reseller_id, CASE WHEN enabled THEN plan_id END, updated_at FROM invoice_configs;

-- The operator's invoice report lists a month across all resellers.
CREATE INDEX invoices_month ON invoices (month);
