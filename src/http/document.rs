//! Answers any operation may give besides its own, from what every route shares: the route middleware
//! ([`super::around`]: Host and Origin checks, the request timeout, Idempotency-Key, panics), the extractors (bad
//! input, body size) and the nodes (for operations that name a network). Each is described once under
//! `components/responses` and referred to from every operation it applies to, so a client generated from the
//! spec, or a fuzzer checking answers against it, knows them all.

use std::collections::BTreeMap;

use utoipa::openapi::path::{HttpMethod, Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ContentBuilder, ObjectBuilder, OpenApi, Ref, RefOr, Required, ResponseBuilder, Schema, Type};

use super::idempotency;

/// What decides which shared answers an operation may give.
struct Facts {
    changes: bool,
    takes_input: bool,
    names_network: bool,
}

/// (status, component name, description, applies to)
type Shared = (&'static str, &'static str, &'static str, fn(&Facts) -> bool);

const SHARED: [Shared; 10] = [
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
    (
        "429",
        "RateLimited",
        "RATE_LIMITED: the network's nodes refuse for too many requests, still after the reads were retried; nothing \
         was sent, retry after a delay",
        |f| f.names_network,
    ),
    ("500", "Fault", "A fault of the gateway's own; its log has the details", |_| true),
    ("502", "NodeError", "The network's node refused a call", |f| f.names_network),
    ("503", "NodeUnreachable", "The network's nodes are unreachable; the message names the setting to check", |f| {
        f.names_network
    }),
    (
        "504",
        "TimedOut",
        "TIMEOUT: no answer within server.requestTimeoutSeconds and nothing signed; or TRANSACTION_TIMEOUT: a \
         transaction sent is not mined within transactionExecutionTimeoutMs, its hash in the message: poll it",
        |_| true,
    ),
];

/// Describes the shared answers once, and refers every operation to those it may give.
pub fn document_shared_answers(api: &mut OpenApi) {
    let components = api.components.get_or_insert_with(Default::default);
    for (_, name, description, _) in SHARED {
        let body = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        let response = ResponseBuilder::new().description(description).content("application/json", body).build();
        components.responses.insert(name.to_string(), RefOr::T(response));
    }
    let idempotency_key = idempotency_key();
    for (path, method, facts) in operation_facts(api) {
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

/// Each operation (path, method) with what decides its shared answers.
fn operation_facts(api: &OpenApi) -> Vec<(String, HttpMethod, Facts)> {
    let schemas = &api.components.as_ref().expect("described above").schemas;
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
            let names_network = !path.starts_with("/config") && names_network(schemas, operation);
            facts.push((path.clone(), method, Facts { changes, takes_input, names_network }));
        }
    }
    facts
}

/// Whether an operation names a network, in its parameters or its body: it calls that network's nodes.
fn names_network(schemas: &BTreeMap<String, RefOr<Schema>>, operation: &Operation) -> bool {
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
}

/// Whether a body schema (a reference, an object, or an `allOf` of them) has a property so named.
fn has_property(
    schemas: &BTreeMap<String, RefOr<Schema>>,
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

/// The Idempotency-Key header every operation that changes something takes.
fn idempotency_key() -> Parameter {
    ParameterBuilder::new()
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
        .build()
}

/// The older forms served beside Gateway v2.17's, and what replaces each: marked deprecated in the document.
const SUPERSEDED: [(&str, &str); 4] = [
    ("/connectors/", "Gateway v2's per-connector routes: use /trading/{amm,clmm,router}/… with `connector`"),
    ("/trading/swap/", "Gateway v2.13's unified swap routes: use /trading/router/{quote-swap,execute-swap}"),
    ("/trading/clmm/quote-position", "use /trading/clmm/quote-liquidity"),
    ("/wallet/send", "removed from Gateway in v2.15.1; served here only with server.yml walletSend: true"),
];

/// Marks the operations of the older route forms deprecated, saying what replaces them.
pub fn mark_superseded(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let Some((_, instead)) = SUPERSEDED.iter().find(|(prefix, _)| path.starts_with(prefix)) else { continue };
        for operation in [&mut item.get, &mut item.post, &mut item.delete].into_iter().flatten() {
            operation.deprecated = Some(utoipa::openapi::Deprecated::True);
            let summary = operation.summary.get_or_insert_with(String::new);
            summary.push_str(&format!(" Deprecated: {instead}."));
        }
    }
}
