//! The logged-in user, loaded once per request by [`session_layer`], and the flash message.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};

use super::csrf;
use super::sessions::{FLASH_COOKIE, SESSION_COOKIE, cookie, read_cookie, sha256};
use crate::domain::tenancy::{Access, Role, Scope};
use crate::error::AppError;
use crate::state::AppState;
use crate::store;

/// An admin logged in as one of its customers.
#[derive(Debug, Clone)]
pub struct Impersonation {
    pub customer_id: i64,
    pub reseller_id: i64,
    pub customer_name: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub reseller_id: Option<i64>,
    pub customer_id: Option<i64>,
    /// May look at everything its scope holds and change nothing (but its own password and
    /// second factor).
    pub read_only: bool,
    /// `Some` for an admin its owner limited to chosen customers.
    pub granted_customers: Option<Vec<i64>>,
    pub two_factor_enabled: bool,
    /// The reseller requires a second factor of its staff.
    pub two_factor_required: bool,
    /// Logged in with a one-time password: must choose its own before anything else.
    pub must_change_password: bool,
    pub csrf_token: String,
    pub session_hash: Vec<u8>,
    pub impersonating: Option<Impersonation>,
}

impl CurrentUser {
    /// What the user may see right now: while logged in as a customer, that customer only.
    pub fn scope(&self) -> Scope {
        if let Some(imp) = &self.impersonating {
            return Scope::Customer {
                reseller_id: imp.reseller_id,
                customer_id: imp.customer_id,
            };
        }
        match (self.role, self.reseller_id, self.customer_id) {
            (Role::Customer, Some(reseller_id), Some(customer_id)) => Scope::Customer {
                reseller_id,
                customer_id,
            },
            (Role::ResellerOwner | Role::ResellerAdmin, Some(reseller_id), _) => Scope::Reseller { reseller_id },
            (Role::Operator, _, _) => Scope::Operator,
            // The database's CHECK constraint rules this out; fall back to the narrowest scope.
            (_, reseller_id, customer_id) => Scope::Customer {
                reseller_id: reseller_id.unwrap_or(-1),
                customer_id: customer_id.unwrap_or(-1),
            },
        }
    }

    /// The scope with the limits of this user's account, for every transaction on tenant data.
    pub fn access(&self) -> Access {
        let limited = self.impersonating.is_none() && self.role == Role::ResellerAdmin;
        Access {
            scope: self.scope(),
            customers: if limited { self.granted_customers.clone() } else { None },
            read_only: self.read_only && self.role == Role::ResellerAdmin,
        }
    }

    /// Refuses an admin limited to chosen customers: a customer it created would be one it may
    /// not see, so only the owner (or an unlimited admin) creates customers.
    pub fn require_unlimited(&self) -> Result<(), AppError> {
        if self.access().customers.is_some() {
            Err(AppError::Refused {
                code: "limited_to_chosen_customers",
                message: "Your access is limited to customers your reseller's owner chose, so you cannot \
                          create new ones. Ask the owner to create it or to widen your access."
                    .into(),
            })
        } else {
            Ok(())
        }
    }

    /// Staff who must enrol a second factor before anything else (their reseller requires it).
    pub fn must_enrol_two_factor(&self) -> bool {
        self.two_factor_required && !self.two_factor_enabled
    }

    /// The role whose rights apply: an impersonating admin has the customer user's rights, no more.
    pub fn effective_role(&self) -> Role {
        if self.impersonating.is_some() {
            Role::Customer
        } else {
            self.role
        }
    }

    /// Refuses unless the effective role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.effective_role()) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.username
        } else {
            &self.display_name
        }
    }
}

/// What [`session_layer`] found: a user or nobody.
#[derive(Debug, Clone)]
struct Authenticated(Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authenticated>() {
            Some(Authenticated(Some(user))) => Ok(user.clone()),
            _ => {
                let next = (parts.method == Method::GET).then(|| parts.uri.to_string());
                Err(AppError::Unauthenticated { next })
            }
        }
    }
}

/// The user if logged in, for pages anyone may see (the login page).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeUser {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(
            parts.extensions.get::<Authenticated>().and_then(|a| a.0.clone()),
        ))
    }
}

/// A one-time message shown on the next page, carried in a short-lived cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
}

impl FlashKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FlashKind::Success => "success",
            FlashKind::Error => "error",
        }
    }
}

