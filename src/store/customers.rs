//! Customers of a reseller: the list with its client and space figures, and the changes made
//! from the customer pages (toggles, add/delete client, scheduling a deletion, settings).

use chrono::{DateTime, NaiveDate, Utc};

use super::{Tx, like_pattern};

/// A reseller in the tree on the left of the customer list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerNode {
    pub id: i64,
    pub name: String,
    pub customers: i64,
}

/// Resellers the scope sees, with how many customers each has (one query; the counts from the
/// trigger-kept `reseller_counts`, except for an admin limited to chosen customers, who counts its own).
pub async fn reseller_tree(tx: &mut Tx) -> Result<Vec<ResellerNode>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    let sql = format!(
        "SELECT r.id, r.name, \
                coalesce(CASE WHEN NOT $2::boolean THEN \
                           (SELECT n.customers + n.default_customers FROM reseller_counts n WHERE n.reseller_id = r.id) END, \
                         (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted')) AS customers \
         FROM resellers r \
         WHERE {of_reseller} \
         ORDER BY r.is_default, lower(r.name), r.id",
        of_reseller = super::by_reseller(reseller, "r.id"),
    );
    sqlx::query_as::<_, ResellerNode>(&sql)
        .bind(reseller)
        .bind(tx.access().customers.is_some())
        .fetch_all(&mut **tx)
        .await
}

/// What the list shows of a customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub id: i64,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub name: String,
    pub is_default: bool,
    pub mcals_allotted: Option<i32>,
    pub clients: i64,
    pub space_quota_bytes: Option<i64>,
    pub used_space_bytes: i64,
    pub status: String,
    pub activated: bool,
    pub auto_authorize: bool,
    /// The engine's SLA score (None until it has run).
    pub sla_score: Option<i16>,
    /// The sort key of this row as text, for the next page's cursor.
    pub sort_key: String,
}

/// A sortable column: the SQL expression (from this fixed list only) and whether it is numeric.
/// Each is indexed per reseller as written here (migrations 20261207000005 and 20261207000006),
/// so a page comes off the index from its keyset cursor on. Row-level security lets no coalesce()
/// into an index condition (PostgreSQL counts it as possibly leaky), hence the CASEs.
pub fn sort_expression(key: &str) -> (&'static str, bool) {
    match key {
        "mcals" => (
            "CASE WHEN c.mcals_allotted IS NULL THEN -1 ELSE c.mcals_allotted::bigint END",
            true,
        ),
        "clients" => ("c.client_count", true),
        "quota" => (
            "CASE WHEN c.space_quota_bytes IS NULL THEN -1 ELSE c.space_quota_bytes END",
            true,
        ),
        "used" => ("c.used_space_bytes", true),
        "status" => (STATUS_SQL, false),
        // Customers without a score yet (the engine has not run) come last when sorting riskiest first.
        "score" => (
            "CASE WHEN c.sla_score IS NULL THEN 101 ELSE c.sla_score::bigint END",
            true,
        ),
        // The stored lower(name): see migration 20261201800003.
        _ => ("c.sort_name", false),
    }
}

/// active / deactivated / scheduled_for_deletion / evaluation, the first that applies. Indexed as
/// written, for the list sorted by status (migration 20261207000005).
const STATUS_SQL: &str = "CASE WHEN c.lifecycle = 'scheduled_for_deletion' THEN 'scheduled_for_deletion' \
    WHEN NOT c.activated THEN 'deactivated' WHEN c.tenant_type = 'evaluation' THEN 'evaluation' ELSE 'active' END";

#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Operator only: one reseller. Reseller scopes always see their own.
    pub reseller_id: Option<i64>,
    pub search: String,
    pub sort_key: &'static str,
    pub descending: bool,
    /// Keyset position: (sort key as text, id) of the last row already shown.
    pub after: Option<(String, i64)>,
    /// `None`: every row (CSV export).
    pub limit: Option<i64>,
}

