//! The typed form of each config namespace. Every file is read as YAML, kept raw (so keys this gateway does
//! not use still show in `GET /config`), and parsed into one of these, which says what each value must be.

use connectors::core::family::TradingType;
use serde::{Deserialize, Serialize};

/// A value that failed validation: which key, and why.
#[derive(Debug)]
pub struct Invalid {
    pub path: String,
    pub reason: String,
}

impl Invalid {
    fn new(path: &str, reason: impl Into<String>) -> Self {
        Invalid { path: path.to_string(), reason: reason.into() }
    }
}

/// A namespace's typed config: deserialized from the raw file, then checked value by value.
pub trait Section: Serialize + for<'de> Deserialize<'de> {
    fn validate(&self) -> Result<(), Invalid>;
}

/// `server.yml`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerConfig {
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_certificate_path")]
    pub certificate_path: String,
    #[serde(default = "default_log_level")]
    pub log_level: String,
    /// PostgreSQL connections this instance opens at most (SQLite ignores it).
    #[serde(default = "default_database_max_connections")]
    pub database_max_connections: u32,
    /// Host names a plain-HTTP (`--dev`) gateway answers besides localhost, 127.0.0.1 and [::1].
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Browser origins (`https://app.example`) allowed to call the API; others are refused. Same-origin pages
    /// (Swagger UI at /docs) need none.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// The longest a request may take before it is answered 504.
    #[serde(default = "default_request_timeout_seconds")]
    pub request_timeout_seconds: u64,
    /// Whether `POST /wallet/send` moves funds: off unless set (Gateway removed the route in v2.15.1 after exposed
    /// gateways were scanned for it).
    #[serde(default)]
    pub wallet_send: bool,
    /// Addresses `approve` may name as spender besides the connectors' own contracts.
    #[serde(default)]
    pub allowed_spenders: Vec<String>,
    /// Addresses `/wallet/send` may send to besides the gateway's own wallets.
    #[serde(default)]
    pub allowed_recipients: Vec<String>,
}

impl ServerConfig {
    /// Whether `address` is listed in `allowedSpenders`.
    pub fn allows_spender(&self, address: alloy::primitives::Address) -> bool {
        self.allowed_spenders.iter().any(|listed| listed.parse() == Ok(address))
    }

    /// Whether `address` is listed in `allowedRecipients`.
    pub fn allows_recipient(&self, address: alloy::primitives::Address) -> bool {
        self.allowed_recipients.iter().any(|listed| listed.parse() == Ok(address))
    }
}

const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

fn default_port() -> u16 {
    15888
}
fn default_certificate_path() -> String {
    "./certs/".into()
}
fn default_log_level() -> String {
    "info".into()
}
fn default_request_timeout_seconds() -> u64 {
    60
}
/// PostgreSQL connections an instance opens at most when the config names no number (`server.yml`
/// `databaseMaxConnections`). Each send holds one while it takes its nonce; the rest serve everything else.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 16;

fn default_database_max_connections() -> u32 {
    DEFAULT_DATABASE_MAX_CONNECTIONS
}