impl Flash {
    pub fn success(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Success,
            message: message.into(),
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Flash {
            kind: FlashKind::Error,
            message: message.into(),
        }
    }

    pub fn set_cookie(&self) -> String {
        let value = format!("{}:{}", self.kind.as_str(), self.message);
        cookie(FLASH_COOKIE, &crate::error::urlencode(&value), Some(60), true, false)
    }

    fn parse(raw: &str) -> Option<Flash> {
        let decoded: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={raw}")).ok()?;
        let (kind, message) = decoded.first()?.1.split_once(':')?;
        let kind = match kind {
            "success" => FlashKind::Success,
            "error" => FlashKind::Error,
            _ => return None,
        };
        Some(Flash {
            kind,
            message: message.chars().take(500).collect(),
        })
    }
}

/// The flash message of this request, if any.
#[derive(Debug, Clone, Default)]
pub struct FlashMessage(pub Option<Flash>);

impl<S: Send + Sync> FromRequestParts<S> for FlashMessage {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts.extensions.get::<FlashMessage>().cloned().unwrap_or_default())
    }
}

/// Loads the session named by the cookie (one statement, see [`load_user`]), checks the CSRF token of
/// state-changing requests, and hands the user and flash message to the handlers.
pub async fn session_layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path.starts_with("/static/") || path == "/healthz" || path.starts_with("/api/") {
        return next.run(request).await;
    }
    let cookies = request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");

    let page = matches!(*request.method(), Method::GET | Method::HEAD);
    let (user, page_tx) = match read_cookie(&cookies, SESSION_COOKIE) {
        Some(token) if !token.is_empty() => match load_user(&state, token, page).await {
            Ok(found) => found,
            Err(error) => return error.into_response(),
        },
        _ => (None, None),
    };

    let flash = read_cookie(&cookies, FLASH_COOKIE).and_then(Flash::parse);
    let had_flash_cookie = read_cookie(&cookies, FLASH_COOKIE).is_some();

    if is_state_changing(request.method()) {
        let expected = match &user {
            Some(user) => Some(user.csrf_token.clone()),
            None => read_cookie(&cookies, super::sessions::LOGIN_CSRF_COOKIE).map(str::to_string),
        };
        request = match csrf::verify(request, expected.as_deref()).await {
            Ok(request) => request,
            Err(error) => return error.into_response(),
        };
    }

    if let Some(response) = user.as_ref().and_then(|user| first_things_first(user, &request)) {
        end_page_tx(page_tx.as_ref()).await;
        return response;
    }

    request.extensions_mut().insert(Authenticated(user));
    request.extensions_mut().insert(FlashMessage(flash));
    let mut response = match &page_tx {
        Some(page_tx) => page_tx.run(next.run(request)).await,
        None => next.run(request).await,
    };
    end_page_tx(page_tx.as_ref()).await;
    let sets_flash = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.as_bytes().starts_with(FLASH_COOKIE.as_bytes()));
    if had_flash_cookie
        && !sets_flash
        && let Ok(clear) = HeaderValue::from_str(&cookie(FLASH_COOKIE, "", Some(0), true, false))
    {
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    response
}

/// What the user must do before the page it asked for, or why it may not: the answer instead of
/// the page.
fn first_things_first(user: &CurrentUser, request: &Request) -> Option<Response> {
    let path = request.uri().path();
    if user.must_change_password && user.impersonating.is_none() && !matches!(path, PASSWORD_PATH | "/logout") {
        return Some(first_go_to(
            PASSWORD_PATH,
            "You logged in with a one-time password: choose your own to continue.",
        ));
    }
    if user.must_enrol_two_factor() && !enrolment_path(path) {
        return Some(first_go_to(
            ENROL_PATH,
            "Your reseller requires two-factor authentication: set it up to continue.",
        ));
    }
    if user.access().read_only && is_state_changing(request.method()) && !own_account_path(path) {
        return Some(AppError::ReadOnly.into_response());
    }
    None
}

/// Ends the page's transaction if the page did not take it, keeping the session's activity stamp
/// if the lookup wrote one. Losing that stamp is no reason to fail an answer already made.
async fn end_page_tx(page_tx: Option<&store::PageTx>) {
    if let Some(page_tx) = page_tx
        && let Err(error) = page_tx.finish().await
    {
        tracing::warn!(%error, "could not commit the session lookup of a page");
    }
}

