//! The gateway's view of the ethereum chain: its networks (built from the config, rebuilt when a network's
//! settings change), the wallets' decrypted signers, and the transaction sender over the ledger.

use alloy::primitives::map::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use chains::network::{GasSettings, Network, NetworkSettings};
use chains::tx::TxSender;
use chains::tx::tracker;
use chains::wallet::{self, Signers};

use crate::config::{CHAIN, Config, NetworkConfig};
use crate::error::AppError;
use crate::passphrase::Passphrase;
use crate::storage::{Storage, StorageError, WalletRow};

pub struct Ethereum {
    /// By name, with the generation of the config last found to describe each as it is.
    networks: RwLock<HashMap<String, (u64, Arc<Network>)>>,
    pub signers: Arc<Signers>,
    /// Stored wallets that do not open under this instance's passphrase: said once, not tried again.
    unopened: std::sync::Mutex<std::collections::HashSet<Address>>,
    pub sender: Arc<TxSender<Storage>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalletLoadError {
    #[error("cannot read wallets: {0}")]
    Storage(#[from] StorageError),
    #[error("wallet {address}: {reason}")]
    Decrypt { address: String, reason: String },
    #[error("{path}: {reason}")]
    Import { path: String, reason: String },
}

impl Ethereum {
    pub fn new(storage: Storage) -> Self {
        Ethereum {
            networks: RwLock::default(),
            signers: Arc::default(),
            unopened: Default::default(),
            sender: Arc::new(TxSender::new(storage)),
        }
    }

    /// The network `name` as configured now. A network whose settings changed since it was built is rebuilt.
    pub fn network(&self, config: &Config, name: &str) -> Result<Arc<Network>, AppError> {
        if let Some((generation, network)) = self.networks.read().expect("networks lock").get(name)
            && *generation == config.generation()
        {
            return Ok(network.clone());
        }
        let network_config = config.network(name).ok_or_else(|| {
            AppError::invalid(
                "network",
                format!(
                    "unknown network {}; configured: {}",
                    chains::quoted(name),
                    config.networks.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let settings = network_settings(name, network_config);
        let mut networks = self.networks.write().expect("networks lock");
        let network = match networks.get(name) {
            Some((_, network)) if network.settings() == &settings => network.clone(),
            _ => {
                let network = Arc::new(Network::connect(settings).map_err(AppError::from)?);
                // Every network value has its tracker, which follows its pending transactions to their end.
                tracker::spawn(&network, self.sender.clone(), self.signers.clone());
                network
            }
        };
        // A request still holding an older config must not displace the network of a newer one.
        if networks.get(name).is_none_or(|(generation, _)| *generation <= config.generation()) {
            networks.insert(name.to_string(), (config.generation(), network.clone()));
        }
        Ok(network)
    }

    /// Starts following every configured network the ledger holds transactions of: its tracker settles what the
    /// last run left (sends a crash cut short, transactions mined or dropped since, a chain that was reset).
    /// Transactions recorded before the ledger named networks go to the first network of their chain id.
    pub async fn follow_ledger(&self, config: &Config, storage: &Storage) -> Result<(), StorageError> {
        let mut named = storage.ledger_networks().await?;
        if named.iter().any(String::is_empty) {
            for (name, network) in &config.networks {
                let claimed = storage.claim_unnamed_transactions(name, network.chain_id).await?;
                if claimed > 0 {
                    tracing::info!(network = %name, claimed, "ledger rows recorded before networks were named belong to this network");
                }
            }
            named = storage.ledger_networks().await?;
        }
        for name in named {
            if config.network(&name).is_some()
                && let Err(error) = self.network(config, &name)
            {
                tracing::warn!(network = %name, %error, "cannot follow this network's transactions");
            }
        }
        Ok(())
    }

    /// Decrypts every stored wallet into memory, first importing Hummingbot Gateway's wallet files found in
    /// `conf/wallets/ethereum/`. A passphrase that does not decrypt them stops the start.
    pub async fn load_wallets(
        &self,
        storage: &Storage,
        conf_dir: &Path,
        passphrase: &Passphrase,
    ) -> Result<usize, WalletLoadError> {
        self.import_gateway_wallet_files(storage, conf_dir, passphrase).await?;
        let rows = storage.wallets(CHAIN).await?;
        for row in &rows {
            let Some(keystore) = row.keystore.clone() else {
                continue;
            };
            let opened = keystore_work(passphrase, move |passphrase| wallet::decrypt(&keystore, passphrase)).await;
            let signer =
                opened.map_err(|e| WalletLoadError::Decrypt { address: row.address.clone(), reason: e.to_string() })?;
            // Keystores written with a weaker key derivation (eth-keystore's 2^13) are encrypted anew.
            if row.keystore.as_deref().is_some_and(wallet::weaker_than_ours) {
                let signer = signer.clone();
                let stronger = keystore_work(passphrase, move |passphrase| wallet::encrypt(&signer, passphrase)).await;
                let stronger = stronger
                    .map_err(|e| WalletLoadError::Decrypt { address: row.address.clone(), reason: e.to_string() })?;
                storage.update_wallet_keystore(CHAIN, &row.address, &stronger).await?;
                tracing::info!(address = %row.address, "wallet keystore re-encrypted with scrypt at 2^17");
            }
            self.signers.insert(signer);
        }
        Ok(rows.len())
    }

    async fn import_gateway_wallet_files(
        &self,
        storage: &Storage,
        conf_dir: &Path,
        passphrase: &Passphrase,
    ) -> Result<(), WalletLoadError> {
        let dir = conf_dir.join("wallets").join(CHAIN);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        let known: Vec<String> = storage.wallets(CHAIN).await?.into_iter().map(|w| w.address.to_lowercase()).collect();
        for entry in entries.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let import_error = |reason: String| WalletLoadError::Import { path: path.display().to_string(), reason };
            let keystore = std::fs::read_to_string(&path).map_err(|e| import_error(e.to_string()))?;
            let opened = keystore_work(passphrase, move |passphrase| wallet::decrypt(&keystore, passphrase)).await;
            let signer = opened.map_err(|e| import_error(e.to_string()))?;
            let address = signer.address().to_checksum(None);
            if known.contains(&address.to_lowercase()) {
                continue;
            }
            // Re-encrypted in our format, so one keystore flavour is stored.
            let sealed = signer.clone();
            let keystore = keystore_work(passphrase, move |passphrase| wallet::encrypt(&sealed, passphrase)).await;
            let keystore = keystore.map_err(|e| import_error(e.to_string()))?;
            storage
                .insert_wallet(&WalletRow { chain: CHAIN.into(), address: address.clone(), keystore: Some(keystore) })
                .await?;
            tracing::info!(%address, file = %path.display(), "imported a Hummingbot Gateway wallet file");
        }
        Ok(())
    }

    /// Stores a key encrypted under the passphrase and keeps its signer; adding one already there changes nothing.
    pub async fn add_signer(
        &self,
        storage: &Storage,
        passphrase: &Passphrase,
        signer: PrivateKeySigner,
    ) -> Result<String, AppError> {
        let address = signer.address().to_checksum(None);
        if !self.signers.contains(signer.address()) {
            let sealed = signer.clone();
            let keystore = keystore_work(passphrase, move |passphrase| wallet::encrypt(&sealed, passphrase)).await?;
            let row = WalletRow { chain: CHAIN.into(), address: address.clone(), keystore: Some(keystore) };
            match storage.insert_wallet(&row).await {
                Ok(()) => {}
                Err(StorageError::Duplicate(_)) => {
                    // Kept only in memory, the key would sign until the next start and then be gone.
                    let stored = storage.wallet(CHAIN, &address).await?;
                    if stored.is_some_and(|stored| stored.keystore.is_none()) {
                        return Err(AppError::invalid(
                            "privateKey",
                            format!(
                                "{address} is registered as a hardware wallet; remove it first (DELETE /wallet/remove) \
                                 to keep its key here"
                            ),
                        ));
                    }
                }
                Err(other) => return Err(other.into()),
            }
            self.signers.insert(signer);
            tracing::info!(%address, "wallet added");
        }
        Ok(address)
    }

    /// Brings the signers in line with the stored wallets, which other instances sharing the database change too:
    /// a wallet stored since is decrypted and signs, one removed stops signing. One that does not open under this
    /// instance's passphrase is left out (and said once).
    pub async fn follow_wallets(&self, storage: &Storage, passphrase: &Passphrase) -> Result<(), StorageError> {
        let rows = storage.wallets(CHAIN).await?;
        let stored: Vec<(Address, Option<String>)> =
            rows.into_iter().filter_map(|row| Some((row.address.parse().ok()?, row.keystore))).collect();
        for address in self.signers.addresses() {
            if !stored.iter().any(|(stored, _)| *stored == address) {
                self.signers.remove(address);
                tracing::info!(%address, "wallet removed through another instance: it no longer signs here");
            }
        }
        for (address, keystore) in stored {
            let known = self.signers.contains(address) || self.unopened.lock().expect("unopened").contains(&address);
            let Some(keystore) = keystore.filter(|_| !known) else { continue };
            match keystore_work(passphrase, move |passphrase| wallet::decrypt(&keystore, passphrase)).await {
                Ok(signer) => {
                    self.signers.insert(signer);
                    tracing::info!(%address, "wallet added through another instance: it signs here too");
                }
                Err(error) => {
                    self.unopened.lock().expect("unopened").insert(address);
                    tracing::warn!(%address, %error, "a stored wallet does not open with this passphrase");
                }
            }
        }
        Ok(())
    }

    /// Forgets a wallet and its encrypted key; false when there was none.
    pub async fn remove_wallet(&self, storage: &Storage, address: Address) -> Result<bool, AppError> {
        let removed = storage.delete_wallet(CHAIN, &address.to_checksum(None)).await?;
        self.signers.remove(address);
        Ok(removed)
    }

    pub fn signer(&self, address: Address) -> Result<PrivateKeySigner, AppError> {
        self.signers.get(address).map_err(AppError::from)
    }
}

/// How many keystore derivations run at once. Each holds 128 MiB while it runs: twenty wallets added at once
/// would need 2.5 GiB, past a container's limit; two keep a burst at 256 MiB with both cores of a small machine busy.
const KEYSTORE_WORK_AT_ONCE: usize = 2;

/// Keystore work (scrypt at 2^17: a few hundred milliseconds and 128 MiB) on a thread of its own, not a request's,
/// in turn with the rest beyond [`KEYSTORE_WORK_AT_ONCE`].
async fn keystore_work<T: Send + 'static>(passphrase: &Passphrase, work: impl FnOnce(&str) -> T + Send + 'static) -> T {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(KEYSTORE_WORK_AT_ONCE);
    let turn = TURNS.acquire().await.expect("the semaphore is never closed");
    let passphrase = passphrase.clone();
    // The turn goes with the work: a request given up while it runs does not free the turn before the memory.
    let work = move || {
        let _turn = turn;
        work(passphrase.expose())
    };
    tokio::task::spawn_blocking(work).await.expect("keystore work does not panic")
}

pub fn network_settings(name: &str, config: &NetworkConfig) -> NetworkSettings {
    NetworkSettings {
        name: name.to_string(),
        chain_id: config.chain_id,
        node_urls: config.node_url.to_vec(),
        native_symbol: config.native_currency_symbol.clone(),
        gas: GasSettings {
            base_fee_gwei: config.base_fee,
            base_fee_multiplier: config.base_fee_multiplier,
            priority_fee_gwei: config.priority_fee,
            gas_price_gwei: config.gas_price,
            rules: config.chain_rules(),
        },
        tx_timeout: Duration::from_millis(config.transaction_execution_timeout_ms),
        fee_caps: config.fee_caps(),
        replace_after: config.replace_after_seconds.map(Duration::from_secs),
        drop_after: Duration::from_secs(config.drop_after_seconds),
        confirmations: config.confirmations,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn keystore_work_beyond_its_turns_waits_even_for_requests_given_up() {
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let passphrase = Passphrase::new("test");
        let works: Vec<_> = (0..6)
            .map(|_| {
                let (running, most, passphrase) = (running.clone(), most.clone(), passphrase.clone());
                tokio::spawn(async move {
                    keystore_work(&passphrase, move |_| {
                        most.fetch_max(running.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        // Half the requests are given up while their work runs or waits.
        tokio::time::sleep(Duration::from_millis(20)).await;
        for work in &works[..3] {
            work.abort();
        }
        for work in works.into_iter().skip(3) {
            work.await.unwrap();
        }
        while running.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(most.load(Ordering::SeqCst), KEYSTORE_WORK_AT_ONCE);
    }
}
