//! Who may call, beyond the Host and Origin rules of `access`, as Gateway v2.16 has it: with
//! `GATEWAY_REQUIRE_AUTH=true` every route but `GET /` needs `Authorization: Bearer <key>`, and a peer that fails
//! it `GATEWAY_AUTH_FAIL_MAX` times within `GATEWAY_AUTH_FAIL_WINDOW_MS` is refused for the rest of that window;
//! the API's pages (`/docs`, `/openapi.json`) are served to loopback peers only unless `GATEWAY_ENABLE_DOCS=true`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::IncomingStream;

use crate::http::error::{ApiError, ErrorCode};

/// Where a generated key is kept, in the conf dir (mode 0600).
pub const API_KEY_FILE: &str = "api-key";
const DEFAULT_FAIL_MAX: u32 = 10;
const DEFAULT_FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Peers remembered for failed attempts before expired ones are forgotten: a peer cycling addresses cannot grow
/// the table without end.
const REMEMBERED_PEERS: usize = 10_000;

/// The access settings read at start.
#[derive(Debug, Clone, Default)]
pub struct AccessSettings {
    /// The bearer key every route but `GET /` needs; none: no key is asked for.
    pub api_key: Option<ApiKey>,
    pub fail_max: u32,
    pub fail_window: Duration,
    /// `/docs` and `/openapi.json` for every peer, not only loopback ones.
    pub docs_for_everyone: bool,
}

/// A bearer key: never printed, never logged.
#[derive(Clone)]
pub struct ApiKey(Arc<str>);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

impl ApiKey {
    /// Whether `offered` is this key, in time that does not depend on where they differ.
    fn admits(&self, offered: &[u8]) -> bool {
        let key = self.0.as_bytes();
        if key.len() != offered.len() {
            return false;
        }
        let differing = key.iter().zip(offered).fold(0u8, |acc, (a, b)| std::hint::black_box(acc | (a ^ b)));
        differing == 0
    }
}

/// Where the key came from, for the start message (never the key itself).
#[derive(Debug, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
}

impl AccessSettings {
    /// The settings from `var` (the process environment in `gateway start`); a key generated into `conf_dir` when
    /// one is required and none is given.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        conf_dir: &Path,
    ) -> Result<(AccessSettings, Option<KeySource>), String> {
        let flag = |name: &str| match var(name).as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some(value) if value.eq_ignore_ascii_case("true") || value == "1" => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") || value == "0" => Ok(false),
            Some(value) => Err(format!("{name}={value}: must be true or false")),
        };
        let number = |name: &str, default: u64| match var(name).as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}={value}: must be a positive whole number")),
        };
        let fail_max = number("GATEWAY_AUTH_FAIL_MAX", DEFAULT_FAIL_MAX.into())?.min(u32::MAX.into()) as u32;
        let fail_window =
            Duration::from_millis(number("GATEWAY_AUTH_FAIL_WINDOW_MS", DEFAULT_FAIL_WINDOW.as_millis() as u64)?);
        let (api_key, source) = match flag("GATEWAY_REQUIRE_AUTH")? {
            false => (None, None),
            true => {
                let (key, source) = key(var("GATEWAY_API_KEY"), conf_dir)?;
                (Some(key), Some(source))
            }
        };
        let settings =
            AccessSettings { api_key, fail_max, fail_window, docs_for_everyone: flag("GATEWAY_ENABLE_DOCS")? };
        Ok((settings, source))
    }
}

/// The key from the environment, else from `<conf>/api-key`, else a new one written there readable by the owner
/// alone.
fn key(from_env: Option<String>, conf_dir: &Path) -> Result<(ApiKey, KeySource), String> {
    if let Some(key) = from_env.map(|key| key.trim().to_string()).filter(|key| !key.is_empty()) {
        return Ok((ApiKey(key.into()), KeySource::Environment));
    }
    let path = conf_dir.join(API_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok((ApiKey(text.trim().into()), KeySource::File(path))),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("{}: {error}", path.display())),
    }
    let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    // A new file is made as a temporary one, readable by its owner alone (0600), and renamed into place.
    crate::files::write_atomically(&path, key.as_bytes()).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok((ApiKey(key.into()), KeySource::Generated(path)))
}

