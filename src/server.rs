//! Building and running the HTTP server: routes, Swagger UI, logs, limits, graceful shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderValue;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{Config, ConfigError, install_templates};
use crate::ethereum::Ethereum;
use crate::http::error::ApiError;
use crate::passphrase::Passphrase;
use crate::state::AppState;
use crate::storage::{Storage, StorageError, default_url};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the conf dir {path}: {source}")]
    ConfDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the database: {0}")]
    Storage(#[from] StorageError),
    #[error("{0}; start with the passphrase the wallets were added under")]
    Wallets(#[from] crate::ethereum::WalletLoadError),
    #[error("cannot listen on {addr}: {source} (is another gateway running? choose another port with --port)")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
}

/// How to start a gateway.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    pub conf_dir: PathBuf,
    /// `DATABASE_URL`; the SQLite file in the conf dir when `None`.
    pub database_url: Option<String>,
    pub passphrase: Passphrase,
    pub host: std::net::IpAddr,
    /// Overrides `server.yml`'s port; 0 picks a free one.
    pub port: Option<u16>,
    /// HTTPS with client certificates from `server.yml`'s `certificatePath`; plain HTTP when false.
    pub tls: bool,
    /// Host names answered over plain HTTP besides loopback ones (in a container: its service name).
    pub own_names: Vec<String>,
    pub access: crate::config::access::AccessSettings,
    /// Certificates from this folder rather than `server.yml`'s `certificatePath` (`GATEWAY_CERTS_PATH`: the
    /// image's certs volume).
    pub certificate_dir: Option<PathBuf>,
    /// In a container: a restart that changed a setting read only at start exits, for the restart policy.
    pub exit_to_restart: bool,
}

impl GatewayOptions {
    /// Plain HTTP on 127.0.0.1 at a free port, SQLite in the conf dir, no access rules and nothing a container
    /// changes: what in-process gateways (tests, the benchmark) start from.
    pub fn local(conf_dir: PathBuf, passphrase: Passphrase) -> GatewayOptions {
        GatewayOptions {
            conf_dir,
            database_url: None,
            passphrase,
            host: std::net::Ipv4Addr::LOCALHOST.into(),
            port: Some(0),
            tls: false,
            own_names: Vec::new(),
            access: Default::default(),
            certificate_dir: None,
            exit_to_restart: false,
        }
    }
}

/// The longest a stop waits for requests in flight that sent nothing.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);
/// The longest a stop waits for requests that sent a transaction and wait for its receipt (each network's
/// `transactionExecutionTimeoutMs`, 30 s by default, bounds that wait).
pub const SHUTDOWN_GRACE_FOR_SENDS: Duration = Duration::from_secs(120);

