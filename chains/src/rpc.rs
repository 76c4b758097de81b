//! The JSON-RPC transport every network uses: several node URLs tried in order, sticking to the one that
//! last worked, each checked once to serve the configured chain id. Requests are counted, so tests and
//! metrics can see how many round trips an operation makes.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use alloy::rpc::json_rpc::{Id, Request, RequestPacket, ResponsePacket};
use alloy::transports::http::reqwest;
use alloy::transports::{TransportError, TransportErrorKind, TransportFut};
use tokio::sync::OnceCell;

use crate::error::ChainError;

/// The pause before a second round over the nodes when every one failed.
const RETRY_BACKOFF: Duration = Duration::from_millis(250);
/// How long a call every node refuses for too many requests keeps being tried: a provider's per-second cap
/// clears well within it, and a request still answers in time.
const RATE_LIMIT_PATIENCE: Duration = Duration::from_secs(6);
const RATE_LIMIT_FIRST_PAUSE: Duration = Duration::from_millis(50);
/// How many times a read a node answers from behind the block it asks for is asked again.
const BEHIND_RETRIES: u32 = 24;
const RATE_LIMIT_LONGEST_PAUSE: Duration = Duration::from_millis(800);

/// The pauses between tries of a call refused for too many requests: doubling from 50 ms up to 800 ms, each
/// jittered by up to a quarter either way (calls refused together do not come back together), until
/// [`RATE_LIMIT_PATIENCE`] is spent.
#[derive(Debug)]
pub struct RateLimitBackoff {
    waited: Duration,
    pause: Duration,
}

impl Default for RateLimitBackoff {
    fn default() -> Self {
        RateLimitBackoff { waited: Duration::ZERO, pause: RATE_LIMIT_FIRST_PAUSE }
    }
}

impl RateLimitBackoff {
    /// The pause before the next try, or `None` once the patience is spent.
    pub fn next_pause(&mut self) -> Option<Duration> {
        if self.waited >= RATE_LIMIT_PATIENCE {
            return None;
        }
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().subsec_nanos();
        let pause = self.pause.mul_f64(0.75 + f64::from(nanos % 1000) / 2000.0);
        self.waited += pause;
        self.pause = (self.pause * 2).min(RATE_LIMIT_LONGEST_PAUSE);
        Some(pause)
    }
}
/// The longest one node may take to answer one request (its whole body) before the next node is tried. Node
/// calls answer in milliseconds; one that takes this long is as good as down. A request tries each node twice,
/// which with one or two nodes fits in the default request timeout (`server.requestTimeoutSeconds`, 60 s).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// A node that keeps failing is logged once per this interval, with the count of failures in between: a dead
/// node under a 20 ms block poll must not write hundreds of lines a second.
const WARN_EVERY: Duration = Duration::from_secs(30);

/// Per-network RPC counters.
#[derive(Debug, Default)]
pub struct RpcStats {
    requests: AtomicU64,
    failures: AtomicU64,
    block_polls: AtomicU64,
}

impl RpcStats {
    /// Round trips sent (a batch counts once), failovers included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Of the requests, those that only asked for the block number (the block poller's).
    pub fn block_polls(&self) -> u64 {
        self.block_polls.load(Ordering::Relaxed)
    }
}

struct Endpoint {
    client: reqwest::Client,
    /// The URL as configured, credentials and all: only ever sent to, never logged (alloy's own HTTP transport
    /// puts it in a tracing span, which is why requests are posted here).
    url: reqwest::Url,
    /// scheme://host:port only: paths and queries often carry API keys, which must not reach logs or errors.
    display: String,
    /// The full URL as written and as parsed: scrubbed from every error text, since it may hold a key.
    secrets: [String; 2],
    /// Whether the node answered eth_chainId with the configured chain id (checked once).
    chain_ok: OnceCell<bool>,
    /// Set from a failure to the next success, so a success costs one load while the node is well.
    failing: AtomicBool,
    warned: Mutex<Warned>,
}

/// When a node's failure was last logged, how many failed since, and when its recovery was last logged.
#[derive(Default)]
struct Warned {
    last: Option<Instant>,
    unlogged: u64,
    recovered: Option<Instant>,
}