/// The bearer check and its failure counts, one per gateway.
pub struct Guard {
    key: ApiKey,
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
        Guard { key, fail_max: settings.fail_max, fail_window: settings.fail_window, failures: Mutex::default() }
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
        if failures.len() >= REMEMBERED_PEERS {
            failures.retain(|_, seen| now.duration_since(seen.since) < self.fail_window);
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

    fn settings(vars: &[(&str, &str)], conf: &Path) -> Result<(AccessSettings, Option<KeySource>), String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AccessSettings::from_vars(|name| vars.get(name).cloned(), conf)
    }

    fn guard(key: &str, fail_max: u32, fail_window: Duration) -> Guard {
        let settings = AccessSettings { api_key: None, fail_max, fail_window, docs_for_everyone: false };
        Guard::new(ApiKey(key.into()), &settings)
    }

    fn status(guard: &Guard, peer: [u8; 4], path: &str, authorization: Option<&str>) -> Option<StatusCode> {
        let header = authorization.map(|value| HeaderValue::from_str(value).unwrap());
        guard.check(IpAddr::from(peer), &Method::POST, path, header.as_ref()).map(|response| response.status())
    }

    #[test]
    fn no_key_is_asked_for_unless_required_and_a_required_one_comes_from_the_environment_or_the_conf_dir() {
        let conf = tempfile::tempdir().unwrap();
        let (plain, source) = settings(&[], conf.path()).unwrap();
        assert!(plain.api_key.is_none() && source.is_none() && !plain.docs_for_everyone);
        assert_eq!((plain.fail_max, plain.fail_window), (10, Duration::from_secs(900)));
        let (given, source) =
            settings(&[("GATEWAY_REQUIRE_AUTH", "true"), ("GATEWAY_API_KEY", "k3y")], conf.path()).unwrap();
        assert!(given.api_key.unwrap().admits(b"k3y"));
        assert_eq!(source, Some(KeySource::Environment));
        assert!(!conf.path().join(API_KEY_FILE).exists(), "nothing written when the key is given");
        let (generated, source) = settings(&[("GATEWAY_REQUIRE_AUTH", "TRUE")], conf.path()).unwrap();
        let path = conf.path().join(API_KEY_FILE);
        assert_eq!(source, Some(KeySource::Generated(path.clone())));
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.len(), 64);
        assert!(generated.api_key.unwrap().admits(written.as_bytes()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (again, source) = settings(&[("GATEWAY_REQUIRE_AUTH", "1")], conf.path()).unwrap();
        assert_eq!(source, Some(KeySource::File(path)));
        let key = again.api_key.unwrap();
        assert!(key.admits(written.as_bytes()), "the same key at the next start");
        assert!(!format!("{key:?}").contains(&written), "a key never prints");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_variable() {
        let conf = tempfile::tempdir().unwrap();
        for (vars, named) in [
            (vec![("GATEWAY_REQUIRE_AUTH", "yes please")], "GATEWAY_REQUIRE_AUTH"),
            (vec![("GATEWAY_AUTH_FAIL_MAX", "0")], "GATEWAY_AUTH_FAIL_MAX"),
            (vec![("GATEWAY_AUTH_FAIL_WINDOW_MS", "soon")], "GATEWAY_AUTH_FAIL_WINDOW_MS"),
            (vec![("GATEWAY_ENABLE_DOCS", "maybe")], "GATEWAY_ENABLE_DOCS"),
        ] {
            let refused = settings(&vars, conf.path()).expect_err(named);
            assert!(refused.starts_with(named), "{refused}");
        }
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
    fn keys_are_compared_whole() {
        let key = ApiKey("abcdef".into());
        assert!(key.admits(b"abcdef"));
        for offered in [&b"abcdeg"[..], b"bbcdef", b"abcde", b"abcdefg", b""] {
            assert!(!key.admits(offered));
        }
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
