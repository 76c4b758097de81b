//! What every request handler shares: the current config snapshot, storage, and the passphrase.

use alloy::primitives::map::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::config::{Config, ConfigError, ListedPool};
use crate::ethereum::Ethereum;
use crate::passphrase::Passphrase;
use crate::pools::PoolBook;
use crate::storage::{Storage, StorageError, TokenRow};
use crate::tokens::TokenBook;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// How the gateway serves, as settled at start.
pub struct Serving {
    /// Plain HTTP (`--dev`, `DEV=true`): only the Host names of this machine (and `own_names`) are answered.
    pub plain_http: bool,
    pub own_names: Vec<String>,
    pub access: crate::config::access::AccessSettings,
    /// In a container: `POST /restart` with a setting read only at start changed stops the process (exit 0), for
    /// the restart policy to start it again with the new value.
    pub exit_to_restart: bool,
}

/// Per (connector, network): where its order book was last synced to.
pub type BookSyncs = std::collections::HashMap<(String, String), Arc<tokio::sync::Mutex<crate::storage::BookSync>>>;

struct Inner {
    conf_dir: PathBuf,
    config: RwLock<Arc<Config>>,
    /// Serializes config writes so two updates of one file cannot lose each other.
    config_write: tokio::sync::Mutex<()>,
    storage: Storage,
    passphrase: Passphrase,
    ethereum: Ethereum,
    pool_states: connectors::core::state::PoolStates,
    token_books: Derived<TokenRow, TokenBook>,
    pool_books: Derived<ListedPool, PoolBook>,
    clob_synced: std::sync::Mutex<BookSyncs>,
    answers: crate::answers::Answers,
    /// amm and clmm quote requests resolved before their amount. Typed in `app::trading::resolved`, which lies
    /// above this module (what it keeps holds a trading desk), so held here as `Any`.
    resolutions: crate::answers::Kept<Arc<dyn std::any::Any + Send + Sync>>,
    /// Served without TLS (`--dev`): only loopback Host names are answered.
    plain_http: bool,
    /// Who may call beyond Host and Origin: the bearer key, the API's pages.
    access: crate::config::access::AccessSettings,
    /// Host names answered over plain HTTP besides loopback ones: in a container, its service name.
    own_names: Vec<String>,
    /// server.yml `corsOrigins` as read at start (lowercased): the CORS layer is built from them then.
    cors_origins: Vec<String>,
    /// Requests that sent a transaction and are not answered yet: a stop waits for them.
    committed_requests: Arc<std::sync::atomic::AtomicUsize>,
    /// `server.requestTimeoutSeconds`, kept apart from the config so the per-request check takes no lock.
    request_timeout_seconds: AtomicU64,
    /// `server.yml` as the gateway started with it: what settings read only at start are compared with.
    started_with: crate::config::ServerConfig,
    exit_to_restart: bool,
    /// Woken when a restart asks the process to stop.
    exit: tokio::sync::Notify,
}

/// Values built from the config and a list stored in the database, kept per key until either is replaced, so
/// a request does not rebuild them.
struct Derived<R, V> {
    entries: Mutex<HashMap<String, DerivedEntry<R, V>>>,
}

/// The config generation and stored list a value was built from, and the value.
type DerivedEntry<R, V> = (u64, Arc<Vec<R>>, Arc<V>);

impl<R, V> Default for Derived<R, V> {
    fn default() -> Self {
        Derived { entries: Mutex::default() }
    }
}

impl<R, V> Derived<R, V> {
    fn get(&self, key: &str, config: &Config, stored: Arc<Vec<R>>, build: impl FnOnce(&[R]) -> V) -> Arc<V> {
        let mut entries = self.entries.lock().expect("derived values");
        if let Some((generation, list, value)) = entries.get(key)
            && *generation == config.generation()
            && Arc::ptr_eq(list, &stored)
        {
            return value.clone();
        }
        let value = Arc::new(build(&stored));
        entries.insert(key.to_string(), (config.generation(), stored, value.clone()));
        value
    }
}

/// A handle on the state that does not keep it alive: what background loops hold, so a stopped gateway ends them.
pub struct WeakState(std::sync::Weak<Inner>);

impl WeakState {
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

impl AppState {
    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    pub fn new(config: Config, storage: Storage, passphrase: Passphrase, ethereum: Ethereum, serving: Serving) -> Self {
        AppState(Arc::new(Inner {
            conf_dir: config.dir().to_path_buf(),
            request_timeout_seconds: AtomicU64::new(config.server.request_timeout_seconds),
            committed_requests: Arc::default(),
            cors_origins: config.server.cors_origins.iter().map(|origin| origin.to_ascii_lowercase()).collect(),
            started_with: config.server.clone(),
            exit_to_restart: serving.exit_to_restart,
            exit: tokio::sync::Notify::new(),
            config: RwLock::new(Arc::new(config)),
            config_write: tokio::sync::Mutex::new(()),
            storage,
            passphrase,
            ethereum,
            pool_states: connectors::core::state::PoolStates::default(),
            token_books: Derived::default(),
            pool_books: Derived::default(),
            clob_synced: std::sync::Mutex::default(),
            answers: crate::answers::Answers::default(),
            resolutions: crate::answers::Kept::default(),
            plain_http: serving.plain_http,
            access: serving.access,
            own_names: serving.own_names,
        }))
    }

