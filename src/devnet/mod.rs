//! The local devnet: a real anvil node with the real Uniswap, PancakeSwap, WETH9 and Multicall3 contracts at
//! their mainnet addresses, funded pools, and funded test accounts.
//!
//! A devnet `--like` another network has that network's chain id and fee behaviour, and its token list and
//! protocols at that network's addresses, with no pool listed.
//!
//! Deploying takes a few seconds, so the first start deploys once and saves anvil's state as a snapshot in
//! `tests/.devnet/` (one per profile); every later start loads it in about 0.1 s. The snapshot's name is a hash
//! of the deploy code, the contracts and the network's files, so changing any makes a new one.

mod assets;
mod deploy;
pub mod faults;
mod front;
mod plan;
mod pools;
mod zeroex;

use connectors::core::family::TradingType;
use std::io::Read;
use std::path::{Path, PathBuf};

use alloy::network::TransactionBuilder;
use alloy::node_bindings::{Anvil, AnvilInstance};
use alloy::primitives::{Address, Bytes, U256, keccak256};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall;
use serde::{Deserialize, Serialize};

pub use assets::{DevnetAssets, artifact_packages};
pub use faults::Faults;
pub use pools::add_market;

/// WETH9 at its mainnet address: the plain devnet's wrapped native token, and the one 0x is built against.
pub const WETH: Address = alloy::primitives::address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");

use crate::rehearsal::{NETWORK, Profile};

#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    #[error("{0}")]
    Tool(String),
    #[error("contract artifact: {0} (delete tests/.devnet/packages to fetch the packages again)")]
    Artifact(String),
    #[error("anvil: {0}")]
    Anvil(String),
    #[error("deploying the devnet: {0}")]
    Step(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl DevnetError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        DevnetError::Io { path: path.to_path_buf(), source }
    }
}

/// A token the devnet deployed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetToken {
    pub symbol: String,
    pub name: String,
    pub address: Address,
    pub decimals: u8,
}

/// A pool the devnet created and funded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevnetPool {
    pub connector: String,
    /// `amm` (V2) or `clmm` (V3, V4).
    pub kind: TradingType,
    pub base: String,
    pub quote: String,
    pub base_address: Address,
    pub quote_address: Address,
    /// The pool's contract, or a V4 pool's id.
    pub address: connectors::core::pool_address::PoolAddress,
    /// V3 and V4 fee in hundredths of a basis point; 0 for V2 pairs.
    pub fee: u32,
}

impl DevnetPool {
    fn new(
        connector: &str,
        kind: TradingType,
        base: &DevnetToken,
        quote: &DevnetToken,
        address: impl Into<connectors::core::pool_address::PoolAddress>,
        fee: u32,
    ) -> Self {
        DevnetPool {
            connector: connector.into(),
            kind,
            base: base.symbol.clone(),
            quote: quote.symbol.clone(),
            base_address: base.address,
            quote_address: quote.address,
            address: address.into(),
            fee,
        }
    }
}

/// What a snapshot holds besides the chain state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    pub chain_id: u64,
    pub tokens: Vec<DevnetToken>,
    pub pools: Vec<DevnetPool>,
}

impl Deployment {
    /// The wrapped native token (WETH9's code; CELO's own token on a Celo-like devnet): deployed first.
    pub fn wrapped_native(&self) -> &DevnetToken {
        &self.tokens[0]
    }

    pub fn token(&self, symbol: &str) -> &DevnetToken {
        self.tokens.iter().find(|t| t.symbol == symbol).unwrap_or_else(|| panic!("the devnet has no {symbol}"))
    }
}

