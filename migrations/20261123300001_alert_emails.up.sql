-- An alert about a customer that has email reports on writes its email into the outbox in the
-- same transaction that raises it, whoever raises it (the engine, the API, a page): an alert can
-- never be committed without its email, nor an email without its alert. The engine's mailer sends
-- the outbox.
CREATE FUNCTION alerts_write_email() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO email_outbox (reseller_id, customer_id, kind, to_addresses, subject, body_text, body_html,
                              message_id, created_at, next_attempt_at)
    SELECT c.reseller_id, c.id, 'alert', c.email,
           '[' || initcap(NEW.severity) || '] ' || left(NEW.message, 150),
           NEW.message || E'\n\nRaised ' || to_char(NEW.raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC.',
           '<p>' || replace(replace(replace(replace(NEW.message, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')
               || '</p><p>Raised ' || to_char(NEW.raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC.</p>',
           '<alert-' || NEW.id || '@msp-portal>', NEW.raised_at, NEW.raised_at
    FROM customers c
    WHERE c.id = NEW.customer_id AND c.email_reports AND c.email <> '';
    RETURN NEW;
END
$$;

CREATE TRIGGER alerts_write_email AFTER INSERT ON alerts
    FOR EACH ROW WHEN (NEW.customer_id IS NOT NULL) EXECUTE FUNCTION alerts_write_email();
