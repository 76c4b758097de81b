use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::http::error::{ApiResult, ErrorBody};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health)).routes(routes!(restart)).routes(routes!(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Message {
    #[schema(example = "configuration reloaded from ./conf")]
    message: String,
}

/// Health check: answers `{"status": "ok"}` while the gateway is serving.
#[utoipa::path(get, path = "/", tag = "system", responses((status = 200, body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Reloads every config file from the conf dir. The gateway keeps running; nothing is lost.
#[utoipa::path(post, path = "/restart", tag = "system", responses(
    (status = 200, body = Message),
    (status = 500, description = "A config file is unreadable or invalid", body = ErrorBody),
))]
async fn restart(State(state): State<AppState>) -> ApiResult<axum::Json<Message>> {
    state.reload_config().await?;
    tracing::info!("configuration reloaded");
    Ok(axum::Json(Message { message: format!("configuration reloaded from {}", state.conf_dir().display()) }))
}

/// Prometheus metrics: requests and latency per route, RPC calls and errors per network, transactions by
/// outcome, quote cache hits and misses, nonce-lock waits.
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
))]
async fn metrics() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::handle().render())
}