/// Points the conf's devnet network at the running devnet (the template says port 8545), with its profile's
/// chain id. A cap under that chain's tip floor (the devnet's 10 gwei maxPriorityFee under Polygon's 25) is
/// raised to the chain's default, and said so; the user's other settings stay as they are. Sending by API is
/// turned on, to the devnet's funded `accounts`.
pub fn point_network_at(
    conf_dir: &Path,
    rpc_url: &str,
    like: Profile,
    accounts: &[alloy::primitives::Address],
) -> Result<Option<String>, String> {
    std::fs::create_dir_all(conf_dir).map_err(|e| format!("{}: {e}", conf_dir.display()))?;
    crate::config::install_templates(conf_dir).map_err(|e| format!("{}: {e}", conf_dir.display()))?;
    let namespace = format!("ethereum-{NETWORK}");
    let load = || crate::config::Config::load(conf_dir).map_err(|e| e.to_string());
    // The caps first: the chain id is checked against them.
    let current = load()?.network(NETWORK).map(|network| network.fee_caps());
    let rules = chains::gas::ChainRules::for_chain(like.chain_id);
    let defaults = chains::gas::FeeCaps::default_for(like.chain_id);
    let floor_cap = match rules.legacy {
        true => ("gasPriceCap", current.map(|caps| caps.gas_price_cap)),
        false => ("maxPriorityFee", current.map(|caps| caps.max_priority_fee)),
    };
    let mut settings = Vec::new();
    let mut raised = None;
    if let (setting, Some(cap)) = floor_cap
        && cap < rules.min_tip
    {
        // All three, the per-gas cap first: each is checked against the others as it is written.
        let caps = [
            ("gasPriceCap", defaults.gas_price_cap as f64 / 1e9),
            ("maxPriorityFee", defaults.max_priority_fee as f64 / 1e9),
            ("maxTxFee", f64::from(defaults.max_tx_fee) / 1e18),
        ];
        settings.extend(caps.map(|(name, value)| (name, serde_json::json!(value))));
        let listed: Vec<String> = caps.iter().map(|(name, value)| format!("{name} {value}")).collect();
        raised = Some(format!(
            "{setting} was under {}'s tip floor: the fee caps are now that chain's ({}; GWEI per gas, the native \
             currency per transaction)",
            like.name,
            listed.join(", ")
        ));
    }
    // Switching chains: the chain's native currency, routing tokens and swap provider come with it, from its
    // template (the plain devnet's when switching back). Left alone otherwise: they are the user's to change.
    if load()?.network(NETWORK).is_none_or(|network| network.chain_id != like.chain_id) {
        let template = if like.is_plain() { NETWORK } else { like.name };
        let (chain, _) = crate::config::network_template(template)
            .ok_or_else(|| format!("no template describes network {template}"))?;
        settings.extend([
            ("nativeCurrencySymbol", serde_json::json!(chain.native_currency_symbol)),
            ("routingTokens", serde_json::json!(chain.routing_tokens)),
            ("swapProvider", serde_json::json!(chain.swap_provider)),
        ]);
    }
    settings.extend([("nodeURL", serde_json::json!(rpc_url)), ("chainID", serde_json::json!(like.chain_id))]);
    // A devnet gateway is this machine's alone and its wallets hold test funds: sending by API is on, to the
    // devnet's accounts (examples/07-send.sh).
    let recipients: Vec<String> = accounts.iter().map(|account| account.to_checksum(None)).collect();
    let sending = [
        ("server", "walletSend", serde_json::json!(true)),
        ("server", "allowedRecipients", serde_json::json!(recipients)),
    ];
    let settings = settings.into_iter().map(|(setting, value)| (namespace.as_str(), setting, value));
    for (namespace, setting, value) in settings.chain(sending) {
        // Loaded again for each: an update writes the file from the values it was loaded with.
        let config = load()?;
        if config.namespace(namespace).map_err(|e| e.to_string())?[setting] != value {
            config.update(namespace, setting, value).map_err(|e| e.to_string())?;
        }
    }
    Ok(raised)
}

/// The L1 fee parameters an OP-stack devnet starts with: Base's scalars (L1Block on Base, 2025) over an L1
/// base fee of 20 gwei and a blob base fee of 3 gwei, so the fee is well above rounding.
const L1_BASE_FEE: u64 = 20_000_000_000;
const L1_BLOB_BASE_FEE: u64 = 3_000_000_000;
const L1_BASE_FEE_SCALAR: u64 = 2269;
const L1_BLOB_BASE_FEE_SCALAR: u64 = 1_055_762;
const OP_CONTRACTS: &str = "@eth-optimism/contracts-bedrock";
const GAS_PRICE_ORACLE: Address = alloy::primitives::address!("0x420000000000000000000000000000000000000F");

/// A running devnet. Dropping it stops anvil.
pub struct Devnet {
    anvil: AnvilInstance,
    /// Before anvil when the profile has one: clients talk to it.
    front: Option<front::Front>,
    deployment: Deployment,
}