/// A redirect to what the user must do before anything else, saying why.
fn first_go_to(path: &str, why: &str) -> Response {
    let mut response = axum::response::Redirect::to(path).into_response();
    if let Ok(value) = HeaderValue::from_str(&Flash::error(why).set_cookie()) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Where a user who logged in with a one-time password must go before anything else.
pub const PASSWORD_PATH: &str = "/account/password";

/// Where a user whose reseller requires a second factor must go before anything else.
pub const ENROL_PATH: &str = "/account/two-factor";

fn enrolment_path(path: &str) -> bool {
    path == "/logout" || path.starts_with(ENROL_PATH)
}

/// What a read-only account may still change: its own session, password and second factor.
fn own_account_path(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/login/two-factor" | "/logout" | "/account/password" | "/impersonation/end"
    ) || path.starts_with(ENROL_PATH)
}

fn is_state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The session's user, and for a page (GET or HEAD) the transaction the lookup ran in, left open
/// with the user's scope for the page's own queries ([`store::PageTx`]).
async fn load_user(
    state: &AppState,
    token: &str,
    page: bool,
) -> Result<(Option<CurrentUser>, Option<store::PageTx>), AppError> {
    let now = state.clock().now();
    let hash = sha256(token);
    let idle = Duration::minutes(state.web().session_idle_minutes);
    let (opened, page_tx) = if page {
        let mut tx = store::begin(state.db()).await?;
        let opened = store::sessions::open(&mut tx, &hash, now, idle).await?;
        (opened, Some(tx))
    } else {
        let mut conn = state.db().acquire().await?;
        (store::sessions::open(&mut conn, &hash, now, idle).await?, None)
    };
    let Some(opened) = opened else {
        return Ok((None, None));
    };
    let settings = store::Settings {
        scope: opened.scope_kind,
        reseller_id: opened.scope_reseller_id,
        customer_id: opened.scope_customer_id,
        customer_ids: opened.scope_customer_ids,
    };
    let activity_recorded = opened.activity_recorded;
    let row = opened.session;
    let mut page_tx = page_tx.map(|tx| store::PageTx::new(tx, settings, activity_recorded));
    if row.impersonation_expires_at.is_some_and(|at| at <= now) {
        // Ending it writes an audit entry in a transaction of its own: let the lookup's go first
        // rather than hold two connections.
        if let Some(tx) = page_tx.take() {
            tx.finish().await?;
        }
        let name = if row.display_name.is_empty() {
            &row.username
        } else {
            &row.display_name
        };
        let actor = super::impersonation::Actor {
            user_id: row.user_id,
            name,
        };
        super::impersonation::end(state.db(), &hash, actor, super::impersonation::EndedBy::TimeLimit, now).await?;
    }
    let Some(role) = Role::parse(&row.role) else {
        return Ok((None, None));
    };
    let impersonating = match (
        row.impersonated_customer_id,
        row.impersonated_reseller_id,
        row.impersonated_customer_name,
        row.impersonation_expires_at,
    ) {
        (Some(customer_id), Some(reseller_id), Some(customer_name), Some(expires_at)) if expires_at > now => {
            Some(Impersonation {
                customer_id,
                reseller_id,
                customer_name,
                expires_at,
            })
        }
        _ => None,
    };
    let user = CurrentUser {
        id: row.user_id,
        username: row.username,
        display_name: row.display_name,
        role,
        reseller_id: row.reseller_id,
        customer_id: row.customer_id,
        read_only: row.read_only,
        granted_customers: row.granted_customers,
        two_factor_enabled: row.two_factor_enabled,
        two_factor_required: row.two_factor_required,
        must_change_password: row.must_change_password,
        csrf_token: row.csrf_token,
        session_hash: hash,
        impersonating,
    };
    Ok((Some(user), page_tx))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flash_messages_survive_their_cookie_round_trip() {
        let flash = Flash::success("Customer «Contoso» saved; 3 clients kept.");
        let set = flash.set_cookie();
        let value = set
            .split(';')
            .next()
            .and_then(|kv| kv.split_once('='))
            .map(|(_, v)| v)
            .unwrap_or_default();
        assert_eq!(Flash::parse(value), Some(flash));
    }

    #[test]
    fn forged_flash_kinds_are_ignored() {
        assert_eq!(Flash::parse("warning%3Ahello"), None);
        assert_eq!(Flash::parse("garbage"), None);
    }
}
