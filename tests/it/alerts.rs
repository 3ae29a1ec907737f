//! `/alerts`: open and recent alerts, filters, acknowledge and resolve.

use axum::http::StatusCode;

use crate::common::TestApp;

async fn open_alerts(app: &TestApp, reseller: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM alerts a JOIN resellers r ON r.id = a.reseller_id WHERE r.name = $1 AND a.resolved_at IS NULL",
    )
    .bind(reseller)
    .fetch_one(&app.db)
    .await
    .expect("count")
}

async fn alert_of(app: &TestApp, customer: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT a.id FROM alerts a JOIN customers c ON c.id = a.customer_id WHERE c.name = $1 AND a.resolved_at IS NULL \
         ORDER BY a.id LIMIT 1",
    )
    .bind(customer)
    .fetch_one(&app.db)
    .await
    .expect("alert")
}

#[tokio::test]
async fn staff_see_the_open_alerts_of_their_own_customers() {
    let app = TestApp::demo().await;
    let page = app.login("admin@northwind.example").await.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK);
    let rows = page.texts("#alerts tbody tr");
    assert_eq!(rows.len() as i64, open_alerts(&app, "Northwind Backup Services").await);
    assert!(rows.iter().all(|r| !r.contains("Woodgrove")), "{rows:?}");
}

#[tokio::test]
async fn filters_narrow_by_severity_customer_and_state() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let critical = admin.get("/alerts?severity=critical").await;
    assert!(!critical.texts("#alerts tbody tr").is_empty());
    assert!(
        critical
            .texts("#alerts tbody td:first-child")
            .iter()
            .all(|s| s == "critical")
    );
    let contoso = app.customer_id("Contoso").await;
    let resolved = admin.get(&format!("/alerts?customer={contoso}&state=resolved")).await;
    let rows = resolved.texts("#alerts tbody tr td:nth-child(2)");
    assert_eq!(rows, vec!["Contoso"], "the demo's one resolved alert per customer");
    assert_eq!(
        admin.get("/alerts?severity=panic").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(admin.get("/alerts?customer=x").await.status, StatusCode::BAD_REQUEST);
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    let foreign = admin.get(&format!("/alerts?customer={woodgrove}&state=all")).await;
    assert!(
        foreign.texts("#alerts tbody tr").is_empty(),
        "another reseller's customer shows nothing"
    );
}

#[tokio::test]
async fn acknowledging_and_resolving_are_recorded_and_audited() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let id = alert_of(&app, "Adventure Works").await;
    admin.get("/alerts").await;
    let response = admin
        .post_form(
            &format!("/alerts/{id}/acknowledge"),
            &[("back", "/alerts?severity=critical")],
        )
        .await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(response.location().as_deref(), Some("/alerts?severity=critical"));
    let response = admin
        .post_form(&format!("/alerts/{id}/resolve"), &[("back", "https://evil.example/")])
        .await;
    assert_eq!(response.location().as_deref(), Some("/alerts"));
    let (acknowledged, resolved): (bool, bool) = sqlx::query_as(
        "SELECT acknowledged_at IS NOT NULL AND acknowledged_by IS NOT NULL, resolved_at IS NOT NULL FROM alerts WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.db)
    .await
    .expect("alert");
    assert!(acknowledged && resolved);
    let actions: Vec<String> = sqlx::query_scalar(
        "SELECT action FROM audit_log WHERE object_kind = 'alert' AND object_id = $1 AND customer_id IS NOT NULL ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(&app.db)
    .await
    .expect("audit");
    assert_eq!(actions, vec!["alert_acknowledged", "alert_resolved"]);
    let open = admin.get("/alerts").await;
    assert!(!open.attrs("#alerts tbody tr", "data-id").contains(&id.to_string()));
}

#[tokio::test]
async fn another_resellers_alert_is_not_found_and_unchanged() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let id = alert_of(&app, "Wide World Importers").await;
    admin.get("/alerts").await;
    for action in ["acknowledge", "resolve"] {
        let response = admin.post_form(&format!("/alerts/{id}/{action}"), &[]).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{action}");
    }
    let untouched: bool =
        sqlx::query_scalar("SELECT acknowledged_at IS NULL AND resolved_at IS NULL FROM alerts WHERE id = $1")
            .bind(id)
            .fetch_one(&app.db)
            .await
            .expect("alert");
    assert!(untouched);
}

