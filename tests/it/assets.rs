//! Static files under fingerprinted names with long cache lifetimes, and compressed pages.

use axum::http::{Method, StatusCode};

use crate::common::TestApp;

#[tokio::test]
async fn pages_link_fingerprinted_assets_that_resolve_and_are_cached_for_a_year() {
    let app = TestApp::demo().await;
    let page = app.login("admin@northwind.example").await.get("/dashboard").await;
    let stylesheets = page.attrs("link[rel=stylesheet]", "href");
    let scripts = page.attrs("script[src]", "src");
    let icons = page.attrs("link[rel=icon]", "href");
    let links: Vec<String> = stylesheets.into_iter().chain(scripts).chain(icons).collect();
    assert_eq!(links.len(), 3, "{links:?}");
    let anonymous = app.client();
    for link in links {
        let name = link.trim_start_matches("/static/");
        let parts: Vec<&str> = name.split('.').collect();
        assert!(
            parts.len() >= 3 && parts[parts.len() - 2].len() == 10,
            "{link} carries a content hash"
        );
        let response = anonymous.get(&link).await;
        assert_eq!(response.status, StatusCode::OK, "{link}");
        assert_eq!(
            response.headers["cache-control"], "public, max-age=31536000, immutable",
            "{link}"
        );
        assert!(!response.body.is_empty());
    }
}

#[tokio::test]
async fn plain_asset_names_still_work_but_are_revalidated() {
    let app = TestApp::new().await;
    let response = app.client().get("/static/app.css").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["cache-control"], "no-cache");
    let wrong = app.client().get("/static/app.0123456789.css").await;
    assert_eq!(
        wrong.status,
        StatusCode::NOT_FOUND,
        "a made-up fingerprint is not served"
    );
}

#[tokio::test]
async fn pages_are_compressed_for_clients_that_accept_it() {
    let app = TestApp::demo().await;
    let admin = app.login("admin@northwind.example").await;
    for (accepts, expected) in [("gzip", Some("gzip")), ("br", Some("br")), ("identity", None)] {
        let response = admin
            .send(Method::GET, "/dashboard", None, &[("accept-encoding", accepts)])
            .await;
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(
            response.headers.get("content-encoding").and_then(|v| v.to_str().ok()),
            expected,
            "{accepts}"
        );
    }
    let plain = admin.get("/dashboard").await;
    assert!(plain.body.contains("<html"), "no Accept-Encoding: the page as it is");
}
