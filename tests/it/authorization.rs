//! The authorization matrix: every route of the Router × every kind of caller × own versus another
//! tenant's ids. The list of routes is read from the source (`.route("…")` calls), so a route added
//! without a row here fails `every_route_is_in_the_matrix`.
//!
//! Each row states the answers of the five base callers; the others follow rules (see
//! [`Case::expect_for`]): an impersonating admin has the customer user's rights, a read-only admin
//! the admin's pages and none of its actions, an admin limited to chosen customers the admin's
//! answers except about the customers it was not given.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};

use crate::common::{TestApp, TestClient};

/// Who asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    CustomerUser,
    Admin,
    Owner,
    Operator,
    /// A reseller admin logged in as the customer Contoso.
    Impersonating,
    /// A reseller admin with read-only access.
    ReadOnlyAdmin,
    /// A reseller admin limited to the customer Contoso.
    LimitedAdmin,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::CustomerUser,
    Caller::Admin,
    Caller::Owner,
    Caller::Operator,
    Caller::Impersonating,
    Caller::ReadOnlyAdmin,
    Caller::LimitedAdmin,
];

/// Routes a read-only account may still post to: its own session, password and second factor.
const OWN_ACCOUNT_ACTIONS: &[&str] = &[
    "/login",
    "/login/two-factor",
    "/logout",
    "/account/password",
    "/account/two-factor/setup",
    "/account/two-factor/confirm",
    "/account/two-factor/recovery-codes",
    "/account/two-factor/disable",
    "/impersonation/end",
];

/// What a caller gets.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Exactly this status.
    Is(u16),
    /// Allowed: anything but 401, 403, 404, 405 and 5xx (a form may answer 422 to an empty post).
    Allowed,
}

use Expect::{Allowed, Is};

/// One row: method, path as the router declares it, the path with ids filled in, and the answer
/// for anonymous, customer user, reseller admin, reseller owner, operator.
struct Case {
    method: Method,
    route: &'static str,
    path: String,
    expect: [Expect; 5],
    /// About a customer of the caller's reseller that a limited admin was not given.
    ungranted: bool,
    /// The impersonating admin's answer where it differs from the customer user's.
    impersonating: Option<Expect>,
}

impl Case {
    fn expect_for(&self, caller: Caller) -> Expect {
        let admin = self.expect[2];
        match caller {
            Caller::Anonymous => self.expect[0],
            Caller::CustomerUser => self.expect[1],
            Caller::Admin => admin,
            Caller::Owner => self.expect[3],
            Caller::Operator => self.expect[4],
            Caller::Impersonating => self.impersonating.unwrap_or(self.expect[1]),
            Caller::ReadOnlyAdmin => {
                let passes_the_web_layer = self.method == Method::GET
                    || OWN_ACCOUNT_ACTIONS.contains(&self.route)
                    || self.route.starts_with("/api/");
                if passes_the_web_layer {
                    admin
                } else {
                    match admin {
                        // Refused before the handler runs, whatever the ids.
                        Allowed | Is(404) | Is(422) | Is(400) => Is(403),
                        other => other,
                    }
                }
            }
            Caller::LimitedAdmin => {
                let creates_a_customer = matches!(
                    (self.method.as_str(), self.route),
                    ("GET" | "POST", "/customers/new") | ("GET", "/organizations/new") | ("POST", "/organizations")
                );
                if creates_a_customer {
                    Is(403)
                } else if self.ungranted {
                    Is(404)
                } else {
                    admin
                }
            }
        }
    }
}

/// A staff page of the caller's own reseller.
const STAFF_PAGE: [Expect; 5] = [Is(303), Is(403), Is(200), Is(200), Is(200)];
/// A staff page about another reseller's object: not found for that reseller's competitors.
const OTHER_TENANT_PAGE: [Expect; 5] = [Is(303), Is(403), Is(404), Is(404), Is(200)];
/// A staff action (post) on the caller's own object. Anonymous posts fail the CSRF check.
const STAFF_ACTION: [Expect; 5] = [Is(403), Is(403), Allowed, Allowed, Allowed];
const OTHER_TENANT_ACTION: [Expect; 5] = [Is(403), Is(403), Is(404), Is(404), Allowed];
const OPERATOR_PAGE: [Expect; 5] = [Is(303), Is(403), Is(403), Is(403), Is(200)];
const OPERATOR_ACTION: [Expect; 5] = [Is(403), Is(403), Is(403), Is(403), Allowed];

