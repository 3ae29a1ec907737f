//! `POST /api/v1/register`: an agent registers its client under a customer with the customer's pass
//! key and gets a client token for its reports.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiJson, ErrorResponse, client_disabled, refused, unauthorized};
use crate::auth::sessions::{constant_time_eq, random_token, sha256_hex};
use crate::domain::licensing::{ClientRefusal, McalRefusal, check_new_client, mcal_pool_free};
use crate::domain::tenancy::Scope;
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::store;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// The customer's name as the admin created it. Leave it out (or empty) for an agent that
    /// belongs to no customer: it registers under the default customer.
    #[serde(default)]
    #[schema(max_length = 120, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub customer: Option<String>,
    /// The customer's pass key (not needed for the default customer).
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub pass_key: Option<String>,
    /// The client's id, unique within the customer; the same id registers the same client again.
    #[schema(
        min_length = 1,
        max_length = 120,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub client_id: String,
    #[serde(default)]
    #[schema(max_length = 253, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub hostname: String,
    #[serde(default)]
    #[schema(max_length = 120, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub os: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterResponse {
    /// Send it as `Authorization: Bearer <client_token>` with every report. Shown once; a new
    /// registration of the same client replaces it.
    pub client_token: String,
    pub customer: String,
    pub client_id: String,
    /// True when the client was created now, false when it existed already.
    pub created: bool,
    /// True when the agent named no customer and landed under the default customer.
    pub default_customer: bool,
}

fn check_text(field: &str, value: &str, max: usize, required: bool) -> Result<(), ApiError> {
    if required && super::is_blank(value) {
        return Err(ApiError(AppError::BadRequest(format!("`{field}` must not be empty."))));
    }
    if value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(ApiError(AppError::BadRequest(format!(
            "`{field}` must be at most {max} characters, without control characters."
        ))));
    }
    Ok(())
}

/// Register a client
#[utoipa::path(
    post,
    path = "/api/v1/register",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "The client was created by auto-authorization", body = RegisterResponse),
        (status = 200, description = "The client existed (added by an admin or registered before); it has a new token", body = RegisterResponse),
        (status = 400, description = "Malformed request: `bad_request`", body = ErrorResponse),
        (status = 401, description = "`invalid_credentials`: unknown customer or wrong pass key (the same answer for both)", body = ErrorResponse),
        (status = 403, description = "Refused by a rule: `customer_deactivated`, `customer_scheduled_for_deletion`, \
            `client_disabled` (an admin disabled this client), `client_not_authorized` (auto-authorization is off and no admin added this client), `mcal_allotment_used_up`, \
            `mcal_pool_used_up`, `max_clients_reached`, `space_quota_exceeded`", body = ErrorResponse),
        (status = 413, description = "`payload_too_large`", body = ErrorResponse),
        (status = 429, description = "`rate_limited`; see Retry-After", body = ErrorResponse),
    )
)]
pub async fn register_client(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
) -> Result<Response, ApiError> {
    let customer_name = request
        .customer
        .as_deref()
        .map(|n| n.trim_matches(' '))
        .filter(|n| !n.is_empty());
    check_text("customer", customer_name.unwrap_or_default(), 120, false)?;
    check_text("client_id", &request.client_id, 120, true)?;
    check_text("hostname", &request.hostname, 253, false)?;
    check_text("os", &request.os, 120, false)?;
    check_text("pass_key", request.pass_key.as_deref().unwrap_or_default(), 200, false)?;
    let now = state.clock().now();
    let limit_key = format!("register:{}", customer_name.unwrap_or_default().to_lowercase());
    state.limiter().check(&limit_key, now)?;

    let bad_credentials = || unauthorized("invalid_credentials", "The customer name and pass key do not match.");
    let customer = store::agents::find_customer(state.db(), customer_name).await?;
    let customer = match (customer, customer_name) {
        (Some(customer), None) => customer,
        (Some(customer), Some(_)) => {
            let sent = sha256_hex(request.pass_key.as_deref().unwrap_or_default());
            if customer.pass_key_hash.is_empty() || !constant_time_eq(&sent, &customer.pass_key_hash) {
                return Err(bad_credentials());
            }
            customer
        }
        (None, _) => {
            // Spend the same work as a real comparison, so timing does not reveal names.
            let _ = constant_time_eq(
                &sha256_hex(request.pass_key.as_deref().unwrap_or_default()),
                &"0".repeat(64),
            );
            return Err(bad_credentials());
        }
    };

    let scope = Scope::Customer {
        reseller_id: customer.reseller_id,
        customer_id: customer.id,
    };
    let mut tx = store::scoped(state.db(), &scope).await?;
    let gate = store::agents::customer_gate(&mut tx, customer.id).await?;
    if gate.lifecycle != "active" {
        return Err(refused(
            "customer_scheduled_for_deletion",
            "The customer is scheduled for deletion; it accepts no clients.",
        ));
    }
    if !gate.activated {
        return Err(refused(
            "customer_deactivated",
            "The customer is deactivated; its clients may not back up.",
        ));
    }
    let client_key = request.client_id.trim_matches(' ');
    let token = random_token();
    let token_hash = sha256_hex(&token);
    let registration = store::agents::Registration {
        reseller_id: customer.reseller_id,
        customer_id: customer.id,
        client_key,
        hostname: request.hostname.trim_matches(' '),
        os: request.os.trim_matches(' '),
        token_hash: &token_hash,
        now,
    };
    let created = match store::agents::existing_client(&mut tx, customer.id, client_key).await? {
        Some((_, true)) => return Err(client_disabled()),
        Some((client_id, false)) => {
            store::agents::refresh_client(&mut tx, client_id, &registration).await?;
            false
        }
        None => {
            if !gate.auto_authorize {
                return Err(refused(
                    "client_not_authorized",
                    "Automatic authorization is off for this customer and no admin has added this client.",
                ));
            }
            if gate
                .space_quota_bytes
                .is_some_and(|quota| gate.used_space_bytes >= quota)
            {
                return Err(refused(
                    "space_quota_exceeded",
                    "The customer's backup space quota is used up.",
                ));
            }
            let pool = store::clients::lock_pool(&mut tx, customer.reseller_id).await?;
            let verdict = check_new_client(
                gate.max_clients.map(i64::from),
                gate.clients,
                gate.mcals_allotted.map(i64::from),
                mcal_pool_free(i64::from(pool.mcal_pool), pool.drawing_from_pool),
            );
            if let Err(refusal) = verdict {
                let code = match refusal {
                    ClientRefusal::MaxClients => "max_clients_reached",
                    ClientRefusal::Mcal(McalRefusal::AllotmentUsedUp) => "mcal_allotment_used_up",
                    ClientRefusal::Mcal(McalRefusal::PoolUsedUp) => "mcal_pool_used_up",
                };
                return Err(refused(code, refusal.to_string()));
            }
            store::agents::create_client(&mut tx, &registration).await?;
            true
        }
    };
    tx.commit().await?;
    tracing::info!(customer_id = customer.id, created, "agent registered");
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let body = RegisterResponse {
        client_token: token,
        customer: gate.name,
        client_id: client_key.to_string(),
        created,
        default_customer: customer.is_default,
    };
    Ok((status, Json(body)).into_response())
}
