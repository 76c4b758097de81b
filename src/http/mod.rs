//! The HTTP API: one module per resource, each an [`OpenApiRouter`] so routes and their OpenAPI
//! description are built together.

pub mod access;
pub mod answers;
mod chain;
mod clob;
mod config;
mod document;
pub mod error;
pub mod extract;
pub mod guard;
pub mod idempotency;
mod pools;
mod system;
mod tokens;
mod trading;
mod wallet;

use axum::http::Method;
use chains::tx::commitment::{Commitment, WithdrawOnDrop};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::http::error::{ErrorBody, ErrorCode};
use crate::state::AppState;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gateway",
        description = "A self-hosted gateway between trading clients (Hummingbot first) and EVM chains: balances, \
                       swaps, liquidity and orders through one REST API, compatible with Hummingbot Gateway.\n\n\
                       Every POST or DELETE accepts an `Idempotency-Key` header (1 to 255 characters, e.g. a UUID): \
                       sent again with the same key within 24 hours, the same request is answered with the first \
                       answer (header `Idempotent-Replayed: true`) and sends nothing; while the first is still being \
                       served the retry waits for it, up to 30 s, then answers 409 with what it sent so far. A key \
                       reused for another request is refused with 422.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "system", description = "Health and restart"),
        (name = "config", description = "Read and change the YAML configuration"),
        (name = "wallet", description = "Wallets the gateway signs with, kept encrypted under the passphrase"),
        (name = "tokens", description = "Token lists per network"),
        (name = "chains/ethereum", description = "Balances, allowances, approvals, wrapping, gas and transaction status"),
        (name = "pools", description = "Pool lists per connector and network, and discovery on-chain"),
        (name = "trading", description = "Swaps and liquidity, unified: connector and chainNetwork as parameters (Hummingbot's client)"),
        (name = "clob", description = "Limit orders on order-book venues (0x v4 on the zeroex connector), in the shape of Gateway v1's CLOB API"),
    ),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

/// Every route with its description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(system::router())
        .merge(config::router())
        .merge(wallet::router())
        .merge(tokens::router())
        .merge(chain::router())
        .merge(trading::router())
        .merge(pools::router())
        .merge(clob::router())
}

/// What every matched route goes through, in one middleware (each layer over the routes costs every quote a
/// boxed call): its metrics, who may call (Host and Origin), how long it may take, and the Idempotency-Key of a
/// request that carries one.
pub async fn around(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    crate::metrics::track(request, |request| {
        unwinding(async move {
            let authority = request.uri().authority().map(|authority| authority.as_str());
            let refused = access::refusal(
                request.headers(),
                authority,
                state.plain_http(),
                state.own_names(),
                state.cors_origins(),
                || state.config(),
            );
            if let Some(refused) = refused {
                return refused.into_response();
            }
            let limit = state.request_timeout();
            if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
                return match tokio::time::timeout(limit, next.run(request)).await {
                    Ok(response) => response,
                    Err(_) => timed_out(limit).into_response(),
                };
            }
            // Every role may read, so only a change is checked against the caller's role.
            if let Some(refused) = guard::beyond_role(&request) {
                return refused;
            }
            let commitment = Commitment::counted_in(state.committed_requests());
            let _withdraw = WithdrawOnDrop(commitment.clone());
            let serving = commitment.clone().scope(idempotency::guard(state, request, next, commitment.clone()));
            tokio::pin!(serving);
            match tokio::time::timeout(limit, &mut serving).await {
                Ok(response) => response,
                // It sent a transaction: its client needs the answer, with the hash, more than an answer in time
                // (and the wait is bounded by the network's transaction timeout).
                Err(_) if !commitment.withdraw() => serving.await,
                Err(_) => timed_out(limit).into_response(),
            }
        })
    })
    .await
}

/// What a request that ran out of time before sending anything is answered; it was withdrawn, so nothing is
/// signed for it afterwards.
fn timed_out(limit: std::time::Duration) -> crate::http::error::ApiError {
    crate::http::error::ApiError::new(
        axum::http::StatusCode::GATEWAY_TIMEOUT,
        format!(
            "no answer within {} s (server.requestTimeoutSeconds), most likely a slow or unreachable node; nothing \
             was signed for this request",
            limit.as_secs()
        ),
    )
    .with_code(ErrorCode::Timeout)
}

/// A panic while answering is a bug: answered as a logged 500 (the panic's message in the log, not the answer),
/// never a dropped connection.
pub(crate) async fn unwinding(
    serve: impl std::future::Future<Output = axum::response::Response>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(serve).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            crate::http::error::ApiError::internal(format!("a handler panicked: {what}")).into_response()
        }
    }
}

/// The routes, and the OpenAPI document the server serves at `/openapi.json` and `gateway openapi` writes.
pub fn parts() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = router().split_for_parts();
    document::document_shared_answers(&mut api);
    list_per_connector(&mut api);
    document::mark_superseded(&mut api);
    (router, api)
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    parts().1
}

/// The router serves `/connectors/{connector}/…` as one pattern, so forks described in the conf dir work too;
/// the document lists those operations once per built-in connector, each under its own tag, as Hummingbot
/// Gateway's does, so Swagger UI shows `connectors/uniswap` and `connectors/pancakeswap` ready to try.
fn list_per_connector(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::RefOr;
    const PATTERN: &str = "{connector}";
    let names = connectors::dex::Registry::builtin().names();
    let paths = std::mem::take(&mut api.paths.paths);
    for (path, item) in paths {
        if !path.contains(PATTERN) {
            api.paths.paths.insert(path, item);
            continue;
        }
        for name in &names {
            let mut copy = item.clone();
            for operation in [&mut copy.get, &mut copy.post].into_iter().flatten() {
                operation.tags = Some(vec![format!("connectors/{name}")]);
                operation.operation_id = operation.operation_id.as_ref().map(|id| format!("{name}_{id}"));
                if let Some(parameters) = &mut operation.parameters {
                    parameters
                        .retain(|p| !matches!(p, RefOr::T(p) if p.name == "connector" || p.name == "chainNetwork"));
                }
            }
            api.paths.paths.insert(path.replace(PATTERN, name), copy);
        }
    }
    let tags = api.tags.get_or_insert_with(Vec::new);
    for name in &names {
        let mut tag = utoipa::openapi::tag::Tag::new(format!("connectors/{name}"));
        tag.description = Some(format!(
            "{name}'s swaps and liquidity, Gateway v2 style: /connectors/{name}/{{amm,clmm,router}}/…?network=…"
        ));
        tags.push(tag);
    }
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn a_panic_while_answering_is_a_500_with_the_error_body_and_no_detail() {
        let response = super::unwinding(async { std::panic::panic_any::<&str>("secret detail") }).await;
        assert_eq!(response.status(), axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 4096).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "INTERNAL");
        assert!(!body.to_string().contains("secret detail"), "{body}");
    }
}