struct Ids {
    own: i64,
    other: i64,
    /// A customer of the own reseller that the limited admin was not given.
    ungranted: i64,
    own_contact: i64,
    other_contact: i64,
    own_client: i64,
    other_client: i64,
    own_reseller: i64,
    other_reseller: i64,
    own_admin: i64,
    other_admin: i64,
    own_alert: i64,
    other_alert: i64,
}

fn cases(ids: &Ids) -> Vec<Case> {
    let get = |route: &'static str, path: String, expect: [Expect; 5]| Case {
        method: Method::GET,
        route,
        path,
        expect,
        ungranted: false,
        impersonating: None,
    };
    let post = |route: &'static str, path: String, expect: [Expect; 5]| Case {
        method: Method::POST,
        route,
        path,
        expect,
        ungranted: false,
        impersonating: None,
    };
    let (own, other) = (ids.own, ids.other);
    let mut cases = vec![
        get("/", "/".into(), [Is(303), Is(303), Is(303), Is(303), Is(303)]),
        get("/login", "/login".into(), [Is(200), Is(303), Is(303), Is(303), Is(303)]),
        post("/login", "/login".into(), [Is(403), Allowed, Allowed, Allowed, Allowed]),
        post(
            "/logout",
            "/logout".into(),
            [Is(403), Is(303), Is(303), Is(303), Is(303)],
        ),
        get("/healthz", "/healthz".into(), [Is(200); 5]),
        Case {
            impersonating: Some(Is(403)),
            ..get(
                "/account/password",
                "/account/password".into(),
                [Is(303), Is(200), Is(200), Is(200), Is(200)],
            )
        },
        Case {
            impersonating: Some(Is(403)),
            ..post(
                "/account/password",
                "/account/password".into(),
                [Is(403), Is(422), Is(422), Is(422), Is(422)],
            )
        },
        Case {
            impersonating: Some(Is(403)),
            ..get(
                "/account/two-factor",
                "/account/two-factor".into(),
                [Is(303), Is(200), Is(200), Is(200), Is(200)],
            )
        },
        Case {
            impersonating: Some(Is(403)),
            ..post(
                "/account/two-factor/setup",
                "/account/two-factor/setup".into(),
                [Is(403), Is(303), Is(303), Is(303), Is(303)],
            )
        },
        Case {
            impersonating: Some(Is(403)),
            ..post(
                "/account/two-factor/confirm",
                "/account/two-factor/confirm".into(),
                [Is(403), Allowed, Allowed, Allowed, Allowed],
            )
        },
        Case {
            impersonating: Some(Is(403)),
            ..post(
                "/account/two-factor/recovery-codes",
                "/account/two-factor/recovery-codes".into(),
                [Is(403), Is(422), Is(422), Is(422), Is(422)],
            )
        },
        Case {
            impersonating: Some(Is(403)),
            ..post(
                "/account/two-factor/disable",
                "/account/two-factor/disable".into(),
                [Is(403), Is(422), Is(422), Is(422), Is(422)],
            )
        },
        get(
            "/login/two-factor",
            "/login/two-factor".into(),
            [Is(303), Is(303), Is(303), Is(303), Is(303)],
        ),
        post(
            "/login/two-factor",
            "/login/two-factor".into(),
            [Is(403), Is(303), Is(303), Is(303), Is(303)],
        ),
        get(
            "/portal",
            "/portal".into(),
            [Is(303), Is(200), Is(403), Is(403), Is(403)],
        ),
        get("/dashboard", "/dashboard".into(), STAFF_PAGE),
        get("/dashboard/{tab}", "/dashboard/expiring".into(), STAFF_PAGE),
        post(
            "/dashboard/exceeding/bulk",
            "/dashboard/exceeding/bulk".into(),
            STAFF_ACTION,
        ),
        post(
            "/dashboard/exceeding/bulk/apply",
            "/dashboard/exceeding/bulk/apply".into(),
            STAFF_ACTION,
        ),
        get("/customers", "/customers".into(), STAFF_PAGE),
        get("/customers.csv", "/customers.csv".into(), STAFF_PAGE),
        get("/customers/new", "/customers/new".into(), STAFF_PAGE),
        post("/customers/new", "/customers/new".into(), STAFF_ACTION),
        get("/space", "/space".into(), STAFF_PAGE),
        get("/resellers", "/resellers".into(), OPERATOR_PAGE),
        get("/resellers/new", "/resellers/new".into(), OPERATOR_PAGE),
        post("/resellers/new", "/resellers/new".into(), OPERATOR_ACTION),
        get(
            "/resellers/{id}/edit",
            format!("/resellers/{}/edit", ids.own_reseller),
            OPERATOR_PAGE,
        ),
        post(
            "/resellers/{id}/edit",
            format!("/resellers/{}/edit", ids.own_reseller),
            OPERATOR_ACTION,
        ),
        post(
            "/space/resellers/{id}",
            format!("/space/resellers/{}", ids.other_reseller),
            [Is(403), Is(403), Is(403), Is(403), Allowed],
        ),
        get("/api/openapi.json", "/api/openapi.json".into(), [Is(200); 5]),
        post("/api/v1/register", "/api/v1/register".into(), [Is(400); 5]),
        post("/api/v1/reports", "/api/v1/reports".into(), [Is(401); 5]),
    ];
    // Every page and action about one customer: the caller's own and another reseller's.
    let customer_pages: &[&'static str] = &[
        "/customers/{id}",
        "/customers/{id}/sla",
        "/customers/{id}/account",
        "/customers/{id}/service-plan",
        "/customers/{id}/contacts/new",
        "/customers/{id}/seat-limits",
        "/customers/{id}/edit",
        "/customers/{id}/clients",
        "/customers/{id}/clients/new",
        "/customers/{id}/deleted",
        "/customers/{id}/replication",
        "/customers/{id}/invoice-config",
        "/customers/{id}/invoices",
        "/customers/{id}/pass-key",
        "/customers/{id}/delete",
    ];
    let ungranted = ids.ungranted;
    for route in customer_pages {
        cases.push(get(route, route.replace("{id}", &own.to_string()), STAFF_PAGE));
        cases.push(get(route, route.replace("{id}", &other.to_string()), OTHER_TENANT_PAGE));
        cases.push(Case {
            ungranted: true,
            ..get(route, route.replace("{id}", &ungranted.to_string()), STAFF_PAGE)
        });
    }
    let customer_actions: &[&'static str] = &[
        "/customers/{id}/account",
        "/customers/{id}/service-plan",
        "/customers/{id}/contacts",
        "/customers/{id}/seat-limits",
        "/customers/{id}/seat-limits/cancel",
        "/customers/{id}/edit",
        "/customers/{id}/clients/new",
        "/customers/{id}/replication",
        "/customers/{id}/invoice-config",
        "/customers/{id}/pass-key",
        "/customers/{id}/delete",
        "/customers/{id}/auto-authorize",
        "/customers/{id}/activation",
        "/customers/{id}/revive",
        "/customers/{id}/convert",
    ];
    for route in customer_actions {
        cases.push(post(route, route.replace("{id}", &own.to_string()), STAFF_ACTION));
        cases.push(post(
            route,
            route.replace("{id}", &other.to_string()),
            OTHER_TENANT_ACTION,
        ));
        cases.push(Case {
            ungranted: true,
            ..post(route, route.replace("{id}", &ungranted.to_string()), STAFF_ACTION)
        });
    }
    // Revive and convert pages only exist for customers in those states: ask about the other
    // tenant's (404 for competitors) and rely on the dashboard tests for the own ones.
    cases.push(get(
        "/customers/{id}/revive",
        format!("/customers/{other}/revive"),
        [Is(303), Is(403), Is(404), Is(404), Is(303)],
    ));
    cases.push(get(
        "/customers/{id}/convert",
        format!("/customers/{other}/convert"),
        [Is(303), Is(403), Is(404), Is(404), Is(303)],
    ));
    let (own_contact, other_contact) = (ids.own_contact, ids.other_contact);
    cases.push(get(
        "/customers/{id}/contacts/{contact_id}/edit",
        format!("/customers/{own}/contacts/{own_contact}/edit"),
        STAFF_PAGE,
    ));
    cases.push(get(
        "/customers/{id}/contacts/{contact_id}/edit",
        format!("/customers/{other}/contacts/{other_contact}/edit"),
        OTHER_TENANT_PAGE,
    ));
    cases.push(get(
        "/customers/{id}/contacts/{contact_id}/delete",
        format!("/customers/{own}/contacts/{own_contact}/delete"),
        STAFF_PAGE,
    ));
    cases.push(post(
        "/customers/{id}/contacts/{contact_id}",
        format!("/customers/{other}/contacts/{other_contact}"),
        OTHER_TENANT_ACTION,
    ));
    cases.push(post(
        "/customers/{id}/contacts/{contact_id}/delete",
        format!("/customers/{other}/contacts/{other_contact}/delete"),
        OTHER_TENANT_ACTION,
    ));
    let (own_client, other_client) = (ids.own_client, ids.other_client);
    // Before the client deletion below, which would take the client away.
    cases.push(post(
        "/space/customers/{id}",
        format!("/space/customers/{other}"),
        OTHER_TENANT_ACTION,
    ));
    cases.push(post(
        "/space/clients/{id}",
        format!("/space/clients/{other_client}"),
        OTHER_TENANT_ACTION,
    ));
    cases.push(get(
        "/space/clients/{id}/throttling",
        format!("/space/clients/{other_client}/throttling"),
        OTHER_TENANT_PAGE,
    ));
    cases.push(post(
        "/space/clients/{id}/throttling",
        format!("/space/clients/{other_client}/throttling"),
        OTHER_TENANT_ACTION,
    ));
    cases.push(get(
        "/customers/{id}/clients/{client_id}/disable",
        format!("/customers/{own}/clients/{own_client}/disable"),
        STAFF_PAGE,
    ));
    cases.push(get(
        "/customers/{id}/clients/{client_id}/disable",
        format!("/customers/{other}/clients/{other_client}/disable"),
        OTHER_TENANT_PAGE,
    ));
    for route in [
        "/customers/{id}/clients/{client_id}/disable",
        "/customers/{id}/clients/{client_id}/enable",
    ] {
        cases.push(post(
            route,
            route
                .replace("{id}", &other.to_string())
                .replace("{client_id}", &other_client.to_string()),
            OTHER_TENANT_ACTION,
        ));
    }
    cases.push(get(
        "/customers/{id}/clients/{client_id}/delete",
        format!("/customers/{own}/clients/{own_client}/delete"),
        STAFF_PAGE,
    ));
    cases.push(post(
        "/customers/{id}/clients/{client_id}/delete",
        format!("/customers/{other}/clients/{other_client}/delete"),
        OTHER_TENANT_ACTION,
    ));
    // The owner's pages: admins and the licence; alerts and the audit log.
    const OWNER_PAGE: [Expect; 5] = [Is(303), Is(403), Is(403), Is(200), Is(403)];
    const OWNER_ACTION: [Expect; 5] = [Is(403), Is(403), Is(403), Allowed, Is(403)];
    let (own_admin, other_admin) = (ids.own_admin, ids.other_admin);
    cases.extend([
        get("/admins", "/admins".into(), OWNER_PAGE),
        get("/admins/new", "/admins/new".into(), OWNER_PAGE),
        post("/admins", "/admins".into(), OWNER_ACTION),
        get(
            "/admins/{id}/disable",
            format!("/admins/{own_admin}/disable"),
            OWNER_PAGE,
        ),
        post(
            "/admins/{id}/disable",
            format!("/admins/{other_admin}/disable"),
            [Is(403), Is(403), Is(403), Is(404), Is(403)],
        ),
        post(
            "/admins/{id}/enable",
            format!("/admins/{other_admin}/enable"),
            [Is(403), Is(403), Is(403), Is(404), Is(403)],
        ),
        get(
            "/admins/{id}/password",
            format!("/admins/{own_admin}/password"),
            OWNER_PAGE,
        ),
        get("/admins/{id}/access", format!("/admins/{own_admin}/access"), OWNER_PAGE),
        post(
            "/admins/{id}/access",
            format!("/admins/{other_admin}/access"),
            [Is(403), Is(403), Is(403), Is(404), Is(403)],
        ),
        post("/admins/two-factor", "/admins/two-factor".into(), OWNER_ACTION),
        post(
            "/admins/{id}/password",
            format!("/admins/{other_admin}/password"),
            [Is(403), Is(403), Is(403), Is(404), Is(403)],
        ),
        get(
            "/license",
            "/license".into(),
            [Is(303), Is(403), Is(403), Is(200), Is(200)],
        ),
        get("/license/extend", "/license/extend".into(), OWNER_PAGE),
        post("/license/extend", "/license/extend".into(), OWNER_ACTION),
        get("/audit", "/audit".into(), [Is(303), Is(403), Is(403), Is(200), Is(200)]),
        get("/alerts", "/alerts".into(), STAFF_PAGE),
        post(
            "/alerts/{id}/acknowledge",
            format!("/alerts/{}/acknowledge", ids.other_alert),
            OTHER_TENANT_ACTION,
        ),
        post(
            "/alerts/{id}/resolve",
            format!("/alerts/{}/resolve", ids.other_alert),
            OTHER_TENANT_ACTION,
        ),
        post(
            "/alerts/{id}/acknowledge",
            format!("/alerts/{}/acknowledge", ids.own_alert),
            STAFF_ACTION,
        ),
        get("/organizations", "/organizations".into(), STAFF_PAGE),
        get("/organizations/new", "/organizations/new".into(), STAFF_PAGE),
        post("/organizations", "/organizations".into(), STAFF_ACTION),
        get(
            "/impersonation/new",
            format!("/impersonation/new?customer={own}"),
            STAFF_PAGE,
        ),
        get(
            "/impersonation/new",
            format!("/impersonation/new?customer={other}"),
            OTHER_TENANT_PAGE,
        ),
        Case {
            ungranted: true,
            ..get(
                "/impersonation/new",
                format!("/impersonation/new?customer={ungranted}"),
                STAFF_PAGE,
            )
        },
        post("/impersonation", "/impersonation".into(), STAFF_ACTION),
        post(
            "/impersonation/end",
            "/impersonation/end".into(),
            [Is(403), Allowed, Allowed, Allowed, Allowed],
        ),
        post(
            "/portal/clients",
            "/portal/clients".into(),
            [Is(403), Allowed, Is(403), Is(403), Is(403)],
        ),
        // Invoices, email settings, the account-details email and the set-password link.
        get("/invoices", "/invoices".into(), STAFF_PAGE),
        get("/invoices.csv", "/invoices.csv".into(), STAFF_PAGE),
        get(
            "/invoices/{id}",
            "/invoices/999999999".into(),
            [Is(303), Is(403), Is(404), Is(404), Is(404)],
        ),
        get("/settings/email", "/settings/email".into(), OPERATOR_PAGE),
        post("/settings/email", "/settings/email".into(), OPERATOR_ACTION),
        post("/settings/email/test", "/settings/email/test".into(), OPERATOR_ACTION),
        post(
            "/settings/email/outbox/{id}/retry",
            "/settings/email/outbox/999999999/retry".into(),
            [Is(403), Is(403), Is(403), Is(403), Is(404)],
        ),
        get(
            "/customers/{id}/account-email",
            format!("/customers/{other}/account-email"),
            OTHER_TENANT_PAGE,
        ),
        post(
            "/customers/{id}/account-email",
            format!("/customers/{other}/account-email"),
            OTHER_TENANT_ACTION,
        ),
        get(
            "/set-password/{token}",
            "/set-password/not-a-token".into(),
            [Is(404); 5],
        ),
        post(
            "/set-password/{token}",
            "/set-password/not-a-token".into(),
            [Is(403), Is(404), Is(404), Is(404), Is(404)],
        ),
    ]);
    cases
}