/// One page of customers (or all of them), client counts and space figures in the same query:
/// the page's rows come off the sort column's index from the keyset cursor on, and the client
/// count is the one the triggers on clients keep (migration 20261207000006). Before, each page
/// counted its customers' clients, and sorting by the count counted every client of the reseller.
pub async fn list(tx: &mut Tx, filter: &ListFilter) -> Result<Vec<CustomerRow>, sqlx::Error> {
    let reseller = tx.scope().reseller_id().or(filter.reseller_id);
    let (expression, numeric) = sort_expression(filter.sort_key);
    let cast = if numeric { "bigint" } else { "text" };
    let (compare, order) = if filter.descending { ("<", "DESC") } else { (">", "ASC") };
    // One SQL text per combination of filters in use, each with a cached plan (see store::filter).
    let c_reseller = super::by_reseller(reseller, "c.reseller_id");
    let searched = super::filter(
        !filter.search.trim().is_empty(),
        "c.name ILIKE $3",
        "nullif($2::text, '')",
    );
    let granted = super::filter(tx.access().customers.is_some(), "c.id = ANY ($7)", "$7::bigint[]");
    let after = super::filter(
        filter.after.is_some(),
        &format!("({expression}, c.id) {compare} ($4::{cast}, $5)"),
        "$4::text",
    );
    let sql = format!(
        "SELECT c.id, c.reseller_id, r.name AS reseller_name, c.name, c.is_default, c.mcals_allotted, \
                c.client_count AS clients, c.space_quota_bytes, c.used_space_bytes, {STATUS_SQL} AS status, \
                c.activated, c.auto_authorize, c.sla_score, ({expression})::text AS sort_key \
         FROM customers c \
         JOIN resellers r ON r.id = c.reseller_id \
         WHERE {c_reseller} AND c.lifecycle <> 'deleted' AND {searched} AND {granted} AND {after} \
         ORDER BY {expression} {order}, c.id {order} \
         LIMIT $6"
    );
    sqlx::query_as::<_, CustomerRow>(&sql)
        .bind(reseller)
        .bind(filter.search.trim())
        .bind(like_pattern(filter.search.trim()))
        .bind(filter.after.as_ref().map(|(key, _)| key.as_str()))
        .bind(filter.after.as_ref().map(|(_, id)| *id).unwrap_or(0))
        .bind(filter.limit)
        .bind(tx.access().customers.clone())
        .fetch_all(&mut **tx)
        .await
}

/// One customer as the pages and their rules need it. Another tenant's id is not found.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Customer {
    pub id: i64,
    pub reseller_id: i64,
    pub reseller_name: String,
    pub is_default: bool,
    pub name: String,
    pub legal_name: String,
    pub email: String,
    pub address: String,
    pub city: String,
    pub phone: String,
    pub fax: String,
    pub notes: String,
    pub activated: bool,
    pub lifecycle: String,
    pub delete_on: Option<NaiveDate>,
    pub tenant_type: String,
    pub trial_ends_on: Option<NaiveDate>,
    pub service_plan_id: Option<i64>,
    pub storage_region: String,
    pub service_expires_on: Option<NaiveDate>,
    pub credit_quota: Option<String>,
    pub credit_quota_effective_on: Option<NaiveDate>,
    pub pending_credit_quota: Option<String>,
    pub pending_credit_quota_on: Option<NaiveDate>,
    pub backup_location: String,
    pub space_quota_bytes: Option<i64>,
    pub used_space_bytes: i64,
    pub mcals_allotted: Option<i32>,
    pub max_clients: Option<i32>,
    pub auto_authorize: bool,
    pub email_reports: bool,
    pub backup_status_reports: bool,
    pub bandwidth_throttling: Option<serde_json::Value>,
    pub consolidated_report_to: String,
    pub consolidated_report_every: Option<String>,
    pub max_mau: i32,
    pub replication_mode: String,
    pub replication_target: String,
    pub replication_schedule: String,
    pub clients: i64,
    /// What the customer's clients have as space limits between them.
    pub allotted_to_clients: i64,
}