/// A gateway serving in the background of this process.
pub struct RunningGateway {
    pub addr: SocketAddr,
    scheme: &'static str,
    pub state: AppState,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningGateway {
    /// Where a client on this machine reaches it: a gateway listening on every interface is reached on loopback
    /// (a client naming 0.0.0.0 would be refused that Host over plain HTTP).
    pub fn url(&self) -> String {
        let ip = match self.addr.ip() {
            std::net::IpAddr::V4(ip) if ip.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::IpAddr::V6(ip) if ip.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
            ip => ip,
        };
        format!("{}://{}", self.scheme, SocketAddr::new(ip, self.addr.port()))
    }

    /// Stops accepting, lets requests in flight finish, and returns. They get as long as a request may take
    /// (`server.requestTimeoutSeconds`), but at most [`SHUTDOWN_GRACE`]; then connections still open are left
    /// behind (a client that never finishes sending its request), except those of requests that sent a
    /// transaction: their clients need the hash, and are waited for up to [`SHUTDOWN_GRACE_FOR_SENDS`]. What is
    /// left loses its answer when the process exits, never a transaction: a send runs in its own task, and one
    /// cut between signing and sending is settled against the node at the next start.
    pub async fn stop(mut self) -> std::io::Result<()> {
        let _ = self.shutdown.send(());
        let started = std::time::Instant::now();
        let grace = self.state.request_timeout().min(SHUTDOWN_GRACE);
        let committed = self.state.committed_requests();
        loop {
            let waited = started.elapsed();
            let sending = committed.load(Ordering::Relaxed);
            if waited >= SHUTDOWN_GRACE_FOR_SENDS || (waited >= grace && sending == 0) {
                tracing::warn!(
                    waited_seconds = waited.as_secs(),
                    sending,
                    "connections still open; stopping without them"
                );
                self.task.abort();
                return Ok(());
            }
            if let Ok(served) = tokio::time::timeout(Duration::from_millis(100), &mut self.task).await {
                return served.map_err(std::io::Error::other);
            }
        }
    }

    /// Serves until `signal` arrives or a restart asks it to exit, then stops cleanly.
    pub async fn stop_on(self, signal: ShutdownSignal) -> std::io::Result<()> {
        tokio::select! {
            _ = signal.received() => {}
            _ = self.state.exit_requested() => {}
        }
        tracing::info!("shutting down");
        self.stop().await
    }
}

/// Prepares the conf dir, config and storage, binds, and serves in a background task.
pub async fn start(options: GatewayOptions) -> Result<RunningGateway, StartError> {
    let conf_dir = options.conf_dir.clone();
    std::fs::create_dir_all(&conf_dir).map_err(|source| StartError::ConfDir { path: conf_dir.clone(), source })?;
    let written =
        install_templates(&conf_dir).map_err(|source| StartError::ConfDir { path: conf_dir.clone(), source })?;
    if !written.is_empty() {
        tracing::info!(count = written.len(), dir = %conf_dir.display(), "installed default config files");
    }
    let config = Config::load(&conf_dir)?;
    crate::logging::apply_log_level(&config.server.log_level);
    let database_url = options.database_url.clone().unwrap_or_else(|| default_url(&conf_dir));
    let storage = Storage::connect_with(&database_url, config.server.database_max_connections).await?;
    let ethereum = Ethereum::new(storage.clone());
    let wallets = ethereum.load_wallets(&storage, &conf_dir, &options.passphrase).await?;
    tracing::info!(wallets, "wallets unlocked");
    let port = options.port.unwrap_or(config.server.port);
    let tls = match options.tls {
        true => {
            let dir = options
                .certificate_dir
                .clone()
                .unwrap_or_else(|| crate::config::certificate_dir(&conf_dir, &config.server.certificate_path));
            Some(crate::tls::server_config(&dir, &conf_dir, &options.passphrase)?)
        }
        false => None,
    };
    let serving = crate::state::Serving {
        plain_http: tls.is_none(),
        own_names: options.own_names.clone(),
        access: options.access.clone(),
        exit_to_restart: options.exit_to_restart,
    };
    let state = AppState::new(config, storage, options.passphrase.clone(), ethereum, serving);
    // Not waited for: a network whose node is slow or down must not hold up the start.
    tokio::spawn({
        let state = state.clone();
        async move {
            if let Err(error) = state.ethereum().follow_ledger(&state.config(), state.storage()).await {
                tracing::error!(%error, "cannot read the ledger to follow its transactions");
            }
        }
    });
    tokio::spawn(follow_wallets(state.downgrade()));
    let addr = SocketAddr::new(options.host, port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind { addr, source })?;
    let (shutdown, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
    let app = app(state.clone());
    crate::memory::give_back();
    let stopped = async {
        let _ = shutdown_rx.await;
    };
    let (scheme, task) = match tls {
        Some(config) => {
            let listener =
                crate::tls::TlsListener::new(listener, config).map_err(|source| StartError::Bind { addr, source })?;
            ("https", tokio::spawn(crate::connections::serve(listener, app, stopped)))
        }
        None => ("http", tokio::spawn(crate::connections::serve(listener, app, stopped))),
    };
    tracing::info!(%addr, scheme, "gateway listening");
    Ok(RunningGateway { addr, scheme, state, shutdown, task })
}

/// Where the API document is served, for Swagger UI and for clients that generate code from it.
const API_DOCUMENT: &str = "/openapi.json";

/// The API document, served from its JSON written once: the document itself is 6 MiB of structures, and keeping
/// them for this one route made up a quarter of the gateway's memory idle.
fn document_route<S: Clone + Send + Sync + 'static>(api: &utoipa::openapi::OpenApi) -> axum::routing::MethodRouter<S> {
    let json = axum::body::Bytes::from(serde_json::to_vec(api).expect("the API document is JSON"));
    axum::routing::get(move || {
        let json = json.clone();
        async move { crate::http::answers::json(json) }
    })
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    crate::metrics::handle();
    crate::memory::give_back_when_quiet();
    let (router, api) = crate::http::parts();
    // Browsers on an origin the config allows need CORS answers (preflights included); with none allowed, no layer
    // at all, so no request pays for it.
    let cors_origins = state.cors_origins().to_vec();
    let access = state.access().clone();
    let docs = Router::from(SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::new([API_DOCUMENT])))
        .route(API_DOCUMENT, document_route(&api))
        .route_layer(axum::middleware::from_fn_with_state(access.docs_for_everyone, crate::http::guard::docs_gate));
    let router = router
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), crate::http::around))
        .merge(docs)
        .fallback(|| async { ApiError::not_found("no such route; the API is described at /docs") })
        .with_state(state);
    // With no key required, no layer at all: no request pays for it.
    let router = match &access.api_key {
        Some(key) => {
            let guard = std::sync::Arc::new(crate::http::guard::Guard::new(key.clone(), &access));
            router.layer(axum::middleware::from_fn_with_state(guard, crate::http::guard::require_key))
        }
        None => router,
    };
    let router = router.layer(DefaultBodyLimit::max(crate::http::BODY_LIMIT_BYTES));
    if cors_origins.is_empty() {
        return router;
    }
    let origins: Vec<HeaderValue> = cors_origins.iter().filter_map(|origin| origin.parse().ok()).collect();
    router.layer(
        tower_http::cors::CorsLayer::new()
            .allow_origin(origins)
            .allow_methods(tower_http::cors::Any)
            .allow_headers(tower_http::cors::Any),
    )
}