impl Endpoint {
    /// Posts a JSON-RPC packet and reads the answer.
    async fn post(&self, packet: &RequestPacket) -> Result<ResponsePacket, TransportError> {
        // reqwest's errors name the URL without its user and password, which the scrubbing below would then not
        // recognise: they are taken without it.
        let failed = |error: reqwest::Error| TransportErrorKind::custom(error.without_url());
        let response = self.client.post(self.url.clone()).json(packet).send().await.map_err(failed)?;
        let status = response.status();
        let body = response.bytes().await.map_err(failed)?;
        if !status.is_success() {
            return Err(TransportErrorKind::http_error(status.as_u16(), String::from_utf8_lossy(&body).into_owned()));
        }
        serde_json::from_slice(&body).map_err(|error| TransportError::deser_err(error, String::from_utf8_lossy(&body)))
    }

    /// An error's text with the URL's path and query replaced by the redacted form.
    fn scrub(&self, error: &TransportError) -> String {
        let mut text = error.to_string();
        for secret in &self.secrets {
            text = text.replace(secret.as_str(), &self.display);
        }
        text
    }

    /// Logs a failure of this node, unless one was logged less than [`WARN_EVERY`] ago: then it is only counted.
    fn failed(&self, what: &'static str, error: &str) {
        self.failing.store(true, Ordering::Relaxed);
        let mut warned = self.warned.lock().expect("warned lock");
        if warned.last.is_some_and(|last| last.elapsed() < WARN_EVERY) {
            warned.unlogged += 1;
            return;
        }
        let unlogged = std::mem::take(&mut warned.unlogged);
        warned.last = Some(Instant::now());
        drop(warned);
        match unlogged {
            0 => tracing::warn!(node = %self.display, %error, "{what}"),
            _ => tracing::warn!(node = %self.display, %error, unlogged, "{what} (and {unlogged} failures not logged)"),
        }
    }

    fn answered(&self) {
        // A load first: a node that is well costs a read of a shared line, not a write.
        if self.failing.load(Ordering::Relaxed) && self.failing.swap(false, Ordering::Relaxed) {
            let mut warned = self.warned.lock().expect("warned lock");
            // Said only after a failure was logged since it was last said, so a flapping node is not a flood.
            if warned.last.is_some_and(|last| warned.recovered.is_none_or(|recovered| recovered < last)) {
                warned.recovered = Some(Instant::now());
                let unlogged = warned.unlogged;
                drop(warned);
                tracing::info!(node = %self.display, unlogged, "RPC node answers again");
            }
        }
    }
}

/// A failover transport over a network's node URLs.
#[derive(Clone)]
pub struct FailoverTransport {
    network: Arc<str>,
    endpoints: Arc<Vec<Endpoint>>,
    preferred: Arc<AtomicUsize>,
    chain_id: u64,
    stats: Arc<RpcStats>,
}