impl Devnet {
    /// Starts anvil from the snapshot (deploying and saving one first if needed) on `port` (0 for any free one).
    pub async fn start(assets: &DevnetAssets, port: u16, progress: &dyn Fn(&str)) -> Result<Devnet, DevnetError> {
        Devnet::start_like(assets, port, Profile::PLAIN, progress).await
    }

    /// Starts a devnet that behaves like `profile`'s network.
    pub async fn start_like(
        assets: &DevnetAssets,
        port: u16,
        profile: Profile,
        progress: &dyn Fn(&str),
    ) -> Result<Devnet, DevnetError> {
        Devnet::start_with(assets, port, profile, Faults::default(), progress).await
    }

    /// Starts a devnet that behaves like `profile`'s network, its node answering through a provider with `faults`.
    pub async fn start_with(
        assets: &DevnetAssets,
        port: u16,
        profile: Profile,
        faults: Faults,
        progress: &dyn Fn(&str),
    ) -> Result<Devnet, DevnetError> {
        let (state_file, deployment) = ensure_snapshot(assets, profile, progress).await?;
        let floor = profile.refusal.map(|refusal| front::TipFloor {
            min_tip: chains::gas::ChainRules::for_chain(profile.chain_id).min_tip,
            refusal,
        });
        let fronted = floor.is_some() || faults.any();
        let anvil = spawn_anvil(assets, if fronted { 0 } else { port }, Some(&state_file), profile)?;
        if profile.op_stack {
            install_op_predeploys(assets, &anvil.endpoint()).await?;
        }
        let front = match fronted {
            true => Some(front::start(port, anvil.endpoint(), floor, faults).await?),
            false => None,
        };
        Ok(Devnet { anvil, front, deployment })
    }

    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Anvil itself, past the front (its refusals and faults) when there is one.
    pub fn anvil_url(&self) -> String {
        self.anvil.endpoint()
    }