impl Section for ServerConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if self.port == 0 {
            return Err(Invalid::new("port", "must be between 1 and 65535"));
        }
        if !LOG_LEVELS.contains(&self.log_level.as_str()) {
            return Err(Invalid::new("logLevel", format!("must be one of {}", LOG_LEVELS.join(", "))));
        }
        if !(1..=3600).contains(&self.request_timeout_seconds) {
            return Err(Invalid::new("requestTimeoutSeconds", "must be between 1 and 3600"));
        }
        if !(2..=1000).contains(&self.database_max_connections) {
            return Err(Invalid::new("databaseMaxConnections", "must be between 2 and 1000"));
        }
        for host in &self.allowed_hosts {
            let valid = !host.is_empty()
                && host.len() <= 253
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
            if !valid {
                return Err(Invalid::new("allowedHosts", format!("{} is not a host name", chains::quoted(host))));
            }
        }
        for (setting, addresses) in
            [("allowedSpenders", &self.allowed_spenders), ("allowedRecipients", &self.allowed_recipients)]
        {
            if let Some(bad) = addresses.iter().find(|address| address.parse::<alloy::primitives::Address>().is_err()) {
                return Err(Invalid::new(setting, format!("{} is not an address", chains::quoted(bad))));
            }
        }
        for origin in &self.cors_origins {
            let parsed = url_as_written(origin).ok().filter(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.path() == "/"
                    && url.query().is_none()
            });
            if parsed.is_none() || origin.ends_with('/') {
                return Err(Invalid::new(
                    "corsOrigins",
                    format!(
                        "{} is not an origin (scheme://host[:port], e.g. https://app.example)",
                        chains::quoted(origin)
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `text` read as a URL, refused when it holds a control character: a URL parser drops tabs and line breaks
/// wherever they are, so the address used (and named in errors) would not be the one written.
fn url_as_written(text: &str) -> Result<url::Url, String> {
    if text.chars().any(char::is_control) {
        return Err("holds a tab, line break or other control character".into());
    }
    url::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))
}

/// `chains/ethereum.yml`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainConfig {
    pub default_network: String,
    #[serde(default)]
    pub default_wallet: String,
    #[serde(default = "default_rpc_provider")]
    pub rpc_provider: String,
}

fn default_rpc_provider() -> String {
    "url".into()
}

impl Section for ChainConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if self.default_network.is_empty() {
            return Err(Invalid::new("defaultNetwork", "must name a network"));
        }
        if self.rpc_provider != "url" {
            return Err(Invalid::new("rpcProvider", "only 'url' (each network's nodeURL) is supported"));
        }
        Ok(())
    }
}

/// One URL or a list of them, as `nodeURL` may be written either way.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NodeUrls {
    One(String),
    Many(Vec<String>),
}

impl NodeUrls {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            NodeUrls::One(url) => vec![url.clone()],
            NodeUrls::Many(urls) => urls.clone(),
        }
    }
}

/// `chains/ethereum/<network>.yml`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfig {
    #[serde(rename = "chainID")]
    pub chain_id: u64,
    #[serde(rename = "nodeURL")]
    pub node_url: NodeUrls,
    pub native_currency_symbol: String,
    #[serde(default = "default_tx_timeout_ms")]
    pub transaction_execution_timeout_ms: u64,
    #[serde(default = "default_swap_provider")]
    pub swap_provider: String,
    /// GWEI; empty means "ask the node".
    #[serde(default)]
    pub base_fee: Option<f64>,
    #[serde(default = "default_base_fee_multiplier")]
    pub base_fee_multiplier: f64,
    /// GWEI.
    #[serde(default)]
    pub priority_fee: Option<f64>,
    /// GWEI; when set, transactions are legacy (type 0) at this price.
    #[serde(default)]
    pub gas_price: Option<f64>,
    /// GWEI: the most per gas any transaction offers, base fee plus tip. The chain's default when empty.
    #[serde(default)]
    pub gas_price_cap: Option<f64>,
    /// GWEI: the most tip per gas. The chain's default when empty.
    #[serde(default)]
    pub max_priority_fee: Option<f64>,
    /// Native currency: the most one transaction may cost at its gas limit. The chain's default when empty.
    #[serde(default)]
    pub max_tx_fee: Option<f64>,
    /// GWEI: the least tip the chain's nodes accept (the least gas price on a legacy chain). The chain's rule when
    /// empty (Polygon 25, BSC 0.05, others 0).
    #[serde(default)]
    pub min_priority_fee: Option<f64>,
    /// `eip1559` or `legacy`. The chain's rule when empty (BSC legacy, others EIP-1559).
    #[serde(default)]
    pub transaction_type: Option<TransactionType>,
    /// Whether an L1 data fee is charged on top of gas (the OP-stack GasPriceOracle). The chain's rule when empty
    /// (Optimism, Base, Unichain).
    #[serde(default, rename = "l1DataFee")]
    pub l1_data_fee: Option<bool>,
    /// Symbols the router may route through when no listed pool joins a pair (two hops, pools found through the
    /// factories). The wrapped native token, USDC, USDT and DAI when empty.
    #[serde(default)]
    pub routing_tokens: Option<Vec<String>>,
    /// Seconds a transaction may wait with fees under the market's before it is re-sent with higher fees; never
    /// when empty.
    #[serde(default)]
    pub replace_after_seconds: Option<u64>,
    /// Seconds after which a pending transaction the node no longer knows is marked dropped.
    #[serde(default = "default_drop_after_seconds")]
    pub drop_after_seconds: u64,
    /// Blocks a transaction's block must have on top of it, itself included, before it is answered confirmed.
    #[serde(default = "default_confirmations")]
    pub confirmations: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransactionType {
    Eip1559,
    Legacy,
}