/// Every path the router declares, read from the `.route("…")` calls of the source.
fn declared_routes() -> BTreeSet<String> {
    fn walk(dir: &std::path::Path, found: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // src/bin holds other programs (the fortunes baseline), not the portal's Router.
                if path.file_name().is_some_and(|name| name == "bin") {
                    continue;
                }
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let mut rest = text.as_str();
                while let Some(at) = rest.find(".route(") {
                    rest = &rest[at + ".route(".len()..];
                    let trimmed = rest.trim_start();
                    if let Some(quoted) = trimmed.strip_prefix('"')
                        && let Some(end) = quoted.find('"')
                    {
                        found.insert(quoted[..end].to_string());
                    }
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut found,
    );
    found
}

async fn user_id(app: &TestApp, username: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
        .bind(username)
        .fetch_one(&app.db)
        .await
        .expect("user")
}

async fn ids(app: &TestApp) -> Ids {
    let own = app.customer_id("Contoso").await;
    let other = app.customer_id("Woodgrove Bank").await;
    let first = |sql: &'static str, id: i64| {
        let db = app.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .bind(id)
                .fetch_one(&db)
                .await
                .expect(sql)
        }
    };
    Ids {
        own,
        other,
        ungranted: app.customer_id("Proseware").await,
        own_contact: first("SELECT min(id) FROM contacts WHERE customer_id = $1", own).await,
        other_contact: first("SELECT min(id) FROM contacts WHERE customer_id = $1", other).await,
        own_client: first("SELECT min(id) FROM clients WHERE customer_id = $1", own).await,
        other_client: first("SELECT min(id) FROM clients WHERE customer_id = $1", other).await,
        own_reseller: app.reseller_id("Northwind Backup Services").await,
        other_reseller: app.reseller_id("Fabrikam Managed IT").await,
        own_admin: user_id(app, "admin@northwind.example").await,
        other_admin: user_id(app, "admin@fabrikam.example").await,
        own_alert: first("SELECT min(id) FROM alerts WHERE customer_id = $1", own).await,
        other_alert: first("SELECT min(id) FROM alerts WHERE customer_id = $1", other).await,
    }
}