    pub fn port(&self) -> u16 {
        self.front.as_ref().map_or(self.anvil.port(), |front| front.port)
    }

    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The funded accounts (anvil's default mnemonic); the first one deployed everything and provides the liquidity.
    pub fn accounts(&self) -> &[Address] {
        self.anvil.addresses()
    }

    /// The private key of account `index`, as 0x-prefixed hex (anvil's well-known test keys).
    pub fn private_key(&self, index: usize) -> String {
        format!("0x{}", alloy::hex::encode(self.anvil.keys()[index].to_bytes()))
    }
}

/// The OP-stack predeploys that price the L1 data fee, with the fee parameters set as the sequencer's first
/// transaction of each block would (storage layout: OP specs, ecotone/l1-attributes.md; Fjord's flags in the
/// oracle's slot 0).
async fn install_op_predeploys(assets: &DevnetAssets, rpc_url: &str) -> Result<(), DevnetError> {
    let provider = RootProvider::<alloy::network::Ethereum>::new_http(
        rpc_url.parse().map_err(|e| DevnetError::Anvil(format!("bad anvil URL {rpc_url}: {e}")))?,
    );
    let l1_block = assets.runtime_code(OP_CONTRACTS, "forge-artifacts/L1Block.sol/L1Block.json")?;
    let oracle = assets.runtime_code(OP_CONTRACTS, "forge-artifacts/GasPriceOracle.sol/GasPriceOracle.json")?;
    let anvil =
        |what: &'static str| move |e: alloy::transports::TransportError| DevnetError::Anvil(format!("{what}: {e}"));
    use alloy::providers::ext::AnvilApi;
    provider.anvil_set_code(chains::l1_fee::L1_BLOCK, l1_block).await.map_err(anvil("L1Block code"))?;
    provider.anvil_set_code(GAS_PRICE_ORACLE, oracle).await.map_err(anvil("GasPriceOracle code"))?;
    let scalars = U256::from(L1_BASE_FEE_SCALAR) << 96 | U256::from(L1_BLOB_BASE_FEE_SCALAR) << 64;
    let slots = [
        (chains::l1_fee::L1_BLOCK, 1u64, U256::from(L1_BASE_FEE)),
        (chains::l1_fee::L1_BLOCK, 3, scalars),
        (chains::l1_fee::L1_BLOCK, 7, U256::from(L1_BLOB_BASE_FEE)),
        (GAS_PRICE_ORACLE, 0, U256::from(0x0101)),
    ];
    for (contract, slot, value) in slots {
        provider
            .anvil_set_storage_at(contract, U256::from(slot), value.into())
            .await
            .map_err(anvil("L1 fee parameters"))?;
    }
    Ok(())
}

/// Variables of the gateway's environment that hold secrets, emptied for the node it starts.
const SECRET_VARIABLES: [&str; 3] = ["GATEWAY_PASSPHRASE", "GATEWAY_API_KEY", "DATABASE_URL"];

fn spawn_anvil(
    assets: &DevnetAssets,
    port: u16,
    state: Option<&Path>,
    profile: Profile,
) -> Result<AnvilInstance, DevnetError> {
    let mut anvil = Anvil::at(assets.anvil_bin())
        .host("127.0.0.1")
        .port(port)
        .chain_id(profile.chain_id)
        .args(["--balance", "1000000", "--gas-limit", "100000000"])
        .timeout(30_000);
    // The node needs none of the gateway's secrets, and a child's environment is readable wherever its process is.
    for secret in SECRET_VARIABLES {
        anvil = anvil.env(secret, "");
    }
    if profile.op_stack {
        anvil = anvil.args(["--network", "optimism"]);
    }
    anvil = anvil.args(profile.anvil_args.iter().copied());
    if let Some(state) = state {
        anvil = anvil.arg("--load-state").arg(state);
    }
    anvil.try_spawn().map_err(|e| {
        let hint = if port != 0 {
            format!(" (is port {port} already in use? pick another with --rpc-port)")
        } else {
            String::new()
        };
        DevnetError::Anvil(format!("could not start {}: {e}{hint}", assets.anvil_bin().display()))
    })
}

/// A name for `profile`'s snapshot that changes whenever what it would contain changes: the deploy code, the
/// contracts, and the network's settings and token list it deploys.
fn snapshot_name(profile: Profile) -> String {
    let mut inputs = [
        include_str!("deploy.rs"),
        assets::TEST_TOKEN_SOL,
        assets::PANCAKE_DEPLOYER_SOL,
        include_str!("../../tests/package.json"),
        include_str!("../../connectors/deployments.json"),
    ]
    .concat();
    if !profile.is_plain() {
        for file in [format!("chains/ethereum/{}.yml", profile.name), format!("tokens/ethereum/{}.json", profile.name)]
        {
            inputs.push_str(crate::config::template(&file).unwrap_or_default());
        }
        // The deploy runs on anvil as the profile starts it.
        inputs.push_str(&format!("{} {} {:?}", profile.chain_id, profile.op_stack, profile.anvil_args));
    }
    let key = alloy::hex::encode(&keccak256(inputs.as_bytes())[..8]);
    match profile.is_plain() {
        true => format!("snapshot-{key}"),
        false => format!("snapshot-{}-{key}", profile.name),
    }
}

async fn ensure_snapshot(
    assets: &DevnetAssets,
    profile: Profile,
    progress: &dyn Fn(&str),
) -> Result<(PathBuf, Deployment), DevnetError> {
    let dir = assets.work_dir().join(snapshot_name(profile));
    let (state_file, deployment_file) = (dir.join("state.json"), dir.join("deployment.json"));
    let read_deployment = || -> Result<Deployment, DevnetError> {
        let text = std::fs::read_to_string(&deployment_file).map_err(|e| DevnetError::io(&deployment_file, e))?;
        serde_json::from_str(&text).map_err(|e| DevnetError::Step(format!("{}: {e}", deployment_file.display())))
    };
    if state_file.is_file() && deployment_file.is_file() {
        return Ok((state_file, read_deployment()?));
    }
    // Another test or process may be building the same snapshot: wait for it rather than deploy twice.
    let locking = assets.clone();
    let lock = tokio::task::spawn_blocking(move || locking.lock()).await.expect("lock task does not panic")?;
    if state_file.is_file() && deployment_file.is_file() {
        return Ok((state_file, read_deployment()?));
    }
    let started = std::time::Instant::now();
    assets.ensure_installed(progress)?;
    progress("starting a fresh anvil to deploy the contracts (done once; later starts load a snapshot)");
    let anvil = spawn_anvil(assets, 0, None, profile)?;
    let deployment = deploy::deploy(&anvil.endpoint(), assets, anvil.addresses(), profile, progress).await?;
    let provider = RootProvider::<alloy::network::Ethereum>::new_http(anvil.endpoint_url());
    let dump = alloy::providers::ext::AnvilApi::anvil_dump_state(&provider)
        .await
        .map_err(|e| DevnetError::Anvil(format!("anvil_dumpState: {e}")))?;
    let state = decode_state_dump(&dump)?;
    drop(anvil);
    std::fs::create_dir_all(&dir).map_err(|e| DevnetError::io(&dir, e))?;
    let write = |path: &Path, text: String| {
        crate::files::write_atomically(path, text.as_bytes()).map_err(|e| DevnetError::io(path, e))
    };
    write(&deployment_file, serde_json::to_string_pretty(&deployment).expect("deployment serializes"))?;
    // The state goes last: its presence is what marks the snapshot complete.
    write(&state_file, state.to_string())?;
    progress(&format!("devnet deployed and saved in {:.1} s", started.elapsed().as_secs_f64()));
    drop(lock);
    Ok((state_file, deployment))
}

/// anvil_dumpState answers with gzip'ed JSON.
fn decode_state_dump(dump: &[u8]) -> Result<serde_json::Value, DevnetError> {
    let mut text = Vec::new();
    let bytes = if flate2::read::GzDecoder::new(dump).read_to_end(&mut text).is_ok() { &text[..] } else { dump };
    serde_json::from_slice(bytes).map_err(|e| DevnetError::Anvil(format!("anvil_dumpState is not JSON: {e}")))
}

/// The devnet's RPC acting through anvil's unlocked accounts: for setting up the chain and for tests, which
/// need to act as any funded account without the gateway's wallets.
pub struct Unlocked {
    pub provider: RootProvider,
    /// The account that sends when none is named: the deployer, account 0.
    pub deployer: Address,
}

impl Unlocked {
    pub fn new(rpc_url: &str, deployer: Address) -> Result<Unlocked, DevnetError> {
        let url = rpc_url.parse().map_err(|e| DevnetError::Anvil(format!("bad anvil URL {rpc_url}: {e}")))?;
        Ok(Unlocked { provider: RootProvider::new_http(url), deployer })
    }