impl NetworkConfig {
    /// The symbols the router routes through when no listed pool joins a pair.
    pub fn routing_symbols(&self) -> Vec<String> {
        self.routing_tokens.clone().unwrap_or_else(|| {
            let wrapped = format!("W{}", self.native_currency_symbol);
            [wrapped.as_str(), "USDC", "USDT", "DAI"].map(String::from).to_vec()
        })
    }

    /// The chain's fee rules, each overridden where the config says.
    pub fn chain_rules(&self) -> chains::gas::ChainRules {
        let rules = chains::gas::ChainRules::for_chain(self.chain_id);
        chains::gas::ChainRules {
            min_tip: self.min_priority_fee.map_or(rules.min_tip, chains::gas::gwei_to_wei),
            legacy: self.transaction_type.map_or(rules.legacy, |kind| kind == TransactionType::Legacy),
            l1_data_fee: self.l1_data_fee.unwrap_or(rules.l1_data_fee),
            ..rules
        }
    }

    /// The caps in force: each one configured, else the chain's default.
    pub fn fee_caps(&self) -> chains::gas::FeeCaps {
        let defaults = chains::gas::FeeCaps::default_for(self.chain_id);
        chains::gas::FeeCaps {
            gas_price_cap: self.gas_price_cap.map_or(defaults.gas_price_cap, chains::gas::gwei_to_wei),
            max_priority_fee: self.max_priority_fee.map_or(defaults.max_priority_fee, chains::gas::gwei_to_wei),
            max_tx_fee: self.max_tx_fee.map_or(defaults.max_tx_fee, chains::gas::native_to_wei),
            ..defaults
        }
    }
}

fn default_tx_timeout_ms() -> u64 {
    30_000
}
fn default_swap_provider() -> String {
    "uniswap/router".into()
}
/// Max fee = 2 × base fee + tip: it stays over the base fee through six full blocks in a row (each may raise it
/// 12.5 %, EIP-1559), the rule most wallets use.
fn default_base_fee_multiplier() -> f64 {
    2.0
}
fn default_drop_after_seconds() -> u64 {
    300
}
fn default_confirmations() -> u64 {
    1
}
/// Past this many blocks a request would wait minutes on most chains: a client that wants more polls.
const MAX_CONFIRMATIONS: u64 = 64;

impl Section for NetworkConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if self.chain_id == 0 {
            return Err(Invalid::new("chainID", "must be a positive chain id"));
        }
        let urls = self.node_url.to_vec();
        if urls.is_empty() {
            return Err(Invalid::new("nodeURL", "needs at least one URL"));
        }
        for url in &urls {
            let parsed = url_as_written(url).map_err(|reason| Invalid::new("nodeURL", format!("an entry {reason}")))?;
            if !matches!(parsed.scheme(), "http" | "https" | "ws" | "wss") {
                return Err(Invalid::new("nodeURL", format!("{} must be http(s) or ws(s)", chains::rpc::redact(url))));
            }
        }
        if self.native_currency_symbol.trim().is_empty() {
            return Err(Invalid::new("nativeCurrencySymbol", "must not be empty"));
        }
        if self.native_currency_symbol.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Invalid::new("nativeCurrencySymbol", "must not hold spaces, tabs or line breaks"));
        }
        if self.transaction_execution_timeout_ms == 0 {
            return Err(Invalid::new("transactionExecutionTimeoutMs", "must be positive"));
        }
        match self.swap_provider.split_once('/') {
            Some((connector, kind)) if !connector.is_empty() && TradingType::parse(kind).is_some() => {}
            _ => {
                return Err(Invalid::new("swapProvider", "must be <connector>/<router|amm|clmm>, e.g. uniswap/router"));
            }
        }
        self.validate_fees()?;
        if self.replace_after_seconds == Some(0) {
            return Err(Invalid::new("replaceAfterSeconds", "must be positive, or empty to never replace"));
        }
        if self.drop_after_seconds == 0 {
            return Err(Invalid::new("dropAfterSeconds", "must be positive"));
        }
        if !(1..=MAX_CONFIRMATIONS).contains(&self.confirmations) {
            return Err(Invalid::new("confirmations", format!("must be 1 to {MAX_CONFIRMATIONS}")));
        }
        Ok(())
    }
}