pub async fn get(tx: &mut Tx, id: i64) -> Result<Customer, sqlx::Error> {
    tx.check_customer(id)?;
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, Customer>(
        "SELECT c.id, c.reseller_id, r.name AS reseller_name, c.is_default, c.name, c.legal_name, c.email, \
                c.address, c.city, c.phone, c.fax, c.notes, c.activated, c.lifecycle, c.delete_on, c.tenant_type, \
                c.trial_ends_on, c.service_plan_id, c.storage_region, c.service_expires_on, \
                c.credit_quota::text AS credit_quota, c.credit_quota_effective_on, \
                c.pending_credit_quota::text AS pending_credit_quota, c.pending_credit_quota_on, \
                c.backup_location, c.space_quota_bytes, c.used_space_bytes, c.mcals_allotted, c.max_clients, \
                c.auto_authorize, c.email_reports, c.backup_status_reports, c.bandwidth_throttling, \
                c.consolidated_report_to, c.consolidated_report_every, c.max_mau, c.replication_mode, \
                c.replication_target, c.replication_schedule, \
                c.client_count AS clients, \
                (SELECT coalesce(sum(k.space_limit_bytes), 0)::bigint FROM clients k WHERE k.customer_id = c.id) \
                    AS allotted_to_clients \
         FROM customers c JOIN resellers r ON r.id = c.reseller_id \
         WHERE c.id = $1 AND ($2::bigint IS NULL OR c.reseller_id = $2) AND c.lifecycle <> 'deleted'",
    )
    .bind(id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

/// Locks the customer's row for the rest of the transaction (concurrent toggles, client adds).
pub async fn lock(tx: &mut Tx, id: i64) -> Result<(), sqlx::Error> {
    tx.check_customer(id)?;
    let reseller = tx.scope().reseller_id();
    sqlx::query("SELECT id FROM customers WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) FOR UPDATE")
        .bind(id)
        .bind(reseller)
        .fetch_one(&mut **tx)
        .await?;
    Ok(())
}

/// Flips auto-authorization; returns the new value.
pub async fn toggle_auto_authorize(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_scalar(
        "UPDATE customers SET auto_authorize = NOT auto_authorize \
         WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) AND lifecycle <> 'deleted' RETURNING auto_authorize",
    )
    .bind(id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

/// Flips the activated flag; returns the new value.
pub async fn toggle_activated(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_scalar(
        "UPDATE customers SET activated = NOT activated \
         WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) AND lifecycle <> 'deleted' RETURNING activated",
    )
    .bind(id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

/// Whether one of the customer's backups is running now.
pub async fn has_running_backup(tx: &mut Tx, id: i64) -> Result<bool, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM backup_jobs WHERE customer_id = $1 AND ($2::bigint IS NULL OR reseller_id = $2) \
                        AND status = 'running')",
    )
    .bind(id)
    .bind(reseller)
    .fetch_one(&mut **tx)
    .await
}

pub async fn deletion_retention_days(tx: &mut Tx) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar("SELECT deletion_retention_days FROM server_settings WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
}

/// Marks the customer scheduled for deletion and records it in the deleted-items report.
pub async fn schedule_deletion(
    tx: &mut Tx,
    customer: &Customer,
    delete_on: NaiveDate,
    deleted_by: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE customers SET lifecycle = 'scheduled_for_deletion', scheduled_for_deletion_at = $2, delete_on = $3 \
         WHERE id = $1 AND reseller_id = $4",
    )
    .bind(customer.id)
    .bind(now)
    .bind(delete_on)
    .bind(customer.reseller_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO deleted_items (reseller_id, customer_id, customer_name, item_kind, item_name, size_bytes, \
                                    deleted_by_kind, deleted_by_name, deleted_at) \
         VALUES ($1, $2, $3, 'customer', $3, $4, 'admin', $5, $6)",
    )
    .bind(customer.reseller_id)
    .bind(customer.id)
    .bind(&customer.name)
    .bind(customer.used_space_bytes)
    .bind(deleted_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A client key of `from` that the default customer already uses, if any: moving would collide.
/// The database function checks that `from` is within the caller's scope.
pub async fn client_key_clash_with_default(tx: &mut Tx, from: i64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT default_customer_key_clash($1)")
        .bind(from)
        .fetch_one(&mut **tx)
        .await
}

/// Moves every client of `from` (with its schedules) to the default customer; returns how many.
/// The default customer belongs to another reseller, so this is a database function that first
/// checks that `from` is within the caller's scope.
pub async fn move_clients_to_default(tx: &mut Tx, from: i64) -> Result<u64, sqlx::Error> {
    let moved: i64 = sqlx::query_scalar("SELECT move_clients_to_default_customer($1)")
        .bind(from)
        .fetch_one(&mut **tx)
        .await?;
    Ok(u64::try_from(moved).unwrap_or(0))
}

/// What the customer form sets, checked and typed. `None` in an optional field means "no limit"
/// (quota, max clients), "draw from the pool" (MCALs) or "inherit" (throttling).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CustomerSettings {
    pub legal_name: String,
    pub email: String,
    pub address: String,
    pub city: String,
    pub phone: String,
    pub fax: String,
    pub notes: String,
    pub backup_location: String,
    pub space_quota_bytes: Option<i64>,
    pub auto_authorize: bool,
    pub email_reports: bool,
    pub backup_status_reports: bool,
    pub mcals_allotted: Option<i32>,
    pub activated: bool,
    pub max_clients: Option<i32>,
    pub bandwidth_throttling: Option<serde_json::Value>,
    pub consolidated_report_to: String,
    pub consolidated_report_every: Option<String>,
    pub max_mau: i32,
    pub service_plan_id: Option<i64>,
    pub storage_region: String,
    pub tenant_type: String,
    pub trial_ends_on: Option<NaiveDate>,
    pub service_expires_on: Option<NaiveDate>,
}

impl CustomerSettings {
    pub fn of(customer: &Customer) -> CustomerSettings {
        CustomerSettings {
            legal_name: customer.legal_name.clone(),
            email: customer.email.clone(),
            address: customer.address.clone(),
            city: customer.city.clone(),
            phone: customer.phone.clone(),
            fax: customer.fax.clone(),
            notes: customer.notes.clone(),
            backup_location: customer.backup_location.clone(),
            space_quota_bytes: customer.space_quota_bytes,
            auto_authorize: customer.auto_authorize,
            email_reports: customer.email_reports,
            backup_status_reports: customer.backup_status_reports,
            mcals_allotted: customer.mcals_allotted,
            activated: customer.activated,
            max_clients: customer.max_clients,
            bandwidth_throttling: customer.bandwidth_throttling.clone(),
            consolidated_report_to: customer.consolidated_report_to.clone(),
            consolidated_report_every: customer.consolidated_report_every.clone(),
            max_mau: customer.max_mau,
            service_plan_id: customer.service_plan_id,
            storage_region: customer.storage_region.clone(),
            tenant_type: customer.tenant_type.clone(),
            trial_ends_on: customer.trial_ends_on,
            service_expires_on: customer.service_expires_on,
        }
    }
}

/// A credit quota change: applied now, or kept pending until its effective day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreditQuotaChange {
    Unchanged,
    Clear,
    Now { quota: String, on: NaiveDate },
    Pending { quota: String, on: NaiveDate },
}

/// Whether `name` is taken by any customer of the installation (names are global: agents
/// register by name, so another reseller's customer counts too). Only a yes/no crosses tenants;
/// the unique index `customers_name_key` remains the real guard.
pub async fn name_taken(tx: &mut Tx, name: &str) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT customer_name_taken($1)")
        .bind(name)
        .fetch_one(&mut **tx)
        .await
}

const SETTINGS_COLUMNS: &str = "legal_name, email, address, city, phone, fax, notes, backup_location, space_quota_bytes, \
    auto_authorize, email_reports, backup_status_reports, mcals_allotted, activated, max_clients, bandwidth_throttling, \
    consolidated_report_to, consolidated_report_every, max_mau, service_plan_id, storage_region, tenant_type, \
    trial_ends_on, service_expires_on";

fn bind_settings<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    s: &'q CustomerSettings,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(&s.legal_name)
        .bind(&s.email)
        .bind(&s.address)
        .bind(&s.city)
        .bind(&s.phone)
        .bind(&s.fax)
        .bind(&s.notes)
        .bind(&s.backup_location)
        .bind(s.space_quota_bytes)
        .bind(s.auto_authorize)
        .bind(s.email_reports)
        .bind(s.backup_status_reports)
        .bind(s.mcals_allotted)
        .bind(s.activated)
        .bind(s.max_clients)
        .bind(&s.bandwidth_throttling)
        .bind(&s.consolidated_report_to)
        .bind(&s.consolidated_report_every)
        .bind(s.max_mau)
        .bind(s.service_plan_id)
        .bind(&s.storage_region)
        .bind(&s.tenant_type)
        .bind(s.trial_ends_on)
        .bind(s.service_expires_on)
}

