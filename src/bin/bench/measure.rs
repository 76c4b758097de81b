//! How the benchmark measures: latency samples and their percentiles, the report, and raw keep-alive HTTP/1.1
//! connections that send one prepared request over and over (as wrk does), so what is measured is the server and
//! the loopback, not a client library; and a JSON-RPC proxy that counts what the gateway asks the node.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy::transports::http::reqwest;
use serde_json::Value;

/// Latencies of a run, in microseconds.
#[derive(Default)]
pub struct Samples(pub Vec<f64>);

impl Samples {
    pub fn percentile(&self, p: f64) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        if sorted.is_empty() {
            return f64::NAN;
        }
        sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
    }
}

pub struct Report {
    pub rows: Vec<(String, String, String)>,
    pub json: BTreeMap<String, Value>,
}

impl Report {
    pub fn add(&mut self, key: &str, label: &str, value: String, target: &str, raw: Value) {
        self.rows.push((label.to_string(), value, target.to_string()));
        self.json.insert(key.to_string(), raw);
    }
}

/// One keep-alive HTTP/1.1 connection sending one prepared request over and over, as wrk does, so what is
/// measured is the server and the loopback, not a client library.
struct RawConnection {
    stream: tokio::net::TcpStream,
    request: RawRequest,
    bytes: Vec<u8>,
    buffer: Vec<u8>,
}

/// Gives each request of a varying quote its own amount, across all connections.
pub static NEXT_VARIANT: AtomicU64 = AtomicU64::new(0);

impl RawConnection {
    async fn open(request: &RawRequest) -> RawConnection {
        let stream = tokio::net::TcpStream::connect(request.addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConnection { stream, request: request.clone(), bytes: Vec::new(), buffer: Vec::with_capacity(64 * 1024) }
    }

    /// Sends the request and reads the whole response; panics unless it is a 2xx.
    async fn round_trip(&mut self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        match &self.request.variant_at {
            None => self.stream.write_all(&self.request.bytes).await.expect("write"),
            Some(at) => {
                use std::io::Write;
                self.bytes.clear();
                self.bytes.extend_from_slice(&self.request.bytes[..*at]);
                write!(self.bytes, "{:09}", NEXT_VARIANT.fetch_add(1, Ordering::Relaxed) % 1_000_000_000).unwrap();
                self.bytes.extend_from_slice(&self.request.bytes[*at..]);
                self.stream.write_all(&self.bytes).await.expect("write");
            }
        }
        self.buffer.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (header_end, body_length) = loop {
            let read = self.stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = self.buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end]).expect("ASCII head");
                assert!(head.starts_with("HTTP/1.1 2"), "{}", String::from_utf8_lossy(&self.buffer));
                let length = head
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .expect("a content-length");
                break (end + 4, length);
            }
        };
        while self.buffer.len() < header_end + body_length {
            let read = self.stream.read(&mut chunk).await.expect("read");
            assert!(read > 0, "the server closed the connection");
            self.buffer.extend_from_slice(&chunk[..read]);
        }
    }
}

/// A request prepared once, as bytes; a varying one gets nine more digits at `variant_at` each time it is sent.
#[derive(Clone)]
pub struct RawRequest {
    addr: SocketAddr,
    bytes: Arc<[u8]>,
    variant_at: Option<usize>,
}

/// Where a varying request's digits go.
pub const VARIANT: &str = "VARIANTDIGITS";

impl RawRequest {
    pub fn get(url: &str) -> RawRequest {
        Self::new("GET", url, None)
    }

    pub fn post_json(url: &str, body: &Value) -> RawRequest {
        Self::new("POST", url, Some(body.to_string()))
    }