impl NetworkConfig {
    /// The gas settings and the fee caps: each value in range, and the caps leaving room for what the chain and
    /// the settings ask.
    fn validate_fees(&self) -> Result<(), Invalid> {
        for (key, value) in [
            ("baseFee", self.base_fee),
            ("priorityFee", self.priority_fee),
            ("gasPrice", self.gas_price),
            ("minPriorityFee", self.min_priority_fee),
        ] {
            if value.is_some_and(|gwei| !gwei.is_finite() || gwei < 0.0) {
                return Err(Invalid::new(key, "must be a non-negative number of GWEI"));
            }
        }
        if !self.base_fee_multiplier.is_finite() || self.base_fee_multiplier < 1.0 {
            return Err(Invalid::new("baseFeeMultiplier", "must be at least 1"));
        }
        for (key, value) in [
            ("gasPriceCap", self.gas_price_cap),
            ("maxPriorityFee", self.max_priority_fee),
            ("maxTxFee", self.max_tx_fee),
        ] {
            if value.is_some_and(|cap| !cap.is_finite() || cap <= 0.0 || cap > 1e12) {
                return Err(Invalid::new(
                    key,
                    "must be a positive number (GWEI for gasPriceCap and maxPriorityFee, the native currency for maxTxFee)",
                ));
            }
        }
        let caps = self.fee_caps();
        if caps.max_priority_fee > caps.gas_price_cap {
            return Err(Invalid::new(
                "maxPriorityFee",
                format!(
                    "{} GWEI is over gasPriceCap ({} GWEI), which bounds base fee plus tip",
                    gwei(caps.max_priority_fee),
                    gwei(caps.gas_price_cap)
                ),
            ));
        }
        let rules = self.chain_rules();
        let (floor_cap, cap_name) = match rules.legacy {
            true => (caps.gas_price_cap, "gasPriceCap"),
            false => (caps.max_priority_fee, "maxPriorityFee"),
        };
        if rules.min_tip > floor_cap {
            return Err(Invalid::new(
                "minPriorityFee",
                format!(
                    "the chain's nodes take no tip under {} GWEI, over {cap_name} ({} GWEI): raise the cap",
                    gwei(rules.min_tip),
                    gwei(floor_cap)
                ),
            ));
        }
        if let Some(priority) = self.priority_fee.filter(|gwei| chains::gas::gwei_to_wei(*gwei) > caps.max_priority_fee)
        {
            return Err(Invalid::new(
                "priorityFee",
                format!(
                    "{priority} GWEI is over maxPriorityFee ({} GWEI); lower it or raise the cap",
                    gwei(caps.max_priority_fee)
                ),
            ));
        }
        if let Some(price) = self.gas_price.filter(|gwei| chains::gas::gwei_to_wei(*gwei) > caps.gas_price_cap) {
            return Err(Invalid::new(
                "gasPrice",
                format!(
                    "{price} GWEI is over gasPriceCap ({} GWEI); lower it or raise the cap",
                    gwei(caps.gas_price_cap)
                ),
            ));
        }
        Ok(())
    }
}

fn gwei(wei: u128) -> String {
    chains::amount::format_units(alloy::primitives::U256::from(wei), 9)
}

/// `connectors/<connector>.yml`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorConfig {
    #[serde(default = "default_slippage_pct")]
    pub slippage_pct: f64,
    #[serde(default = "default_maximum_hops")]
    pub maximum_hops: u32,
    /// Routes the router may split an order across (1: never split).
    #[serde(default = "default_maximum_splits")]
    pub maximum_splits: u32,
    /// The steps a split moves in, in percent of the amount.
    #[serde(default = "default_split_step_pct")]
    pub split_step_pct: u32,
    #[serde(default = "default_quote_ttl_seconds")]
    pub quote_ttl_seconds: u64,
    /// Seconds a swap or liquidity transaction stays valid on-chain after it is signed: included later, it
    /// reverts instead of executing at a stale price.
    #[serde(default = "default_deadline_seconds")]
    pub deadline_seconds: u64,
}

