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
    #[schema(example = "configuration reloaded")]
    message: String,
}

/// Health check: answers `{"status": "ok"}` while the gateway is serving.
#[utoipa::path(get, path = "/", tag = "system", responses((status = 200, body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Reloads every config file from the conf dir; the gateway keeps running and nothing is lost. Settings read only
/// at start (`port`, `certificatePath`, `databaseMaxConnections`, `corsOrigins`) that changed are named; in a
/// container the gateway then exits (code 0) once the requests in flight are answered, and its restart policy
/// starts it again with them, as Gateway's `/restart` does.
#[utoipa::path(post, path = "/restart", tag = "system", responses(
    (status = 200, body = Message),
    (status = 500, description = "A config file is unreadable or invalid", body = ErrorBody),
))]
async fn restart(State(state): State<AppState>) -> ApiResult<axum::Json<Message>> {
    let waiting = state.reload_config().await?;
    tracing::info!("configuration reloaded");
    let message = match (waiting.is_empty(), state.exits_to_restart()) {
        (true, _) => "configuration reloaded".to_string(),
        (false, true) => {
            tracing::info!(settings = %waiting.join(", "), "exiting for the container to restart with new settings");
            state.request_exit();
            format!(
                "configuration reloaded; {} apply at start: the gateway exits once the requests in flight are \
                 answered, and its container's restart policy starts it again",
                waiting.join(", ")
            )
        }
        (false, false) => {
            format!(
                "configuration reloaded; {} apply at the next start: restart the gateway for them",
                waiting.join(", ")
            )
        }
    };
    Ok(axum::Json(Message { message }))
}

/// Prometheus metrics: requests and latency per route, RPC calls and errors per network, transactions by
/// outcome, quote cache hits and misses, nonce-lock waits.
#[utoipa::path(get, path = "/metrics", tag = "system", responses(
    (status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String),
))]
async fn metrics() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::metrics::handle().render())
}