    fn new(method: &str, url: &str, body: Option<String>) -> RawRequest {
        let url: reqwest::Url = url.parse().expect("URL");
        let addr = url.socket_addrs(|| None).expect("address")[0];
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let mut text = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
        if let Some(body) = &body {
            text += &format!("Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
        }
        text += "\r\n";
        text += body.as_deref().unwrap_or_default();
        let variant_at = text.find(VARIANT);
        let text = text.replacen(VARIANT, "", 1);
        RawRequest { addr, bytes: text.into_bytes().into(), variant_at }
    }
}

/// Sequential round trips on one connection.
pub async fn sequential_raw(request: &RawRequest, count: usize) -> Samples {
    let mut connection = RawConnection::open(request).await;
    for _ in 0..count / 10 {
        connection.round_trip().await;
    }
    let mut samples = Samples::default();
    for _ in 0..count {
        let start = Instant::now();
        connection.round_trip().await;
        samples.0.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples
}

/// `count` round trips of `a` and of `b` taken in turn on two kept-alive connections, so both see the same
/// machine at the same moments: a comparison that noise from other processes does not tilt.
pub async fn sequential_pair(a: &RawRequest, b: &RawRequest, count: usize) -> (Samples, Samples) {
    let (mut first, mut second) = (RawConnection::open(a).await, RawConnection::open(b).await);
    for _ in 0..count / 10 {
        first.round_trip().await;
        second.round_trip().await;
    }
    let (mut a_samples, mut b_samples) = (Samples::default(), Samples::default());
    for _ in 0..count {
        let start = Instant::now();
        first.round_trip().await;
        a_samples.0.push(start.elapsed().as_secs_f64() * 1e6);
        let start = Instant::now();
        second.round_trip().await;
        b_samples.0.push(start.elapsed().as_secs_f64() * 1e6);
    }
    (a_samples, b_samples)
}

/// `connections` connections in a loop for `duration`: requests per second and p99 latency.
/// `connections` keep-alive connections sending `request` for `duration`: the rate, and the samples.
pub async fn concurrent(request: &RawRequest, connections: usize, duration: Duration) -> (f64, Samples) {
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (request, done) = (request.clone(), done.clone());
            tokio::spawn(async move {
                let mut connection = RawConnection::open(&request).await;
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let start = Instant::now();
                    connection.round_trip().await;
                    samples.push(start.elapsed().as_secs_f64() * 1e6);
                    done.fetch_add(1, Ordering::Relaxed);
                }
                samples
            })
        })
        .collect();
    let started = Instant::now();
    let mut all = Samples::default();
    for task in tasks {
        all.0.extend(task.await.unwrap());
    }
    (done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(), all)
}

pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A JSON-RPC proxy in front of anvil that counts what the gateway asks, by method.
pub async fn counting_proxy(upstream: String) -> (SocketAddr, Arc<std::sync::Mutex<BTreeMap<String, u64>>>) {
    let counts: Arc<std::sync::Mutex<BTreeMap<String, u64>>> = Arc::default();
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post({
            let counts = counts.clone();
            move |body: axum::body::Bytes| {
                let (counts, client, upstream) = (counts.clone(), client.clone(), upstream.clone());
                async move {
                    if let Ok(request) = serde_json::from_slice::<Value>(&body) {
                        let methods: Vec<String> = match &request {
                            Value::Array(batch) => {
                                batch.iter().filter_map(|r| r["method"].as_str().map(str::to_string)).collect()
                            }
                            single => single["method"].as_str().map(str::to_string).into_iter().collect(),
                        };
                        let mut counts = counts.lock().unwrap();
                        for method in methods {
                            *counts.entry(method).or_default() += 1;
                        }
                    }
                    let response = client
                        .post(&upstream)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    (
                        axum::http::StatusCode::OK,
                        [("content-type", "application/json")],
                        response.bytes().await.unwrap(),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, counts)
}

/// The calls quotes made: all but the block poller's (the latest block's number and hash, read as blocks come
/// whether anyone quotes or not).
pub fn quote_calls(counts: &BTreeMap<String, u64>) -> u64 {
    let polls = ["eth_blockNumber", "eth_getBlockByNumber"];
    counts.iter().filter(|(method, _)| !polls.contains(&method.as_str())).map(|(_, n)| n).sum()
}
