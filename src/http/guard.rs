//! Who may call, beyond the Host and Origin rules of `access`, as Gateway v2.16 has it (the settings:
//! `config::access`): with a key required every route but `GET /` needs `Authorization: Bearer <key>`, and a peer
//! that fails it `GATEWAY_AUTH_FAIL_MAX` times within `GATEWAY_AUTH_FAIL_WINDOW_MS` is refused for the rest of that
//! window; the API's pages (`/docs`, `/openapi.json`) are served to loopback peers only unless
//! `GATEWAY_ENABLE_DOCS=true`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::access::{AccessSettings, ApiKey, Role};
use crate::connections::Peer;
use crate::http::error::{ApiError, ErrorCode};

/// Peers remembered for failed attempts before expired ones are forgotten: a peer cycling addresses cannot grow
/// the table without end.
const REMEMBERED_PEERS: usize = 10_000;

/// The bearer check and its failure counts, one per gateway.
pub struct Guard {
    /// The admin key first, then the narrower roles' keys.
    keys: Vec<(ApiKey, Role)>,
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
            keys: std::iter::once((key, Role::Admin)).chain(settings.role_keys.iter().cloned()).collect(),
            remembered: REMEMBERED_PEERS,
            fail_max: settings.fail_max,
            fail_window: settings.fail_window,
            failures: Mutex::default(),
        }
    }

    /// Lets `GET /` (the health check) through, and a request with a key from a peer not locked out: the role of
    /// the key it holds.
    fn check(
        &self,
        peer: IpAddr,
        method: &Method,
        path: &str,
        authorization: Option<&HeaderValue>,
    ) -> Result<Role, Refused> {
        if path == "/" && matches!(*method, Method::GET | Method::HEAD) {
            return Ok(Role::Read);
        }
        let now = Instant::now();
        let mut failures = self.failures.lock().expect("failures");
        let current = failures.get(&peer).filter(|seen| now.duration_since(seen.since) < self.fail_window);
        if current.is_some_and(|seen| seen.count >= self.fail_max) {
            return Err(Refused::LockedOut);
        }
        let offered = authorization
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")))
            .map(str::trim);
        // Every key is compared, so the time taken does not say which one matched.
        let admitted = offered.and_then(|offered| {
            self.keys.iter().fold(None, |found, (key, role)| match key.admits(offered.as_bytes()) {
                true => Some(*role),
                false => found,
            })
        });
        if let Some(role) = admitted {
            return Ok(role);
        }
        if failures.len() >= self.remembered && !failures.contains_key(&peer) {
            failures.retain(|_, seen| now.duration_since(seen.since) < self.fail_window);
            // Still full within the window (addresses cycled by one attacker): refused, not remembered.
            if failures.len() >= self.remembered {
                return Err(Refused::Unauthorized { offered: offered.is_some() });
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
        Err(Refused::Unauthorized { offered: offered.is_some() })
    }

    fn answer(&self, refused: Refused) -> Response {
        match refused {
            Refused::Unauthorized { offered } => unauthorized(offered),
            Refused::LockedOut => locked_out(self.fail_window),
        }
    }
}

/// Why the bearer check refused a request.
#[derive(Debug)]
enum Refused {
    Unauthorized { offered: bool },
    LockedOut,
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

/// The peer's address; in-process calls (no connection) count as no loopback peer.
fn peer(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<Peer>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ConnectInfo(peer)| peer.addr.ip())
}

/// The role a bearer key gave its request.
#[derive(Debug, Clone, Copy)]
struct KeyRole(Role);

/// The bearer check, as a layer over every route.
pub async fn require_key(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    match guard.check(
        peer(&request),
        request.method(),
        request.uri().path(),
        request.headers().get(header::AUTHORIZATION),
    ) {
        Err(refused) => guard.answer(refused),
        Ok(role) => {
            request.extensions_mut().insert(KeyRole(role));
            next.run(request).await
        }
    }
}

/// What a request may do: the narrower of its connection's role (a client certificate's) and its key's. In-process
/// calls (no connection) are the gateway's own.
pub fn role(request: &Request) -> Role {
    let connection = request.extensions().get::<ConnectInfo<Peer>>().map_or(Role::Admin, |ConnectInfo(peer)| peer.role);
    let key = request.extensions().get::<KeyRole>().map_or(Role::Admin, |KeyRole(role)| *role);
    connection.min(key)
}

/// The role a route needs: reading needs `read`, whatever the method (balances, allowances and polls are POSTs);
/// changing the gateway's config, wallets and lists, sending value out, and restarting need `admin`; every other
/// change is trading.
pub fn needed(method: &Method, path: &str) -> Role {
    const READS: [&str; 3] = ["/balances", "/allowances", "/poll"];
    const ADMIN: [&str; 5] = ["/config", "/wallet", "/tokens", "/pools", "/restart"];
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) || READS.iter().any(|read| path.ends_with(read))
    {
        return Role::Read;
    }
    let under = |prefix: &&str| path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    match ADMIN.iter().any(under) {
        true => Role::Admin,
        false => Role::Trade,
    }
}

