DROP TRIGGER IF EXISTS count_moved ON accounts;
DROP TRIGGER IF EXISTS count_deleted ON accounts;
DROP TRIGGER IF EXISTS count_inserted ON accounts;
DROP FUNCTION IF EXISTS count_accounts();
DROP FUNCTION IF EXISTS add_reseller_accounts(bigint[], bigint[]);
ALTER TABLE reseller_counts DROP COLUMN IF EXISTS accounts;
CREATE TABLE IF NOT EXISTS reseller_figures (
    reseller_id  bigint PRIMARY KEY REFERENCES resellers (id) ON DELETE CASCADE,
    accounts     bigint NOT NULL CHECK (accounts >= 0),
    computed_at  timestamptz NOT NULL
);
ALTER TABLE reseller_figures ENABLE ROW LEVEL SECURITY;
ALTER TABLE reseller_figures FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON reseller_figures USING (app_may_see(reseller_id, NULL) OR app_scope() = 'operator');