    /// Sends and waits for the receipt; a revert is an error.
    pub async fn transact(
        &self,
        tx: TransactionRequest,
        what: &'static str,
    ) -> Result<TransactionReceipt, DevnetError> {
        let tx = if tx.gas.is_none() { tx.gas_limit(29_000_000) } else { tx };
        let hash = *self.provider.send_transaction(tx).await.map_err(rpc(what))?.tx_hash();
        // anvil mines each transaction as it arrives, but may answer the send a moment before the block exists.
        let mut receipt = None;
        for _ in 0..5000 {
            receipt = self.provider.get_transaction_receipt(hash).await.map_err(rpc(what))?;
            if receipt.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let receipt = receipt.ok_or_else(|| DevnetError::Step(format!("{what}: no receipt for {hash}")))?;
        if !receipt.status() {
            return Err(DevnetError::Step(format!("{what}: transaction {hash} reverted")));
        }
        Ok(receipt)
    }

    pub async fn deploy(&self, code: Bytes, constructor_args: Vec<u8>) -> Result<Address, DevnetError> {
        let tx = TransactionRequest::default()
            .from(self.deployer)
            .with_deploy_code(Bytes::from([code.as_ref(), &constructor_args].concat()));
        let receipt = self.transact(tx, "contract deployment").await?;
        receipt.contract_address.ok_or_else(|| DevnetError::Step("deployment made no contract".into()))
    }

    /// Calls `to` from `from`, sending `value` wei.
    pub async fn send<C: SolCall>(
        &self,
        from: Address,
        to: Address,
        call: C,
        value: U256,
    ) -> Result<TransactionReceipt, DevnetError> {
        let tx = TransactionRequest::default().from(from).to(to).with_input(call.abi_encode()).with_value(value);
        self.transact(tx, C::SIGNATURE).await
    }

    /// Calls `to` from the deployer.
    pub async fn call<C: SolCall>(&self, to: Address, call: C) -> Result<TransactionReceipt, DevnetError> {
        self.send(self.deployer, to, call, U256::ZERO).await
    }
}

fn rpc<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> DevnetError {
    move |e| DevnetError::Anvil(format!("{what}: {e}"))
}