/// The refusal of a request its role does not allow, naming the role it needs.
pub fn beyond_role(request: &Request) -> Option<Response> {
    let (has, needs) = (role(request), needed(request.method(), request.uri().path()));
    if has >= needs {
        return None;
    }
    let message = format!(
        "this client's role is {has}; {} {} needs {needs} (a certificate made by `gateway certs --role {needs}` or \
         without a role, or a key of that role)",
        request.method(),
        request.uri().path()
    );
    Some(ApiError::new(StatusCode::FORBIDDEN, message).with_code(ErrorCode::Forbidden).into_response())
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
        let role_keys = vec![(ApiKey::new("reader"), Role::Read)];
        let settings = AccessSettings { api_key: None, role_keys, fail_max, fail_window, docs_for_everyone: false };
        Guard::new(ApiKey::new(key), &settings)
    }

    fn status(guard: &Guard, peer: [u8; 4], path: &str, authorization: Option<&str>) -> Option<StatusCode> {
        let header = authorization.map(|value| HeaderValue::from_str(value).unwrap());
        guard
            .check(IpAddr::from(peer), &Method::POST, path, header.as_ref())
            .err()
            .map(|refused| guard.answer(refused).status())
    }

    #[test]
    fn the_health_check_is_open_and_every_other_route_needs_the_key() {
        let guard = guard("s3cret", 10, Duration::from_secs(60));
        assert!(guard.check(IpAddr::from([10, 0, 0, 1]), &Method::GET, "/", None).is_ok());
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", None), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Bearer s3cret")), None);
        assert_eq!(status(&guard, [10, 0, 0, 1], "/", Some("Bearer s3cre")), Some(StatusCode::UNAUTHORIZED), "POST /");
        assert_eq!(status(&guard, [10, 0, 0, 1], "/wallet", Some("Basic s3cret")), Some(StatusCode::UNAUTHORIZED));
        let refused = guard.answer(guard.check(IpAddr::from([10, 0, 0, 1]), &Method::GET, "/docs", None).unwrap_err());
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

    #[test]
    fn each_key_admits_with_its_role_and_each_route_needs_the_role_of_what_it_does() {
        let guard = guard("s3cret", 10, Duration::from_secs(60));
        let role = |key: &str| {
            let header = HeaderValue::from_str(&format!("Bearer {key}")).unwrap();
            guard.check(IpAddr::from([10, 0, 0, 1]), &Method::POST, "/wallet/add", Some(&header)).ok()
        };
        assert_eq!((role("s3cret"), role("reader"), role("writer")), (Some(Role::Admin), Some(Role::Read), None));

        let needs = |method: Method, path: &str| needed(&method, path);
        assert_eq!(needs(Method::GET, "/trading/clmm/quote-swap"), Role::Read);
        assert_eq!(needs(Method::GET, "/wallet"), Role::Read);
        assert_eq!(needs(Method::POST, "/chains/ethereum/balances"), Role::Read);
        assert_eq!(needs(Method::POST, "/chains/ethereum/poll"), Role::Read);
        assert_eq!(needs(Method::POST, "/trading/clmm/execute-swap"), Role::Trade);
        assert_eq!(needs(Method::POST, "/chains/ethereum/approve"), Role::Trade);
        assert_eq!(needs(Method::DELETE, "/clob/orders"), Role::Trade);
        assert_eq!(needs(Method::POST, "/config/update"), Role::Admin);
        assert_eq!(needs(Method::POST, "/wallet/send"), Role::Admin);
        assert_eq!(needs(Method::DELETE, "/tokens/USDC"), Role::Admin);
        assert_eq!(needs(Method::POST, "/pools"), Role::Admin);
        assert_eq!(needs(Method::POST, "/restart"), Role::Admin);
        assert_eq!(needs(Method::POST, "/walletish"), Role::Trade, "a prefix is a whole segment");
    }
}