impl FailoverTransport {
    /// A transport over `urls`; a URL that cannot be used is refused as the network being unreachable, naming the
    /// setting to fix.
    pub fn new(network: &str, urls: &[String], chain_id: u64, stats: Arc<RpcStats>) -> Result<Self, ChainError> {
        let unusable = |detail: String| ChainError::Unreachable { network: network.to_string(), detail };
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ATTEMPT_TIMEOUT)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| unusable(format!("HTTP client: {e}")))?;
        let endpoints = urls
            .iter()
            .map(|url| {
                let parsed: reqwest::Url =
                    url.parse().map_err(|e| unusable(format!("'{}' is not a URL: {e}", redact(url))))?;
                Ok(Endpoint {
                    secrets: [url.clone(), parsed.to_string()],
                    client: client.clone(),
                    url: parsed,
                    display: redact(url),
                    chain_ok: OnceCell::new(),
                    failing: AtomicBool::new(false),
                    warned: Mutex::default(),
                })
            })
            .collect::<Result<Vec<_>, ChainError>>()?;
        if endpoints.is_empty() {
            return Err(unusable("no node URL configured".into()));
        }
        Ok(FailoverTransport {
            network: network.into(),
            endpoints: Arc::new(endpoints),
            preferred: Arc::new(AtomicUsize::new(0)),
            chain_id,
            stats,
        })
    }

    /// The node currently preferred, redacted for display.
    pub fn current_url(&self) -> String {
        self.endpoints[self.preferred.load(Ordering::Relaxed) % self.endpoints.len()].display.clone()
    }

    /// Tries every node in turn; when all fail, waits a little and tries them once more. A read every node
    /// refuses for too many requests, or answers from behind the block it asks for, is tried again with a pause
    /// doubling each time (a send is not: its signed bytes went out, and the pipeline asks the node what became
    /// of them).
    async fn request(self, packet: RequestPacket) -> Result<ResponsePacket, TransportError> {
        let mut backoff = RateLimitBackoff::default();
        let (mut retried, mut behind) = (false, 0);
        loop {
            let answer = self.try_each(&packet).await;
            let refused = |refusal: fn(&alloy::rpc::json_rpc::ErrorPayload) -> bool| match &answer {
                Ok(response) => response.payloads().any(|payload| payload.as_error().is_some_and(refusal)),
                Err(_) => false,
            };
            let limited = refused(is_rate_limit) || answer.as_ref().is_err_and(is_http_rate_limit);
            let pause = match (limited, refused(is_behind)) {
                _ if sends(&packet) => None,
                (true, _) => backoff.next_pause(),
                // Another node behind the balancer likely has the block: asked again at once.
                (false, true) if behind < BEHIND_RETRIES => {
                    behind += 1;
                    Some(Duration::ZERO)
                }
                (false, _) if answer.is_err() && !retried => Some(RETRY_BACKOFF),
                _ => None,
            };
            let Some(pause) = pause else { return answer };
            tokio::time::sleep(pause).await;
            retried = true;
        }
    }

    async fn try_each(&self, packet: &RequestPacket) -> Result<ResponsePacket, TransportError> {
        let count = self.endpoints.len();
        let start = self.preferred.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        let mut all_limited = true;
        for offset in 0..count {
            let index = (start + offset) % count;
            let endpoint = &self.endpoints[index];
            match self.serves_our_chain(endpoint).await {
                Ok(true) => {}
                Ok(false) => {
                    all_limited = false;
                    failures.push(format!("{} serves another chain than {}", endpoint.display, self.chain_id));
                    continue;
                }
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    all_limited &= is_http_rate_limit(&e);
                    let error = endpoint.scrub(&e);
                    endpoint.failed("RPC node unreachable", &error);
                    failures.push(format!("{}: {error}", endpoint.display));
                    continue;
                }
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("gateway_rpc_requests_total", "network" => self.network.to_string()).increment(1);
            let polls = ["eth_blockNumber", "eth_getBlockByNumber"];
            if matches!(packet, RequestPacket::Single(request) if polls.contains(&request.method())) {
                self.stats.block_polls.fetch_add(1, Ordering::Relaxed);
            }
            match endpoint.post(packet).await {
                Ok(response) => {
                    endpoint.answered();
                    if index != start {
                        tracing::warn!(node = %endpoint.display, "RPC failed over to this node");
                        self.preferred.store(index, Ordering::Relaxed);
                    }
                    return Ok(response);
                }
                Err(e) => {
                    self.stats.failures.fetch_add(1, Ordering::Relaxed);
                    all_limited &= is_http_rate_limit(&e);
                    metrics::counter!("gateway_rpc_errors_total", "network" => self.network.to_string()).increment(1);
                    let error = endpoint.scrub(&e);
                    endpoint.failed("RPC request failed", &error);
                    failures.push(format!("{}: {error}", endpoint.display));
                }
            }
        }
        let failed = format!("every node failed: {}", failures.join("; "));
        match all_limited {
            true => Err(TransportErrorKind::http_error(429, failed)),
            false => Err(TransportErrorKind::custom_str(&failed)),
        }
    }

    async fn serves_our_chain(&self, endpoint: &Endpoint) -> Result<bool, TransportError> {
        endpoint
            .chain_ok
            .get_or_try_init(|| async {
                self.stats.requests.fetch_add(1, Ordering::Relaxed);
                let request =
                    Request::new("eth_chainId", Id::Number(0), ()).serialize().map_err(TransportError::ser_err)?;
                let response = endpoint.post(&RequestPacket::Single(request)).await?;
                let ResponsePacket::Single(response) = response else {
                    return Err(TransportErrorKind::custom_str("eth_chainId answered with a batch"));
                };
                let payload = response
                    .payload
                    .as_success()
                    .ok_or_else(|| TransportErrorKind::custom_str("eth_chainId answered with an error"))?;
                let hex: String = serde_json::from_str(payload.get())
                    .map_err(|e| TransportErrorKind::custom_str(&format!("bad eth_chainId answer: {e}")))?;
                let chain_id = u64::from_str_radix(hex.trim_start_matches("0x"), 16)
                    .map_err(|e| TransportErrorKind::custom_str(&format!("eth_chainId: {e}")))?;
                if chain_id != self.chain_id {
                    tracing::error!(
                        node = %endpoint.display,
                        expected = self.chain_id,
                        actual = chain_id,
                        "node serves another chain; it will not be used"
                    );
                }
                Ok(chain_id == self.chain_id)
            })
            .await
            .copied()
    }
}