#[tokio::test]
async fn every_route_is_in_the_matrix() {
    let app = TestApp::demo().await;
    let ids = ids(&app).await;
    let covered: BTreeSet<String> = cases(&ids).iter().map(|c| c.route.to_string()).collect();
    let declared = declared_routes();
    assert!(declared.len() > 30, "the source scan found only {declared:?}");
    let missing: Vec<&String> = declared.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the authorization matrix: {missing:?}"
    );
    let unknown: Vec<&String> = covered.difference(&declared).collect();
    assert!(
        unknown.is_empty(),
        "matrix rows for routes the router does not declare: {unknown:?}"
    );
}

/// Adds the read-only and the limited admin (to Contoso) beside the demo's admin of Northwind.
async fn add_special_admins(app: &TestApp) {
    for (username, read_only, limited) in [
        ("readonly@northwind.example", true, false),
        ("limited@northwind.example", false, true),
    ] {
        sqlx::query(
            "INSERT INTO users (username, display_name, email, password_hash, role, reseller_id, read_only, \
                                limited_to_granted_customers, created_at, password_changed_at) \
             SELECT $1, $1, $1, password_hash, role, reseller_id, $2, $3, created_at, password_changed_at \
             FROM users WHERE username = 'admin@northwind.example'",
        )
        .bind(username)
        .bind(read_only)
        .bind(limited)
        .execute(&app.db)
        .await
        .expect("admin");
    }
    sqlx::query(
        "INSERT INTO admin_customer_grants (user_id, reseller_id, customer_id) \
         SELECT u.id, c.reseller_id, c.id FROM users u, customers c \
         WHERE u.username = 'limited@northwind.example' AND c.name = 'Contoso'",
    )
    .execute(&app.db)
    .await
    .expect("grant");
}

