//! Who may call, beyond the Host and Origin rules of `access`, as Gateway v2.16 has it (the settings:
//! `config::access`): with a key required every route but `GET /` needs `Authorization: Bearer <key>`, and a peer
//! that fails it `GATEWAY_AUTH_FAIL_MAX` times within `GATEWAY_AUTH_FAIL_WINDOW_MS` is refused for the rest of that
//! window; the API's pages (`/docs`, `/openapi.json`) are served to loopback peers only unless
//! `GATEWAY_ENABLE_DOCS=true`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;

use crate::config::access::{AccessSettings, ApiKey};
use crate::http::error::{ApiError, ErrorCode};

/// Peers remembered for failed attempts before expired ones are forgotten: a peer cycling addresses cannot grow
/// the table without end.
const REMEMBERED_PEERS: usize = 10_000;

/// The bearer check and its failure counts, one per gateway.
pub struct Guard {
    key: ApiKey,
    /// Peers remembered for failed attempts at most.
    remembered: usize,
    fail_max: u32,
    fail_window: Duration,
    failures: Mutex<HashMap<IpAddr, Failures>>,
}

struct Failures {
    since: Instant,
    count: u32,
}

impl Guard {
    pub fn new(key: ApiKey, settings: &AccessSettings) -> Guard {
        Guard {
            key,
            remembered: REMEMBERED_PEERS,
            fail_max: settings.fail_max,
            fail_window: settings.fail_window,
            failures: Mutex::default(),
        }
    }

    /// Lets `GET /` (the health check) through, and a request with the key from a peer not locked out.
    fn check(
        &self,
        peer: IpAddr,
        method: &Method,
        path: &str,
        authorization: Option<&HeaderValue>,
    ) -> Option<Response> {
        if path == "/" && matches!(*method, Method::GET | Method::HEAD) {
            return None;
        }
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("failures");
        let current = failures.get(&peer).filter(|seen| now.duration_since(seen.since) < self.fail_window);
        if current.is_some_and(|seen| seen.count >= self.fail_max) {
            return Some(locked_out(self.fail_window));
        }
        let offered = authorization
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim);
        if offered.is_some_and(|offered| self.key.admits(offered.as_bytes())) {
            return None;
        }
        if failures.len() >= self.remembered && !failures.contains_key(&peer) {
            failures.retain(|_, seen| now.duration_since(seen.since) < self.fail_window);
            // Still full within the window (addresses cycled by one attacker): refused, not remembered.
            if failures.len() >= self.remembered {
                return Some(unauthorized(offered.is_some()));
            }
        }
        let seen = failures.entry(peer).or_insert(Failures { since: now, count: 0 });
        if now.duration_since(seen.since) >= self.fail_window {
            *seen = Failures { since: now, count: 0 };
        }
        seen.count += 1;
        if seen.count == self.fail_max {
            tracing::warn!(%peer, failures = seen.count, "a peer failed authentication too often; refused until its window ends");
        }
        Some(unauthorized(offered.is_some()))
    }
}

fn unauthorized(offered: bool) -> Response {
    let message = match offered {
        true => "the bearer key is not this gateway's",
        false => {
            "this gateway requires a bearer key: send Authorization: Bearer <key> (GATEWAY_API_KEY, or the file \
                  conf/api-key)"
        }
    };
    let mut response =
        ApiError::new(StatusCode::UNAUTHORIZED, message).with_code(ErrorCode::Unauthorized).into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn locked_out(window: Duration) -> Response {
    ApiError::new(
        StatusCode::FORBIDDEN,
        format!(
            "too many failed authentications from this address; refused until {} min after the first of them \
             (GATEWAY_AUTH_FAIL_WINDOW_MS)",
            window.as_secs().div_ceil(60)
        ),
    )
    .with_code(ErrorCode::Forbidden)
    .into_response()
}

/// A connection's peer, handed to each of its requests by the server (over plain TCP and TLS alike).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, crate::tls::TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, crate::tls::TlsListener>) -> Peer {
        Peer(*stream.remote_addr())
    }
}

/// The peer's address; in-process calls (no connection) count as no loopback peer.
fn peer(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(Peer(addr))| addr.ip())
}