impl tower::Service<RequestPacket> for FailoverTransport {
    type Response = ResponsePacket;
    type Error = TransportError;
    type Future = TransportFut<'static>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, packet: RequestPacket) -> Self::Future {
        Box::pin(self.clone().request(packet))
    }
}

/// Lowercased wordings of a refusal for size: geth and erigon ("query exceeds max block range", "query returned
/// more than 10000 results"), Alchemy ("log response size exceeded", "block range"), Infura ("query returned more
/// than"), QuickNode ("eth_getLogs is limited to a 10,000 range").
const TOO_LARGE: [&str; 5] = ["block range", "max block range", "more than", "response size", "is limited to"];

/// Whether a node's error message refuses a query for its size.
pub fn says_too_large(message: &str) -> bool {
    let message = message.to_lowercase();
    TOO_LARGE.iter().any(|wording| message.contains(wording))
}

/// Whether a JSON-RPC error is a provider's refusal for too many requests: EIP-1474's -32005 ("limit
/// exceeded"), or the wordings of providers that answer with another code.
pub fn is_rate_limit(payload: &alloy::rpc::json_rpc::ErrorPayload) -> bool {
    let message = payload.message.to_lowercase();
    let sized = says_too_large(&message);
    (payload.code == -32005 && !sized) || message.contains("rate limit") || message.contains("too many requests")
}

/// Whether a JSON-RPC error says the node lacks a block asked for by number: a node behind the others of a load
/// balancer (geth, erigon, reth: "header not found"; "unknown block"; anvil: "BlockOutOfRangeError"). Asked again,
/// the next answer likely comes from a node that has it.
pub fn is_behind(payload: &alloy::rpc::json_rpc::ErrorPayload) -> bool {
    let message = payload.message.to_lowercase();
    ["header not found", "unknown block", "blockoutofrange"].iter().any(|wording| message.contains(wording))
}

/// Whether a transport error is an HTTP 429 (every node's, when the failover gave up).
pub fn is_http_rate_limit(error: &TransportError) -> bool {
    matches!(error, alloy::transports::RpcError::Transport(TransportErrorKind::HttpError(http)) if http.status == 429)
}

/// A node's JSON-RPC error answer, as the unit tests of what reads such answers build one.
#[cfg(test)]
pub(crate) fn node_error(code: i64, message: &str) -> alloy::transports::RpcError<TransportErrorKind> {
    alloy::transports::RpcError::ErrorResp(alloy::rpc::json_rpc::ErrorPayload {
        code,
        message: message.to_string().into(),
        data: None,
    })
}

/// Whether the packet sends a transaction (whose retry is the pipeline's to decide, not the transport's).
fn sends(packet: &RequestPacket) -> bool {
    packet.method_names().any(|method| method == "eth_sendRawTransaction" || method == "eth_sendRawTransactionSync")
}

/// `scheme://host:port` of a URL, dropping the path and query where providers put API keys.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                None => format!("{}://{host}", parsed.scheme()),
            }
        }
        Err(_) => "<invalid URL>".into(),
    }
}

