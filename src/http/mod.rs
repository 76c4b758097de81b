//! The HTTP API: one module per resource, each an [`OpenApiRouter`] so routes and their OpenAPI
//! description are built together.

pub mod access;
pub mod answers;
mod chain;
mod clob;
mod config;
pub mod error;
pub mod extract;
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

use crate::http::error::ErrorBody;
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
            let refused =
                access::refusal(request.headers(), authority, state.plain_http(), state.cors_origins(), || {
                    state.config()
                });
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
    .with_code("TIMEOUT")
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
    document_shared_answers(&mut api);
    list_per_connector(&mut api);
    (router, api)
}

/// Answers any operation may give besides its own, from what every route shares: the route middleware
/// ([`around`]: Host and Origin checks, the request timeout, Idempotency-Key, panics), the extractors (bad
/// input, body size) and the nodes (for operations that name a network). Each is described once under
/// `components/responses` and referred to from every operation it applies to, so a client generated from the
/// spec, or a fuzzer checking answers against it, knows them all.
fn document_shared_answers(api: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
    use utoipa::openapi::{ContentBuilder, ObjectBuilder, Ref, RefOr, Required, ResponseBuilder, Schema, Type};
    /// (status, component name, description, applies to)
    type Shared = (&'static str, &'static str, &'static str, fn(&Facts) -> bool);
    struct Facts {
        changes: bool,
        takes_input: bool,
        names_network: bool,
    }
    const SHARED: [Shared; 9] = [
        ("400", "InvalidInput", "Invalid input; the message names the field", |f| f.takes_input || f.changes),
        (
            "403",
            "Refused",
            "A Host name or web page origin this gateway does not answer (server.yml allowedHosts, corsOrigins)",
            |_| true,
        ),
        (
            "409",
            "IdempotencyKeyInUse",
            "The first request with this Idempotency-Key has not finished; the message says what it sent so far",
            |f| f.changes,
        ),
        ("413", "TooLarge", "The request body is too large", |f| f.changes),
        ("422", "IdempotencyKeyReused", "This Idempotency-Key was used for another request", |f| f.changes),
        ("500", "Fault", "A fault of the gateway's own; its log has the details", |_| true),
        ("502", "NodeError", "The network's node refused a call", |f| f.names_network),
        (
            "503",
            "NodeUnreachable",
            "The network's nodes are unreachable; the message names the setting to check",
            |f| f.names_network,
        ),
        ("504", "TimedOut", "No answer within server.requestTimeoutSeconds, most likely a slow node", |_| true),
    ];
    let components = api.components.get_or_insert_with(Default::default);
    for (_, name, description, _) in SHARED {
        let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        let response = ResponseBuilder::new().description(description).content("application/json", body).build();
        components.responses.insert(name.to_string(), RefOr::T(response));
    }
    let schemas = &components.schemas;
    /// Whether a body schema (a reference, an object, or an `allOf` of them) has a property so named.
    fn has_property(
        schemas: &std::collections::BTreeMap<String, RefOr<Schema>>,
        schema: &RefOr<Schema>,
        named: &dyn Fn(&str) -> bool,
        depth: usize,
    ) -> bool {
        let resolved = match schema {
            RefOr::Ref(reference) if depth < 4 => {
                schemas.get(reference.ref_location.rsplit('/').next().unwrap_or_default())
            }
            RefOr::Ref(_) => None,
            RefOr::T(_) => Some(schema),
        };
        match resolved {
            Some(RefOr::T(Schema::Object(object))) => object.properties.keys().any(|key| named(key)),
            Some(RefOr::T(Schema::AllOf(all))) => {
                all.items.iter().any(|part| has_property(schemas, part, named, depth + 1))
            }
            Some(RefOr::Ref(reference)) => has_property(schemas, &RefOr::Ref(reference.clone()), named, depth + 1),
            _ => false,
        }
    }
    let names_network = |operation: &Operation| {
        let named = |name: &str| matches!(name, "network" | "chainNetwork");
        let in_parameters =
            operation.parameters.iter().flatten().any(|p| matches!(p, RefOr::T(parameter) if named(&parameter.name)));
        let body_schema = match &operation.request_body {
            Some(RefOr::T(body)) => match body.content.get("application/json") {
                Some(RefOr::T(content)) => content.schema.as_ref(),
                _ => None,
            },
            _ => None,
        };
        let in_body = body_schema.is_some_and(|schema| has_property(schemas, schema, &named, 0));
        in_parameters || in_body
    };
    let idempotency_key = ParameterBuilder::new()
        .name(idempotency::HEADER.as_str())
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "1 to 255 visible characters without spaces, e.g. a UUID: a retry with the same key is answered with \
             the first answer and sends nothing",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(255))
                .pattern(Some("^[!-~]+$")),
        ))
        .build();
    let mut facts = Vec::new();
    for (path, item) in &api.paths.paths {
        for (method, operation) in
            [(HttpMethod::Get, &item.get), (HttpMethod::Post, &item.post), (HttpMethod::Delete, &item.delete)]
        {
            let Some(operation) = operation else { continue };
            let takes_input =
                operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) || operation.request_body.is_some();
            let changes = method != HttpMethod::Get;
            // The config routes read and write files; a network named there is a file's name, not a node to call.
            let names_network = !path.starts_with("/config") && names_network(operation);
            facts.push((path.clone(), method, Facts { changes, takes_input, names_network }));
        }
    }
    for (path, method, facts) in facts {
        let item = api.paths.paths.get_mut(&path).expect("listed above");
        let operation = match method {
            HttpMethod::Get => &mut item.get,
            HttpMethod::Post => &mut item.post,
            _ => &mut item.delete,
        };
        let operation = operation.as_mut().expect("listed above");
        // OpenAPI requires every response to be described; an operation's own may leave it to its status.
        for (status, response) in &mut operation.responses.responses {
            if let RefOr::T(response) = response
                && response.description.is_empty()
            {
                let reason = status.parse().ok().and_then(|code| axum::http::StatusCode::from_u16(code).ok());
                response.description = reason.and_then(|code| code.canonical_reason()).unwrap_or("Answer").into();
            }
        }
        for (status, name, _, applies) in SHARED {
            if applies(&facts) {
                let shared = RefOr::Ref(Ref::new(format!("#/components/responses/{name}")));
                operation.responses.responses.entry(status.to_string()).or_insert(shared);
            }
        }
        if facts.changes {
            operation.parameters.get_or_insert_with(Vec::new).push(RefOr::T(idempotency_key.clone()));
        }
    }
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