#[tokio::test]
async fn the_operator_sees_and_acts_on_every_resellers_alerts() {
    let app = TestApp::demo().await;
    let operator = app.login("operator").await;
    let page = operator.get("/alerts").await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts WHERE resolved_at IS NULL")
        .fetch_one(&app.db)
        .await
        .expect("count");
    assert_eq!(page.texts("#alerts tbody tr").len() as i64, total.min(50));
    let id = alert_of(&app, "Wide World Importers").await;
    let response = operator.post_form(&format!("/alerts/{id}/resolve"), &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    let reseller: Option<i64> = sqlx::query_scalar("SELECT reseller_id FROM audit_log WHERE action = 'alert_resolved'")
        .fetch_one(&app.db)
        .await
        .expect("audit");
    assert_eq!(reseller, Some(app.reseller_id("Fabrikam Managed IT").await));
}

#[tokio::test]
async fn customer_users_and_anonymous_visitors_may_not_open_alerts() {
    let app = TestApp::demo().await;
    let customer = app.login("contoso-portal").await;
    assert_eq!(customer.get("/alerts").await.status, StatusCode::FORBIDDEN);
    let contoso_alert: i64 = sqlx::query_scalar(
        "SELECT a.id FROM alerts a JOIN customers c ON c.id = a.customer_id WHERE c.name = 'Contoso' LIMIT 1",
    )
    .fetch_one(&app.db)
    .await
    .expect("alert");
    assert_eq!(
        customer
            .post_form(&format!("/alerts/{contoso_alert}/resolve"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.client().get("/alerts").await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn role_matrix() {
    let app = TestApp::demo().await;
    let woodgrove = app.customer_id("Woodgrove Bank").await;
    // operator, owner, admin, customer user, anonymous
    let cases = [
        ("/alerts".to_string(), [200, 200, 200, 403, 303]),
        (
            "/alerts?state=all&severity=critical".to_string(),
            [200, 200, 200, 403, 303],
        ),
        (format!("/alerts?customer={woodgrove}"), [200, 200, 200, 403, 303]),
    ];
    for (path, expected) in cases {
        assert_eq!(crate::common::get_matrix(&app, &path).await, expected, "{path}");
    }
    let own = alert_of(&app, "Adventure Works").await;
    // Anonymous posts (with the login form's token) are sent to log in; nothing changes.
    let anonymous = app.client();
    anonymous.get("/login").await;
    for action in ["acknowledge", "resolve"] {
        let path = format!("/alerts/{own}/{action}");
        assert_eq!(
            anonymous.post_form(&path, &[]).await.status,
            StatusCode::SEE_OTHER,
            "{path}"
        );
    }
    let owner = app.login("owner@northwind.example").await;
    owner.get("/alerts").await;
    assert_eq!(
        owner.post_form(&format!("/alerts/{own}/acknowledge"), &[]).await.status,
        StatusCode::SEE_OTHER,
        "the owner acts like an admin"
    );
}

#[tokio::test]
async fn with_htmx_an_action_answers_with_the_redrawn_row() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let page = admin.get("/alerts").await;
    let token = page.attrs("meta[name=csrf-token]", "content").remove(0);
    let id = alert_of(&app, "Adventure Works").await;
    let response = admin
        .send(
            axum::http::Method::POST,
            &format!("/alerts/{id}/acknowledge"),
            Some(format!("csrf_token={token}&back=%2Falerts")),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("hx-request", "true"),
                ("x-csrf-token", &token),
            ],
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    // A bare <tr> (a table parser would drop it outside a table): check the markup itself.
    assert!(
        response.body.trim_start().starts_with(&format!("<tr data-id=\"{id}\"")),
        "{}",
        response.body
    );
    assert!(!response.body.contains("<html"), "a fragment, not a page");
    assert!(!response.body.contains("Acknowledge</button>"), "acknowledged now");
    assert!(response.body.contains("Resolve</button>"));
}

#[tokio::test]
async fn recent_adds_alerts_resolved_in_the_last_thirty_days() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    let open = open_alerts(&app, "Northwind Backup Services").await;
    let recent = admin.get("/alerts?state=recent").await;
    assert_eq!(
        recent.texts("#alerts tbody tr").len() as i64,
        open,
        "the demo's resolved alerts are 32 days old"
    );
    let id = alert_of(&app, "Adventure Works").await;
    admin.post_form(&format!("/alerts/{id}/resolve"), &[]).await;
    let after = admin.get("/alerts?state=recent").await;
    assert_eq!(after.texts("#alerts tbody tr").len() as i64, open);
    assert!(after.attrs("#alerts tbody tr", "data-id").contains(&id.to_string()));
    assert_eq!(
        admin.get("/alerts").await.texts("#alerts tbody tr").len() as i64,
        open - 1
    );
}