/// A node's or its transport's error text as it may be shown (answers, logs): every URL in it masked as
/// [`masked`] masks it (a transport error names the URL it failed on, key and all; a node may echo it), then
/// [`crate::scrubbed`] (no run of hex digits as long as a private key, no control characters, 300 characters
/// at most).
pub fn node_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |before| before + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '<' | '>' | ',' | '`'))
            .map_or(rest.len(), |after| at + after);
        out.push_str(&rest[..start]);
        out.push_str(&masked(&rest[start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    crate::scrubbed(&out)
}

/// A URL as it may be shown (config answers): parsed (surrounding whitespace trimmed), the user and password,
/// every query value (and a query key standing alone, which is the value), the fragment, and every path segment
/// that may be a key (16 characters or more, whatever they are: Infura's `/v3/<id>`, Alchemy's `/v2/<key>`,
/// QuickNode's `/<token>/`, Ankr's `/eth/<key>`) replaced by `***`. What is not a URL is returned as it is.
pub fn masked(url: &str) -> String {
    const HIDDEN: &str = "***";
    let trimmed = url.trim();
    let Ok(mut parsed) = reqwest::Url::parse(trimmed) else { return url.to_string() };
    if parsed.cannot_be_a_base() {
        return url.to_string();
    }
    let had_user = !parsed.username().is_empty() || parsed.password().is_some();
    let _ = parsed.set_password(None);
    let _ = parsed.set_username(if had_user { HIDDEN } else { "" });
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|segments| segments.map(|s| if s.len() >= 16 { HIDDEN } else { s }).collect())
        .unwrap_or_default();
    let hid_segment = segments.contains(&HIDDEN);
    let path = segments.join("/");
    let pairs: Vec<String> = parsed
        .query_pairs()
        .map(|(key, value)| match value.is_empty() {
            true => HIDDEN.to_string(),
            false => format!("{key}={HIDDEN}"),
        })
        .collect();
    let had_fragment = parsed.fragment().is_some();
    if !had_user && !hid_segment && pairs.is_empty() && !had_fragment && parsed.query().is_none() {
        return trimmed.to_string();
    }
    parsed.set_path(&path);
    parsed.set_query((!pairs.is_empty()).then(|| pairs.join("&")).as_deref());
    parsed.set_fragment(had_fragment.then_some(HIDDEN));
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_node_error_shows_where_and_what_but_no_credential() {
        let text = "error sending request for url (https://user:pw@node.example/v3/9aa3d95b3bc440fa88ea12eaa4456161?\
                    apikey=s3cr3t): connection refused, also wss://node.example/ws/0123456789abcdef0123 \"x\"";
        let shown = super::node_text(text);
        for secret in ["pw", "9aa3d95b", "s3cr3t", "0123456789abcdef0123"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("node.example") && shown.contains("connection refused"), "{shown}");
        assert_eq!(super::node_text("execution reverted"), "execution reverted");
        assert!(super::node_text(&format!("bad {}\n", "ab".repeat(40))).ends_with('?'), "key-like runs and newlines");
    }

    #[test]
    fn masking_keeps_where_and_hides_who() {
        let cases = [
            ("https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161", "https://mainnet.infura.io/v3/***"),
            (
                "https://eth-mainnet.g.alchemy.com/v2/AbCdEfGhIjKlMnOpQrSt_123",
                "https://eth-mainnet.g.alchemy.com/v2/***",
            ),
            (
                "https://soft-icy.quiknode.pro/4b0e5d0c8f1a2b3c4d5e6f708192a3b4c5d6e7f8/",
                "https://soft-icy.quiknode.pro/***/",
            ),
            (
                "https://user:PASS@node.example:8545/rpc?apikey=SECRET&x=1",
                "https://***@node.example:8545/rpc?apikey=***&x=***",
            ),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
            ("not a url", "not a url"),
            // Each way around the masking once found: a leading space, a query key alone, a fragment, a key
            // holding `.`, `%` or `;`.
            (" https://mainnet.infura.io/v3/9aa3d95b3bc440fa88ea12eaa4456161", "https://mainnet.infura.io/v3/***"),
            ("https://node.example/rpc?SECRETKEY123", "https://node.example/rpc?***"),
            ("https://node.example/rpc#SECRETKEY123", "https://node.example/rpc#***"),
            ("https://node.example/a.b.c.d.e.f.g.h.i/rpc", "https://node.example/***/rpc"),
            ("https://node.example/key%20with%20spaces%3B/rpc", "https://node.example/***/rpc"),
            ("https://node.example/k;e;y;1;2;3;4;5;6/", "https://node.example/***/"),
        ];
        for (url, shown) in cases {
            assert_eq!(super::masked(url), shown, "{url}");
        }
    }

    #[test]
    fn redaction_drops_keys() {
        assert_eq!(
            super::redact("https://eth-mainnet.g.alchemy.com/v2/SECRETKEY"),
            "https://eth-mainnet.g.alchemy.com"
        );
        assert_eq!(super::redact("http://127.0.0.1:8545/?key=x"), "http://127.0.0.1:8545");
    }
}