/// The bearer check, as a layer over every route.
pub async fn require_key(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    match guard.check(
        peer(&request),
        request.method(),
        request.uri().path(),
        request.headers().get(header::AUTHORIZATION),
    ) {
        Some(refused) => refused,
        None => next.run(request).await,
    }
}

/// Whether the API's pages are served to `peer`.
pub fn docs_served_to(peer: IpAddr, docs_for_everyone: bool) -> bool {
    docs_for_everyone || peer.is_loopback() || peer.to_canonical().is_loopback()
}

/// The API's pages for loopback peers only (unless `GATEWAY_ENABLE_DOCS=true`), as a layer over them.
pub async fn docs_gate(State(docs_for_everyone): State<bool>, request: Request, next: Next) -> Response {
    if docs_served_to(peer(&request), docs_for_everyone) {
        return next.run(request).await;
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        "the API's pages are served to this machine only; set GATEWAY_ENABLE_DOCS=true to serve them to every peer",
    )
    .with_code(ErrorCode::Forbidden)
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(key: &str, fail_max: u32, fail_window: Duration) -> Guard {
        let settings = AccessSettings { api_key: None, fail_max, fail_window, docs_for_everyone: false };
        Guard::new(ApiKey::new(key), &settings)
    }

    fn status(guard: &Guard, peer: [u8; 4], path: &str, authorization: Option<&str>) -> Option<StatusCode> {
        let header = authorization.map(|value| HeaderValue::from_str(value).unwrap());
        guard.check(IpAddr::from(peer), &Method::POST, path, header.as_ref()).map(|response| response.status())
    }

    #[test]
    fn the_health_check_is_open_and_every_other_route_needs_the_key() {
        let guard = guard("s3cret", 10, Duration::from_secs(60));
        assert_eq!(guard.check(IpAddr::from([10, 0, 0, 1]), &Method::GET, "/", None).map(|r| r.status()), None);
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", None), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Bearer s3cret")), None);
        assert_eq!(status(&guard, [10, 0, 0, 1], "/", Some("Bearer s3cre")), Some(StatusCode::UNAUTHORIZED), "POST /");
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Basic s3cret")), Some(StatusCode::UNAUTHORIZED));
        let refused = guard.check(IpAddr::from([10, 0, 0, 1]), &Method::GET, "/docs", None).unwrap();
        assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn a_peer_failing_too_often_is_refused_until_its_window_ends_and_others_are_not() {
        let guard = guard("s3cret", 3, Duration::from_millis(300));
        for _ in 0..3 {
            assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Bearer guess")), Some(StatusCode::UNAUTHORIZED));
        }
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Bearer s3cret")), Some(StatusCode::FORBIDDEN));
        assert_eq!(status(&guard, [10, 0, 0, 2], "/wallet", Some("Bearer s3cret")), None, "another peer");
        std::thread::sleep(Duration::from_millis(350));
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Bearer s3cret")), None, "after the window");
    }

    #[test]
    fn the_failure_table_stays_bounded_when_addresses_are_cycled() {
        let mut guard = guard("s3cret", 2, Duration::from_secs(60));
        guard.remembered = 3;
        for last in 1..=10 {
            assert_eq!(status(&guard, [10, 0, 1, last], "/wallet", None), Some(StatusCode::UNAUTHORIZED));
        }
        assert_eq!(guard.failures.lock().unwrap().len(), 3);
        // A remembered peer is still counted to its lockout.
        assert_eq!(status(&guard, [10, 0, 1, 1], "/wallet", None), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(status(&guard, [10, 0, 1, 1], "/wallet", Some("Bearer s3cret")), Some(StatusCode::FORBIDDEN));
        assert_eq!(status(&guard, [10, 0, 1, 9], "/wallet", Some("Bearer s3cret")), None, "the key still works");
    }

    #[test]
    fn the_api_pages_go_to_loopback_peers_unless_enabled_for_all() {
        assert!(docs_served_to("127.0.0.1".parse().unwrap(), false));
        assert!(docs_served_to("::1".parse().unwrap(), false));
        assert!(docs_served_to("::ffff:127.0.0.1".parse().unwrap(), false));
        assert!(!docs_served_to("10.0.0.7".parse().unwrap(), false));
        assert!(!docs_served_to("0.0.0.0".parse().unwrap(), false), "an in-process call has no peer");
        assert!(docs_served_to("10.0.0.7".parse().unwrap(), true));
    }
}
