//! Serving connections: HTTP/1.1 over any listener (plain TCP, or TLS once its handshake is done), with deadlines
//! a peer cannot hold a connection open past, refusals counted rather than logged one by one, and each request
//! given its id.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderName, HeaderValue, Request};
use axum::serve::Listener;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use tokio::sync::Notify;
use tower::Service;

use crate::config::access::Role;

/// How long a connection may take to send a request's headers, counted from when the server is ready for them:
/// an unfinished request and a kept-alive connection left idle are both closed after this. Longer than the
/// 15 s an aiohttp client (Hummingbot's) keeps an idle connection, so the client is the one that closes it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How often counted refusals are written to the log, as one line.
pub const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(10);

/// A connection's peer, handed to each of its requests: its address, and the role its client certificate names
/// (`admin` over plain HTTP, where who may call is settled by where it listens and by the bearer key).
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub addr: SocketAddr,
    pub role: Role,
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer { addr, role: Role::Admin }
    }
}

/// Serves `app` on every connection `listener` accepts until `stopped` resolves, then lets each connection finish
/// the request it is answering and returns once all are closed.
pub async fn serve<L>(mut listener: L, app: Router, stopped: impl Future<Output = ()>)
where
    L: Listener,
    L::Addr: Into<Peer>,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = GracefulShutdown::new();
    let mut stopped = std::pin::pin!(stopped);
    loop {
        let (io, peer): (_, Peer) = tokio::select! {
            (io, addr) = listener.accept() => (io, addr.into()),
            () = &mut stopped => break,
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |request| answer(&app, peer, request));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(io), service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(peer = %peer.addr, %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// The header naming a request: the client's own when it sends one, else a UUID; answered in the response, and
/// named in every line logged while serving the request.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `request` answered by `app`: it knows its peer (the bearer lockout counts per peer, and the API's pages go to
/// loopback ones), and it and its answer carry its id.
fn answer(
    app: &Router,
    peer: Peer,
    mut request: Request<hyper::body::Incoming>,
) -> impl Future<Output = Result<axum::response::Response, Infallible>> + use<> {
    request.extensions_mut().insert(ConnectInfo(peer));
    let id = match request.headers().get(REQUEST_ID) {
        Some(id) => id.clone(),
        None => HeaderValue::from_str(uuid::Uuid::new_v4().hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()))
            .expect("a UUID is a header value"),
    };
    let tag =
        crate::logging::RequestTag { id: id.clone(), method: request.method().clone(), uri: request.uri().clone() };
    let mut app = app.clone();
    crate::logging::serving(tag, async move {
        let started = tracing::enabled!(tracing::Level::DEBUG).then(std::time::Instant::now);
        let Ok(mut response) = app.call(request).await;
        if let Some(started) = started {
            let status = response.status().as_u16();
            tracing::debug!(status, micros = started.elapsed().as_micros() as u64, "request answered");
        }
        response.headers_mut().insert(REQUEST_ID, id);
        Ok(response)
    })
}

/// Connections refused or closed before they were served, by reason, written to the log as one line per
/// [`REFUSALS_LOGGED_EVERY`] with the counts and each reason's last detail: a flood of them must not become a
/// flood of log lines.
#[derive(Default)]
pub struct Refusals {
    counts: Mutex<HashMap<&'static str, (u64, Option<String>)>>,
    total: AtomicU64,
}

impl Refusals {
    pub fn count(&self, reason: &'static str, detail: Option<String>) {
        let mut counts = self.counts.lock().expect("refusals");
        let (count, last) = counts.entry(reason).or_default();
        *count += 1;
        if detail.is_some() {
            *last = detail;
        }
        self.total.fetch_add(1, Ordering::Relaxed);
    }

    /// All refusals counted so far.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Writes what was counted since the last call, if anything.
    pub fn log(&self) {
        let counts = std::mem::take(&mut *self.counts.lock().expect("refusals"));
        if counts.is_empty() {
            return;
        }
        let mut reasons: Vec<_> = counts.into_iter().collect();
        reasons.sort_unstable_by_key(|(reason, _)| *reason);
        let connections: u64 = reasons.iter().map(|(_, (count, _))| count).sum();
        let reasons: Vec<String> = reasons
            .into_iter()
            .map(|(reason, (count, last))| match last {
                Some(last) => format!("{count} {reason} (last: {last})"),
                None => format!("{count} {reason}"),
            })
            .collect();
        tracing::warn!(
            connections,
            seconds = REFUSALS_LOGGED_EVERY.as_secs(),
            reasons = %reasons.join("; "),
            "connections closed before they were served"
        );
    }
}

/// Connections each peer address has open at a stage (before they are served), up to a limit: a peer's next
/// connection past it closes that peer's oldest one. So idle sockets cannot keep a peer's new connection out, even
/// when they come from the same address, and one address never holds more than the limit.
pub struct PerPeer {
    limit: usize,
    next_id: AtomicU64,
    open: Mutex<HashMap<IpAddr, Slots>>,
}

/// A peer's connections at the stage, oldest first: each one's id and how to tell it to close.
type Slots = VecDeque<(u64, Arc<Notify>)>;

/// One connection counted against its peer until dropped.
pub struct PeerSlot {
    table: Arc<PerPeer>,
    ip: IpAddr,
    id: u64,
    closing: Arc<Notify>,
}

impl PerPeer {
    pub fn new(limit: usize) -> Arc<PerPeer> {
        Arc::new(PerPeer { limit, next_id: AtomicU64::new(0), open: Mutex::new(HashMap::new()) })
    }

    /// A slot for a connection from `ip`; when `ip` holds the limit already, its oldest slot is told to close.
    pub fn enter(self: &Arc<Self>, ip: IpAddr) -> PeerSlot {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let closing = Arc::new(Notify::new());
        let mut open = self.open.lock().expect("per peer");
        let held = open.entry(ip).or_default();
        if held.len() >= self.limit
            && let Some((_, oldest)) = held.pop_front()
        {
            oldest.notify_one();
        }
        held.push_back((id, closing.clone()));
        PeerSlot { table: self.clone(), ip, id, closing }
    }
}

impl PeerSlot {
    /// Resolves when a newer connection from the same peer took this one's place.
    pub async fn displaced(&self) {
        self.closing.notified().await
    }
}

impl Drop for PeerSlot {
    fn drop(&mut self) {
        let mut open = self.table.open.lock().expect("per peer");
        if let Some(held) = open.get_mut(&self.ip) {
            held.retain(|(id, _)| *id != self.id);
            if held.is_empty() {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_peer_past_its_limit_displaces_its_oldest_connection_and_no_other_peers() {
        let table = PerPeer::new(2);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let oldest = table.enter(a);
        let second = table.enter(a);
        let other = table.enter(b);
        let newest = table.enter(a);
        let displaced = |slot: &PeerSlot| futures::FutureExt::now_or_never(slot.displaced()).is_some();
        assert!(displaced(&oldest));
        assert!(!displaced(&second) && !displaced(&newest) && !displaced(&other));
        drop((oldest, second, newest, other));
        assert!(table.open.lock().unwrap().is_empty(), "a peer with nothing open is forgotten");
    }

    #[test]
    fn refusals_are_counted_by_reason_and_cleared_when_logged() {
        let refusals = Refusals::default();
        refusals.count("timed out", None);
        refusals.count("refused", Some("first".into()));
        refusals.count("refused", Some("second".into()));
        assert_eq!(refusals.counts.lock().unwrap().get("refused"), Some(&(2, Some("second".into()))));
        refusals.log();
        assert!(refusals.counts.lock().unwrap().is_empty());
        assert_eq!(refusals.total(), 3);
    }
}
