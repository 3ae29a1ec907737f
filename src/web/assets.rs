//! Static files under fingerprinted names: `/static/app.<hash>.css` is the content of `app.css`
//! with that hash, so browsers may keep it for a year (a changed file gets a new name). The plain
//! names keep working, revalidated on every use, for anything that links them directly.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Request;
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::STATIC_DIR;

struct Assets {
    /// "app.css" → "app.1a2b3c4d5e.css"
    fingerprinted: HashMap<String, String>,
    /// The reverse, for serving.
    original: HashMap<String, String>,
}

/// Read once, at the first page: the files ship with the binary's checkout and never change
/// under a running server.
static ASSETS: LazyLock<Assets> = LazyLock::new(|| {
    let mut fingerprinted = HashMap::new();
    if let Ok(entries) = std::fs::read_dir(STATIC_DIR) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Ok(content) = std::fs::read(entry.path()) else {
                continue;
            };
            fingerprinted.insert(name.clone(), fingerprint(&name, &content));
        }
    }
    let original = fingerprinted.iter().map(|(k, v)| (v.clone(), k.clone())).collect();
    Assets {
        fingerprinted,
        original,
    }
});

/// `name` with the first 10 hex digits of its content's sha256 before the extension.
pub fn fingerprint(name: &str, content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    let hash: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    match name.rsplit_once('.') {
        Some((stem, extension)) => format!("{stem}.{hash}.{extension}"),
        None => format!("{name}.{hash}"),
    }
}

/// The URL templates link a static file by: fingerprinted when the file exists.
pub fn href(name: &str) -> String {
    match ASSETS.fingerprinted.get(name) {
        Some(fingerprinted) => format!("/static/{fingerprinted}"),
        None => format!("/static/{name}"),
    }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// In front of the static file service (paths relative to /static): a fingerprinted name is served
/// from its file and cached for a year; any other name must be revalidated.
pub async fn serve_fingerprinted(mut request: Request, next: Next) -> Response {
    let path = request.uri().path().trim_start_matches('/');
    let original = ASSETS.original.get(path).cloned();
    if let Some(original) = &original
        && let Ok(uri) = format!("/{original}").parse::<Uri>()
    {
        *request.uri_mut() = uri;
    }
    let mut response = next.run(request).await;
    let cache = if original.is_some() && response.status().is_success() {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn the_fingerprint_goes_before_the_extension_and_follows_the_content() {
        let a = fingerprint("app.css", b"body {}");
        assert!(a.starts_with("app.") && a.ends_with(".css") && a.len() == "app.".len() + 10 + ".css".len());
        assert_ne!(a, fingerprint("app.css", b"body { color: red }"));
        assert_eq!(a, fingerprint("app.css", b"body {}"));
        assert!(fingerprint("htmx-2.0.11.min.js", b"x").starts_with("htmx-2.0.11.min."));
    }
}