    pub fn access(&self) -> &crate::config::access::AccessSettings {
        &self.0.access
    }

    /// Host names answered over plain HTTP besides loopback ones.
    pub fn own_names(&self) -> &[String] {
        &self.0.own_names
    }

    /// The browser origins allowed to call, as read at start.
    pub fn cors_origins(&self) -> &[String] {
        &self.0.cors_origins
    }

    /// Whether the gateway serves plain HTTP (`--dev`), where only loopback Host names are answered.
    pub fn plain_http(&self) -> bool {
        self.0.plain_http
    }

    /// The count of requests that sent a transaction and are not answered yet.
    pub fn committed_requests(&self) -> Arc<std::sync::atomic::AtomicUsize> {
        self.0.committed_requests.clone()
    }

    /// How long a request may take before it is answered 504.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.0.request_timeout_seconds.load(Ordering::Relaxed))
    }

    /// The tokens `network` knows under `config`.
    pub async fn token_book(&self, config: &Config, network: &str) -> Result<Arc<TokenBook>, StorageError> {
        let added = self.storage().tokens(&config.saved_under(network)).await?;
        Ok(self.0.token_books.get(network, config, added, |rows| TokenBook::build(config, rows, network)))
    }

    /// The pools `connector` trades through on `network` under `config`.
    pub async fn pool_book(
        &self,
        config: &Config,
        connector: &str,
        network: &str,
    ) -> Result<Arc<PoolBook>, StorageError> {
        let added = self.storage().pools(connector, &config.saved_under(network)).await?;
        Ok(self.0.pool_books.get(&format!("{connector}/{network}"), config, added, |rows| {
            PoolBook::build(config, rows, connector, network)
        }))
    }

    /// The block each order-book connector's stored book was last brought up to, by (connector, network); each
    /// is held while its book syncs, so concurrent requests share one sync and other books do not wait.
    pub fn clob_synced(&self) -> &std::sync::Mutex<BookSyncs> {
        &self.0.clob_synced
    }

    pub fn ethereum(&self) -> &Ethereum {
        &self.0.ethereum
    }

    /// Quote answers kept while what they were computed from is unchanged.
    pub fn answers(&self) -> &crate::answers::Answers {
        &self.0.answers
    }

    /// Quote requests resolved before their amount: `app::trading::resolved` alone reads and keeps them.
    pub fn resolutions(&self) -> &crate::answers::Kept<Arc<dyn std::any::Any + Send + Sync>> {
        &self.0.resolutions
    }

    /// What a quote computed now is computed from, besides the chain: read before computing, so a change during
    /// the computation makes what is kept stale rather than a stale value look current.
    pub fn quote_inputs(&self) -> crate::answers::Inputs {
        crate::answers::Inputs {
            config_generation: self.config().generation(),
            lists_epoch: self.storage().lists_epoch(),
        }
    }

    /// Pool state cached per block, for quotes.
    pub fn pool_states(&self) -> &connectors::core::state::PoolStates {
        &self.0.pool_states
    }

    /// The config as of now; holding it keeps one consistent view for a whole request.
    pub fn config(&self) -> Arc<Config> {
        self.0.config.read().expect("config lock is never poisoned").clone()
    }

    pub fn conf_dir(&self) -> &Path {
        &self.0.conf_dir
    }

    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }

    pub fn passphrase(&self) -> &Passphrase {
        &self.0.passphrase
    }

    /// Validates, writes and applies one config change.
    pub async fn update_config(
        &self,
        namespace: &str,
        path: &str,
        value: serde_json::Value,
    ) -> Result<(), ConfigError> {
        let _guard = self.0.config_write.lock().await;
        let next = self.config().update(namespace, path, value)?;
        self.swap_config(next);
        Ok(())
    }

    /// Re-reads every config file from disk, and says which settings read only at start now differ from the
    /// ones the gateway started with.
    pub async fn reload_config(&self) -> Result<Vec<&'static str>, ConfigError> {
        let _guard = self.0.config_write.lock().await;
        let next = Config::load(&self.0.conf_dir)?;
        let waiting = crate::config::changed_since_start(&self.0.started_with, &next.server);
        self.swap_config(next);
        Ok(waiting)
    }

    /// Whether a restart with settings read only at start changed stops the process (in a container).
    pub fn exits_to_restart(&self) -> bool {
        self.0.exit_to_restart
    }

    /// Asks the process to stop cleanly, as a signal would.
    pub fn request_exit(&self) {
        self.0.exit.notify_one();
    }

    /// Returns when a stop is asked for with [`AppState::request_exit`].
    pub async fn exit_requested(&self) {
        self.0.exit.notified().await
    }

    fn swap_config(&self, next: Config) {
        self.0.request_timeout_seconds.store(next.server.request_timeout_seconds, Ordering::Relaxed);
        if next.server.log_level != self.config().server.log_level {
            crate::logging::apply_log_level(&next.server.log_level);
        }
        let generation = next.generation();
        *self.0.config.write().expect("config lock is never poisoned") = Arc::new(next);
        // A resolved request holds its network: one the new config replaced is let go now, not at the next quote.
        self.0.resolutions.forget_before(generation);
    }
}
