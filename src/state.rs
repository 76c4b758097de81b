//! What every request handler shares: the current config snapshot, storage, and the passphrase.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::config::{Config, ConfigError};
use crate::ethereum::Ethereum;
use crate::storage::Storage;

/// The passphrase the wallets are encrypted under. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Passphrase(Arc<str>);

impl Passphrase {
    pub fn new(text: &str) -> Self {
        Passphrase(Arc::from(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    conf_dir: PathBuf,
    config: RwLock<Arc<Config>>,
    /// Serializes config writes so two updates of one file cannot lose each other.
    config_write: tokio::sync::Mutex<()>,
    storage: Storage,
    passphrase: Passphrase,
    ethereum: Ethereum,
    pool_states: connectors::state::PoolStates,
}

impl AppState {
    pub fn new(config: Config, storage: Storage, passphrase: Passphrase, ethereum: Ethereum) -> Self {
        AppState(Arc::new(Inner {
            conf_dir: config.dir().to_path_buf(),
            config: RwLock::new(Arc::new(config)),
            config_write: tokio::sync::Mutex::new(()),
            storage,
            passphrase,
            ethereum,
            pool_states: connectors::state::PoolStates::default(),
        }))
    }

    pub fn ethereum(&self) -> &Ethereum {
        &self.0.ethereum
    }

    /// Pool state cached per block, for quotes.
    pub fn pool_states(&self) -> &connectors::state::PoolStates {
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

    /// Re-reads every config file from disk.
    pub async fn reload_config(&self) -> Result<(), ConfigError> {
        let _guard = self.0.config_write.lock().await;
        let next = Config::load(&self.0.conf_dir)?;
        self.swap_config(next);
        Ok(())
    }

    fn swap_config(&self, next: Config) {
        *self.0.config.write().expect("config lock is never poisoned") = Arc::new(next);
    }
}