fn default_slippage_pct() -> f64 {
    1.0
}
fn default_maximum_hops() -> u32 {
    3
}
fn default_maximum_splits() -> u32 {
    3
}
fn default_split_step_pct() -> u32 {
    5
}
fn default_quote_ttl_seconds() -> u64 {
    30
}
fn default_deadline_seconds() -> u64 {
    1200
}

impl Section for ConnectorConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if !(0.0..=100.0).contains(&self.slippage_pct) {
            return Err(Invalid::new("slippagePct", "must be between 0 and 100"));
        }
        if !(1..=4).contains(&self.maximum_hops) {
            return Err(Invalid::new("maximumHops", "must be between 1 and 4"));
        }
        if !(1..=3).contains(&self.maximum_splits) {
            return Err(Invalid::new("maximumSplits", "must be between 1 and 3"));
        }
        if !(5..=50).contains(&self.split_step_pct) || 100 % self.split_step_pct != 0 {
            return Err(Invalid::new("splitStepPct", "must be 5, 10, 20, 25 or 50: a share of 100 in whole steps"));
        }
        if self.quote_ttl_seconds == 0 {
            return Err(Invalid::new("quoteTtlSeconds", "must be positive"));
        }
        if !(30..=86_400).contains(&self.deadline_seconds) {
            return Err(Invalid::new("deadlineSeconds", "must be between 30 and 86400 seconds"));
        }
        Ok(())
    }
}

/// `connectors/zeroex.yml`: an order-book connector's markets per network.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClobConfig {
    /// How long an order stays valid when the request names no expiration.
    #[serde(default = "default_order_expiry_seconds")]
    pub order_expiry_seconds: u64,
    /// Gas limit `/clob/estimateGas` prices: about what one fill costs.
    #[serde(default = "default_fill_gas_limit")]
    pub fill_gas_limit: u64,
    #[serde(default)]
    pub networks: std::collections::BTreeMap<String, ClobNetworkConfig>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClobNetworkConfig {
    #[serde(default)]
    pub markets: std::collections::BTreeMap<String, MarketConfig>,
}

/// One market: token symbols from the network's token list, the price step and the smallest order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MarketConfig {
    pub base: String,
    pub quote: String,
    /// Price step in quote per base, e.g. 0.01.
    pub tick_size: DecimalText,
    /// Smallest order in base, e.g. 0.001.
    pub minimum_amount: DecimalText,
}

/// A decimal written as a YAML number or string, kept as its text so no digit is lost to floats.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecimalText(pub String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        Ok(DecimalText(match Raw::deserialize(deserializer)? {
            Raw::Text(text) => text,
            Raw::Number(number) => number.to_string(),
        }))
    }
}

fn default_order_expiry_seconds() -> u64 {
    86_400
}
fn default_fill_gas_limit() -> u64 {
    150_000
}

impl Section for ClobConfig {
    fn validate(&self) -> Result<(), Invalid> {
        if self.order_expiry_seconds == 0 {
            return Err(Invalid::new("orderExpirySeconds", "must be positive"));
        }
        for (network, config) in &self.networks {
            for (name, market) in &config.markets {
                let path = |key: &str| format!("networks.{network}.markets.{name}.{key}");
                if name != &format!("{}-{}", market.base, market.quote) {
                    return Err(Invalid::new(
                        &path("base"),
                        format!("the market's name must be {{base}}-{{quote}}; got {name}"),
                    ));
                }
                for (key, value) in [("tickSize", &market.tick_size), ("minimumAmount", &market.minimum_amount)] {
                    match chains::amount::Amount::parse(&value.0, 18) {
                        Ok(amount) if !amount.raw.is_zero() => {}
                        _ => {
                            return Err(Invalid::new(
                                &path(key),
                                format!("must be a positive decimal; got '{}'", value.0),
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