async fn client_for(app: &TestApp, caller: Caller) -> TestClient {
    match caller {
        Caller::Anonymous => app.client(),
        Caller::CustomerUser => app.login("contoso-portal").await,
        Caller::Admin => app.login("admin@northwind.example").await,
        Caller::Owner => app.login("owner@northwind.example").await,
        Caller::Operator => app.login("operator").await,
        Caller::ReadOnlyAdmin => app.login("readonly@northwind.example").await,
        Caller::LimitedAdmin => app.login("limited@northwind.example").await,
        Caller::Impersonating => {
            let admin = app.login("admin@northwind.example").await;
            let contoso = app.customer_id("Contoso").await.to_string();
            admin.get(&format!("/impersonation/new?customer={contoso}")).await;
            let started = admin
                .post_form("/impersonation", &[("customer_id", &contoso), ("reason", "matrix")])
                .await;
            assert_eq!(started.status, StatusCode::SEE_OTHER, "impersonation starts");
            admin
        }
    }
}

#[tokio::test]
async fn every_caller_gets_the_expected_answer_on_every_route() {
    let app = TestApp::demo().await;
    add_special_admins(&app).await;
    let ids = ids(&app).await;
    let mut failures = Vec::new();
    for caller in CALLERS {
        for case in cases(&ids) {
            // A fresh session per case: a logout or password post must not spoil the next case.
            let client = client_for(&app, caller).await;
            if caller != Caller::Anonymous {
                client.get("/account/password").await;
                // Impersonating: the password page is refused; any page gives the session's token.
                client.get("/portal").await;
            }
            let response = if case.method == Method::GET {
                client.get(&case.path).await
            } else if case.path.starts_with("/api/") {
                client
                    .send(
                        Method::POST,
                        &case.path,
                        Some("{}".into()),
                        &[("content-type", "application/json")],
                    )
                    .await
            } else {
                client.post_form(&case.path, &[]).await
            };
            let status = response.status;
            let expected = case.expect_for(caller);
            let ok = match expected {
                Is(code) => status.as_u16() == code,
                Allowed => {
                    !matches!(
                        status,
                        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND
                    ) && !status.is_server_error()
                }
            };
            if !ok {
                failures.push(format!(
                    "{caller:?} {} {} → {status} (expected {:?})",
                    case.method, case.path, expected
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} unexpected answers:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A page's session lookup (`app_open_session`) leaves on its transaction exactly the settings the
/// page's own `store::scoped` asks for, for every kind of caller, and the page's queries run on
/// that same transaction: one pool acquire and no statement to set the scope again. The SQL
/// mirrors `CurrentUser::access()`; a drift would not widen anyone's view (scoped compares and
/// sets again) but would cost every page a statement, and this catches it.
#[tokio::test]
async fn a_page_runs_on_the_transaction_of_its_session_lookup_with_its_callers_scope() {
    use msp_portal::auth::sessions::{SESSION_COOKIE, sha256};
    use msp_portal::domain::tenancy::{Access, Scope};
    use msp_portal::store::{self, PageTx, Settings};

    let app = TestApp::demo().await;
    add_special_admins(&app).await;
    let northwind = app.reseller_id("Northwind Backup Services").await;
    let contoso = app.customer_id("Contoso").await;
    let reseller = Scope::Reseller { reseller_id: northwind };
    let customer = Scope::Customer {
        reseller_id: northwind,
        customer_id: contoso,
    };
    let expected = |caller: Caller| -> Access {
        let (scope, customers) = match caller {
            Caller::CustomerUser | Caller::Impersonating => (customer, None),
            Caller::Operator => (Scope::Operator, None),
            Caller::LimitedAdmin => (reseller, Some(vec![contoso])),
            _ => (reseller, None),
        };
        Access {
            scope,
            customers,
            read_only: caller == Caller::ReadOnlyAdmin,
        }
    };
    let now = app.clock_now();
    for caller in CALLERS.into_iter().filter(|c| *c != Caller::Anonymous) {
        let client = client_for(&app, caller).await;
        let token = client.cookie(SESSION_COOKIE).expect("a session cookie");
        let mut tx = app.app_db.begin().await.expect("begin");
        let opened = store::sessions::open(&mut tx, &sha256(&token), now, chrono::Duration::minutes(30))
            .await
            .expect("lookup")
            .unwrap_or_else(|| panic!("{caller:?}: the session is live"));
        let applied = Settings {
            scope: opened.scope_kind,
            reseller_id: opened.scope_reseller_id,
            customer_id: opened.scope_customer_id,
            customer_ids: opened.scope_customer_ids,
        };
        let access = expected(caller);
        assert_eq!(applied, Settings::of(&access), "{caller:?}: settings of the lookup");
        let lookup_backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await
            .expect("pid");

        let page_tx = PageTx::new(tx, applied.clone(), opened.activity_recorded);
        let (backend, in_effect) = page_tx
            .run(async {
                let mut page = store::scoped(&app.app_db, &access).await.expect("scoped");
                let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                    .fetch_one(&mut *page)
                    .await
                    .expect("pid");
                let read_only: String = sqlx::query_scalar("SHOW transaction_read_only")
                    .fetch_one(&mut *page)
                    .await
                    .expect("read only?");
                assert_eq!(read_only, "on", "{caller:?}: a page's transaction is read only");
                let in_effect: (String, String, String, String) = sqlx::query_as(
                    "SELECT current_setting('app.scope'), current_setting('app.reseller_id'), \
                            current_setting('app.customer_id'), current_setting('app.customer_ids')",
                )
                .fetch_one(&mut *page)
                .await
                .expect("settings");
                page.commit().await.expect("commit");
                (backend, in_effect)
            })
            .await;
        page_tx.finish().await.expect("nothing left to commit");
        assert_eq!(
            backend, lookup_backend,
            "{caller:?}: the page's queries share the lookup's connection"
        );
        assert_eq!(
            in_effect,
            (
                applied.scope,
                applied.reseller_id,
                applied.customer_id,
                applied.customer_ids
            ),
            "{caller:?}: settings in effect"
        );
    }
}