/// Creates a customer; the caller has checked the reseller is in its scope and has room.
pub async fn insert(
    tx: &mut Tx,
    reseller_id: i64,
    name: &str,
    settings: &CustomerSettings,
    pass_key_hash: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    // $1–$3 come first, then one parameter per settings column (bound by `bind_settings` in
    // the same order), then created_at.
    let columns = SETTINGS_COLUMNS.split(',').count();
    let placeholders: Vec<String> = (4..4 + columns).map(|n| format!("${n}")).collect();
    let sql = format!(
        "INSERT INTO customers (reseller_id, name, pass_key_hash, {SETTINGS_COLUMNS}, created_at) \
         VALUES ($1, $2, $3, {}, ${}) RETURNING id",
        placeholders.join(", "),
        4 + columns
    );
    let query = sqlx::query(&sql).bind(reseller_id).bind(name).bind(pass_key_hash);
    let row = bind_settings(query, settings).bind(now).fetch_one(&mut **tx).await?;
    sqlx::Row::try_get::<i64, _>(&row, 0)
}

pub async fn update(tx: &mut Tx, id: i64, settings: &CustomerSettings) -> Result<(), sqlx::Error> {
    let assignments: Vec<String> = SETTINGS_COLUMNS
        .split(',')
        .map(str::trim)
        .enumerate()
        .map(|(i, column)| format!("{column} = ${}", i + 3))
        .collect();
    let sql = format!(
        "UPDATE customers SET {} WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)",
        assignments.join(", ")
    );
    let reseller = tx.scope().reseller_id();
    let query = sqlx::query(&sql).bind(id).bind(reseller);
    bind_settings(query, settings).execute(&mut **tx).await?;
    Ok(())
}

