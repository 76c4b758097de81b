//! Prometheus metrics: HTTP requests by route, RPC calls and errors by network, transactions by outcome, the
//! quote cache's hits and misses, nonce-lock waits. Served as text at `/metrics`.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                30.0,
            ])
            .expect("bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (several gateways in one test process share the first).
        let _ = metrics::set_global_recorder(recorder);
        // Histogram samples pile up until drained; a scrape drains them, and so does this, so memory stays flat
        // when nobody scrapes.
        let upkeep = handle.clone();
        let _ = std::thread::Builder::new().name("metrics-upkeep".into()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        handle
    })
}

/// Counts each request `serve` answers and its latency under the route pattern it matched (not the raw path).
pub async fn track<F: Future<Output = Response>>(request: Request, serve: impl FnOnce(Request) -> F) -> Response {
    // A clone of the matched pattern is a reference count, where a copy of its text would be an allocation.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = serve(request).await;
    let (requests, duration) =
        route_handles(route.as_ref().map_or("unmatched", MatchedPath::as_str), &method, response.status().as_u16());
    requests.increment(1);
    duration.record(started.elapsed().as_secs_f64());
    crate::memory::answered();
    response
}

type RouteHandles = (metrics::Counter, metrics::Histogram);

static OTHER_METHOD: std::sync::LazyLock<Method> =
    std::sync::LazyLock::new(|| Method::from_bytes(b"OTHER").expect("a valid method token"));
type KnownHandles = HashMap<String, Vec<(Method, u16, RouteHandles)>>;

/// The counter and histogram of a route, method and status, registered once: the set is bounded by the routes,
/// and looking a handle up again costs less than building its labels on every request.
fn route_handles(route: &str, method: &Method, status: u16) -> RouteHandles {
    // Labels come from closed sets: a made-up method is "OTHER" (each new label value is a new series, kept for good).
    let method = match *method {
        Method::GET | Method::POST | Method::DELETE | Method::PUT | Method::PATCH | Method::HEAD | Method::OPTIONS => {
            method
        }
        _ => &OTHER_METHOD,
    };
    static KNOWN: LazyLock<RwLock<KnownHandles>> = LazyLock::new(Default::default);
    let find = |known: &KnownHandles| {
        known.get(route)?.iter().find(|(m, s, _)| m == method && *s == status).map(|(_, _, handles)| handles.clone())
    };
    if let Some(handles) = find(&KNOWN.read().expect("metric handles")) {
        return handles;
    }
    let (method_label, route_label) = (method.to_string(), route.to_string());
    let handles = (
        metrics::counter!("gateway_http_requests_total", "method" => method_label.clone(), "route" => route_label.clone(), "status" => status.to_string()),
        metrics::histogram!("gateway_http_request_duration_seconds", "method" => method_label, "route" => route_label),
    );
    let mut known = KNOWN.write().expect("metric handles");
    known.entry(route.to_string()).or_default().push((method.clone(), status, handles.clone()));
    handles
}
