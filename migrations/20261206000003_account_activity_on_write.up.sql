-- An account's month of activity was recorded by the agent reports for the activity they carry,
-- and by an engine step that passed over every account active in the last two months, every 15
-- minutes, for activity written any other way (seeds, imports, direct writes). After a bulk
-- write that pass inserted a million rows with three foreign-key checks each: 30 s of one tick on
-- the large dataset. Now every statement that inserts accounts, or moves an account's last
-- activity into another month, records that month itself, in its own transaction, and the step is
-- gone. Reports record the other months they report (an activity older than the account's last),
-- with ON CONFLICT DO NOTHING like the trigger.
CREATE FUNCTION record_account_activity_months() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO account_activity_months (reseller_id, customer_id, account_id, month)
        SELECT reseller_id, customer_id, id, date_trunc('month', last_activity_at AT TIME ZONE 'UTC')::date
        FROM new_accounts WHERE last_activity_at IS NOT NULL
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO account_activity_months (reseller_id, customer_id, account_id, month)
        SELECT n.reseller_id, n.customer_id, n.id, date_trunc('month', n.last_activity_at AT TIME ZONE 'UTC')::date
        FROM new_accounts n JOIN old_accounts o ON o.id = n.id
        WHERE n.last_activity_at IS NOT NULL
          AND date_trunc('month', n.last_activity_at AT TIME ZONE 'UTC')
              IS DISTINCT FROM date_trunc('month', o.last_activity_at AT TIME ZONE 'UTC')
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER record_activity_inserted AFTER INSERT ON accounts REFERENCING NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION record_account_activity_months();
CREATE TRIGGER record_activity_updated AFTER UPDATE ON accounts
    REFERENCING OLD TABLE AS old_accounts NEW TABLE AS new_accounts
    FOR EACH STATEMENT EXECUTE FUNCTION record_account_activity_months();

-- What the step would have recorded at its next run, for the activity written since its last.
INSERT INTO account_activity_months (reseller_id, customer_id, account_id, month)
SELECT a.reseller_id, a.customer_id, a.id, date_trunc('month', a.last_activity_at AT TIME ZONE 'UTC')::date
FROM accounts a
WHERE a.last_activity_at >= date_trunc('month', (now() AT TIME ZONE 'UTC') - interval '1 month')
  AND NOT EXISTS (SELECT FROM account_activity_months x
                  WHERE x.customer_id = a.customer_id
                    AND x.month = date_trunc('month', a.last_activity_at AT TIME ZONE 'UTC')::date
                    AND x.account_id = a.id)
ON CONFLICT DO NOTHING;