pub async fn set_credit_quota(tx: &mut Tx, id: i64, change: &CreditQuotaChange) -> Result<(), sqlx::Error> {
    let (sql, quota, on): (&str, Option<&str>, Option<NaiveDate>) = match change {
        CreditQuotaChange::Unchanged => return Ok(()),
        CreditQuotaChange::Clear => (
            "UPDATE customers SET credit_quota = NULL, credit_quota_effective_on = NULL, \
             pending_credit_quota = NULL, pending_credit_quota_on = NULL WHERE id = $1",
            None,
            None,
        ),
        CreditQuotaChange::Now { quota, on } => (
            "UPDATE customers SET credit_quota = $2::numeric, credit_quota_effective_on = $3, \
             pending_credit_quota = NULL, pending_credit_quota_on = NULL WHERE id = $1",
            Some(quota.as_str()),
            Some(*on),
        ),
        CreditQuotaChange::Pending { quota, on } => (
            "UPDATE customers SET pending_credit_quota = $2::numeric, pending_credit_quota_on = $3 WHERE id = $1",
            Some(quota.as_str()),
            Some(*on),
        ),
    };
    sqlx::query(sql)
        .bind(id)
        .bind(quota)
        .bind(on)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn set_pass_key_hash(tx: &mut Tx, id: i64, hash: &str) -> Result<(), sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query("UPDATE customers SET pass_key_hash = $3 WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)")
        .bind(id)
        .bind(reseller)
        .bind(hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The reseller's allowances and what its customers use of them, for the form's snapshots and
/// checks. `excluding` leaves the edited customer's own quota out of "allotted to customers".
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResellerSnapshot {
    pub id: i64,
    pub name: String,
    pub max_customers: i32,
    pub customers: i64,
    pub disk_space_bytes: i64,
    pub allotted_to_customers: i64,
    pub mcal_pool: i32,
    pub drawing_from_pool: i64,
    pub bandwidth_throttling: Option<serde_json::Value>,
    pub server_throttling: Option<serde_json::Value>,
}

impl ResellerSnapshot {
    pub fn free_space(&self) -> i64 {
        (self.disk_space_bytes - self.allotted_to_customers).max(0)
    }

    pub fn mcal_pool_free(&self) -> i64 {
        crate::domain::licensing::mcal_pool_free(i64::from(self.mcal_pool), self.drawing_from_pool)
    }
}

/// `lock`: hold the reseller's row until commit, so two creations cannot both take the last place.
pub async fn reseller_snapshot(
    tx: &mut Tx,
    reseller_id: i64,
    excluding: Option<i64>,
    lock: bool,
) -> Result<ResellerSnapshot, sqlx::Error> {
    let scope_reseller = tx.scope().reseller_id();
    if lock {
        sqlx::query("SELECT id FROM resellers WHERE id = $1 AND ($2::bigint IS NULL OR id = $2) FOR UPDATE")
            .bind(reseller_id)
            .bind(scope_reseller)
            .fetch_one(&mut **tx)
            .await?;
    }
    sqlx::query_as::<_, ResellerSnapshot>(
        "SELECT r.id, r.name, r.max_customers, \
                (SELECT count(*) FROM customers c WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND NOT c.is_default) AS customers, \
                r.disk_space_bytes, \
                (SELECT coalesce(sum(c.space_quota_bytes), 0)::bigint FROM customers c \
                 WHERE c.reseller_id = r.id AND c.lifecycle <> 'deleted' AND c.id IS DISTINCT FROM $3) AS allotted_to_customers, \
                r.mcal_pool, \
                (SELECT u.drawing_from_pool FROM mcal_pool_usage(r.id) u) AS drawing_from_pool, \
                r.bandwidth_throttling, \
                (SELECT bandwidth_throttling FROM server_settings WHERE id = 1) AS server_throttling \
         FROM resellers r WHERE r.id = $1 AND ($2::bigint IS NULL OR r.id = $2)",
    )
    .bind(reseller_id)
    .bind(scope_reseller)
    .bind(excluding)
    .fetch_one(&mut **tx)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ServicePlan {
    pub id: i64,
    pub name: String,
    pub edition: String,
    pub is_evaluation: bool,
}

pub async fn service_plans(tx: &mut Tx) -> Result<Vec<ServicePlan>, sqlx::Error> {
    sqlx::query_as::<_, ServicePlan>(
        "SELECT id, name, edition, is_evaluation FROM service_plans ORDER BY is_evaluation, lower(name)",
    )
    .fetch_all(&mut **tx)
    .await
}

/// The customer's web-portal user, if it has one.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PortalUser {
    pub id: i64,
    pub username: String,
    pub disabled: bool,
}

pub async fn portal_user(tx: &mut Tx, customer_id: i64) -> Result<Option<PortalUser>, sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query_as::<_, PortalUser>(
        "SELECT id, username, disabled_at IS NOT NULL AS disabled FROM users \
         WHERE customer_id = $1 AND role = 'customer' AND ($2::bigint IS NULL OR reseller_id = $2)",
    )
    .bind(customer_id)
    .bind(reseller)
    .fetch_optional(&mut **tx)
    .await
}

/// What to do with the customer's portal user.
#[derive(Debug, Clone)]
pub enum PortalAccess {
    /// Leave it as it is (no user and access off).
    Unchanged,
    /// Create or update the user; `password_hash` `None` keeps the current password.
    Enable {
        username: String,
        password_hash: Option<String>,
    },
    /// Keep the user but refuse its logins.
    Disable,
}

pub async fn set_portal_access(
    tx: &mut Tx,
    reseller_id: i64,
    customer_id: i64,
    email: &str,
    access: &PortalAccess,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    match access {
        PortalAccess::Unchanged => Ok(()),
        PortalAccess::Disable => {
            sqlx::query(
                "UPDATE users SET disabled_at = coalesce(disabled_at, $3) \
                 WHERE customer_id = $1 AND reseller_id = $2 AND role = 'customer'",
            )
            .bind(customer_id)
            .bind(reseller_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            // Session lookups refuse disabled users, so its open sessions end too.
            Ok(())
        }
        PortalAccess::Enable {
            username,
            password_hash,
        } => {
            let updated = sqlx::query(
                "UPDATE users SET username = $3, email = $4, disabled_at = NULL, \
                        password_hash = coalesce($5, password_hash), \
                        password_changed_at = CASE WHEN $5::text IS NULL THEN password_changed_at ELSE $6 END \
                 WHERE customer_id = $1 AND reseller_id = $2 AND role = 'customer'",
            )
            .bind(customer_id)
            .bind(reseller_id)
            .bind(username)
            .bind(email)
            .bind(password_hash)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if updated == 0 {
                sqlx::query(
                    "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, customer_id, \
                                        created_at, password_changed_at) \
                     VALUES ($3, $3, $4, $5, 'customer', $2, $1, $6, $6)",
                )
                .bind(customer_id)
                .bind(reseller_id)
                .bind(username)
                .bind(email)
                .bind(password_hash.as_deref().unwrap_or_default())
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }
    }
}

/// Saves the customer's replication choice.
pub async fn set_replication(
    tx: &mut Tx,
    customer_id: i64,
    mode: &str,
    target: &str,
    schedule: &str,
) -> Result<(), sqlx::Error> {
    let reseller = tx.scope().reseller_id();
    sqlx::query(
        "UPDATE customers SET replication_mode = $3, replication_target = $4, replication_schedule = $5 \
         WHERE id = $1 AND ($2::bigint IS NULL OR reseller_id = $2)",
    )
    .bind(customer_id)
    .bind(reseller)
    .bind(mode)
    .bind(target)
    .bind(schedule)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The server-wide throttling setting (NULL: none), the last level of inheritance.
pub async fn server_throttling(tx: &mut Tx) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar("SELECT bandwidth_throttling FROM server_settings WHERE id = 1")
        .fetch_one(&mut **tx)
        .await
}