/// SIGINT (Ctrl-C) or SIGTERM. The handlers are installed when this is made, so make it before serving: a
/// signal that arrives between "listening" and the first wait must not kill the process without a clean stop.
pub struct ShutdownSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    pub fn install() -> std::io::Result<ShutdownSignal> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(ShutdownSignal { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
    }

    pub async fn received(mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
    }
}

/// How often the stored wallets are compared with the signers: a wallet added or removed through another instance
/// signs, or stops, here within this.
const WALLET_FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Follows the stored wallets, and the default one, for as long as the gateway runs.
async fn follow_wallets(state: crate::state::WeakState) {
    let mut default_seen = None;
    loop {
        tokio::time::sleep(WALLET_FOLLOW_EVERY).await;
        let Some(state) = state.upgrade() else { return };
        if let Err(error) = state.ethereum().follow_wallets(state.storage(), state.passphrase()).await {
            tracing::debug!(%error, "cannot read the stored wallets");
        }
        if let Err(error) = follow_default_wallet(&state, &mut default_seen).await {
            tracing::debug!(%error, "cannot follow the default wallet");
        }
    }
}

/// Applies a default wallet made (or unset) through another instance: only a change of the stored one since
/// this instance last looked, so a default set by hand in this instance's config stands until the next change.
async fn follow_default_wallet(
    state: &crate::state::AppState,
    seen: &mut Option<String>,
) -> crate::error::AppResult<()> {
    let stored = state.storage().default_wallet(crate::config::CHAIN).await?;
    if stored.is_none() || stored == *seen {
        return Ok(());
    }
    *seen = stored.clone();
    let address = stored.unwrap_or_default();
    if !state.config().chain.default_wallet.eq_ignore_ascii_case(&address) {
        state.update_config(crate::config::CHAIN, "defaultWallet", serde_json::json!(address)).await?;
        tracing::info!(%address, "default wallet made through another instance");
    }
    Ok(())
}
