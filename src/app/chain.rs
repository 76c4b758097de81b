//! The chain's own operations: a network's status, balances and allowances, approvals (Permit2's layers where a
//! spender pulls through it), the gas a transaction would pay, wrapping, unwrapping and transfers. Every
//! transaction goes through the one sender, which simulates, prices under the caps, records and waits.

use std::collections::BTreeMap;
use std::sync::Arc;

use alloy::primitives::{Address, U256};
use chains::amount::NATIVE_DECIMALS;
use chains::amount::{Amount, format_units};
use chains::erc20;
use chains::fee_market::current_fees;
use chains::gas::Fees;
use chains::network::Network;
use chains::permit2::Spender;
use chains::tx::{Call, Outcome, SentTx};
use connectors::clob::ClobVenue;
use connectors::core::family::TradingType;
use serde::{Deserialize, Serialize};

use crate::app::sending::{Recipe, keep, send_and_settle};
use crate::config::{CHAIN, Config};
use crate::error::{AppError, AppResult, InvalidKind};
use crate::request::{Human, check_chain, network_name, parse_address, wallet_address};
use crate::schema::chain::*;
use crate::state::AppState;

/// Gas a typical swap uses; what `estimate-gas` prices.
const TYPICAL_GAS: u64 = 300_000;

/// The call data of a typical swap (a router call), for the L1 data fee.
const TYPICAL_CALL_DATA_BYTES: usize = 260;

/// The network a request names, resolved.
pub struct Ctx {
    pub config: Arc<Config>,
    pub network_name: String,
    pub network: Arc<Network>,
}

pub fn context(state: &AppState, network: Option<&str>, chain_network: Option<&str>) -> AppResult<Ctx> {
    let config = state.config();
    let network_name = network_name(&config, network, chain_network)?;
    let network = state.ethereum().network(&config, &network_name)?;
    Ok(Ctx { config, network_name, network })
}

/// The network's node, current block and native currency.
pub async fn status(state: &AppState, query: NetworkQuery) -> AppResult<StatusResponse> {
    let ctx = context(state, query.network.as_deref(), query.chain_network.as_deref())?;
    let block = ctx.network.head().await?;
    let network_config = ctx.config.network(&ctx.network_name).expect("resolved above");
    Ok(StatusResponse {
        chain: CHAIN.into(),
        network: ctx.network_name.clone(),
        rpc_url: ctx.network.current_node(),
        rpc_provider: ctx.config.chain.rpc_provider.clone(),
        current_block_number: block,
        native_currency: network_config.native_currency_symbol.clone(),
        swap_provider: network_config.swap_provider.clone(),
    })
}

/// Native and ERC-20 balances of a wallet, read in one RPC round trip.
pub async fn balances(state: &AppState, request: BalancesRequest) -> AppResult<BalancesResponse> {
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    let requested = distinct_tokens(match request.tokens.filter(|t| !t.is_empty()) {
        Some(tokens) => tokens,
        None => {
            std::iter::once(book.native_symbol.clone()).chain(book.tokens.iter().map(|t| t.symbol.clone())).collect()
        }
    })?;
    let mut erc20s = Vec::new();
    for name in requested.iter().filter(|name| !book.is_native(name)) {
        erc20s.push((name.clone(), book.resolve("tokens", name)?));
    }
    let addresses: Vec<Address> = erc20s.iter().map(|(_, token)| token.address).collect();
    let (native, amounts) = erc20::balances(&ctx.network, owner, &addresses).await?;
    let mut balances = BTreeMap::new();
    if let Some(native_name) = requested.iter().find(|name| book.is_native(name)) {
        balances.insert(native_name.clone(), Human(format_units(native, NATIVE_DECIMALS)));
    }
    for ((name, token), raw) in erc20s.into_iter().zip(amounts) {
        balances.insert(name, Human(format_units(raw, token.decimals)));
    }
    Ok(BalancesResponse { balances })
}

/// The most tokens one balances or allowances request reads: each is a call inside one `eth_call`, whose size
/// nodes bound (anvil refuses one of 100,000 calls), and no token list comes near it.
const MAX_TOKENS_READ: usize = 1000;

/// The token names a request gives, each once (the answer has one entry per name), and at most
/// [`MAX_TOKENS_READ`] of them.
fn distinct_tokens(mut names: Vec<String>) -> AppResult<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    names.retain(|name| seen.insert(name.clone()));
    if names.len() > MAX_TOKENS_READ {
        return Err(AppError::invalid(
            "tokens",
            format!("at most {MAX_TOKENS_READ} different tokens per request; got {}", names.len()),
        ));
    }
    Ok(names)
}

/// The contracts a spender name stands for on a network: `<connector>/<type>` or an address.
fn spenders(config: &Config, network: &str, spender: &str) -> AppResult<Vec<Spender>> {
    let spender = spender.trim();
    if spender.starts_with("0x") {
        return Ok(vec![Spender::direct(parse_address("spender", spender)?)]);
    }
    let (connector, kind) = spender.split_once('/').unwrap_or((spender, TradingType::Router.as_str()));
    if config.clob.contains_key(connector) && (kind == CLOB || TradingType::parse(kind) == Some(TradingType::Router)) {
        let chain_id = config.network(network).map_or(0, |n| n.chain_id);
        connectors::for_venue!(
            connector,
            |Venue| return Ok(vec![Spender::direct(Venue::on_chain(chain_id).contract())]),
            {}
        );
    }
    let unknown = || {
        AppError::invalid(
            "spender",
            format!(
                "{} is neither an address nor a connector on {network}; use e.g. uniswap/router, uniswap/amm, uniswap/clmm, uniswap/clmm/swap, pancakeswap/clmm, zeroex/clob",
                chains::quoted(spender)
            ),
        )
    };
    let dex = config.dex(connector, network).ok_or_else(unknown)?;
    dex.spenders(kind).filter(|contracts| !contracts.is_empty()).ok_or_else(unknown)
}

/// An approval may go only to a contract of a connector on the network (what its spender names resolve to, and
/// the Permit2 they pull through) or to an address server.yml `allowedSpenders` lists: an unlimited approval to
/// anyone else would hand them the token.
fn check_spender(config: &Config, network: &str, address: Address) -> AppResult<()> {
    if config.server.allows_spender(address) || connector_contracts(config, network).contains(&address) {
        return Ok(());
    }
    Err(AppError::Forbidden {
        setting: "allowedSpenders",
        reason: format!("spender {address} is not a contract of a connector on {network}"),
    })
}

/// Every contract a connector on `network` asks approvals for.
fn connector_contracts(config: &Config, network: &str) -> Vec<Address> {
    let mut contracts = Vec::new();
    for name in config.dexes.names().into_iter().chain(config.clob.keys().cloned()) {
        let kinds = [TradingType::Amm.as_str(), TradingType::Clmm.as_str(), TradingType::Router.as_str(), CLOB];
        for spender in kinds.into_iter().filter_map(|kind| spenders(config, network, &format!("{name}/{kind}")).ok()) {
            contracts.extend(spender.iter().flat_map(|s| [Some(s.contract), s.permit2]).flatten());
        }
    }
    contracts
}

/// The spender name of an order-book connector's contract: `<connector>/clob`.
const CLOB: &str = "clob";

/// How much a spender may move of each token. A connector name standing for several contracts reports the
/// smallest of their allowances.
pub async fn allowances(state: &AppState, request: AllowancesRequest) -> AppResult<AllowancesResponse> {
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let spenders = spenders(&ctx.config, &ctx.network_name, &request.spender)?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    let names = distinct_tokens(request.tokens)?;
    let tokens = names.iter().map(|name| book.resolve("tokens", name)).collect::<AppResult<Vec<_>>>()?;
    let addresses: Vec<Address> = tokens.iter().map(|t| t.address).collect();
    let human = |amounts: &[U256]| -> BTreeMap<String, String> {
        names
            .iter()
            .zip(&tokens)
            .zip(amounts)
            .map(|((name, token), raw)| (name.clone(), format_units(*raw, token.decimals)))
            .collect()
    };
    let mut smallest = vec![U256::MAX; tokens.len()];
    let mut layers = Vec::new();
    for spender in &spenders {
        let allowances = spender.allowances(&ctx.network, owner, &addresses).await?;
        for (least, amount) in smallest.iter_mut().zip(allowances.effective()) {
            *least = (*least).min(amount);
        }
        if let (Some(permit2), Some(within)) = (spender.permit2, &allowances.permit2) {
            let erc20_layer = AllowanceLayer {
                spender: permit2.to_checksum(None),
                through: None,
                approvals: human(&allowances.erc20),
            };
            if !layers
                .iter()
                .any(|layer: &AllowanceLayer| layer.through.is_none() && layer.spender == erc20_layer.spender)
            {
                layers.push(erc20_layer);
            }
            layers.push(AllowanceLayer {
                spender: spender.contract.to_checksum(None),
                through: Some(permit2.to_checksum(None)),
                approvals: human(within),
            });
        }
    }
    Ok(AllowancesResponse { spender: spenders[0].contract.to_checksum(None), approvals: human(&smallest), layers })
}

/// Approves a spender for a token (unlimited unless an amount is given) and waits for the receipt.
pub async fn approve(state: &AppState, request: ApproveRequest) -> AppResult<ApproveResponse> {
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    if book.is_native(&request.token) {
        return Err(AppError::invalid(
            "token",
            format!("{} is the native currency and needs no approval", book.native_symbol),
        ));
    }
    let token = book.resolve("token", &request.token)?;
    let spenders = spenders(&ctx.config, &ctx.network_name, &request.spender)?;
    for spender in &spenders {
        check_spender(&ctx.config, &ctx.network_name, spender.contract)?;
    }
    let amount = match request.amount.as_ref().filter(|a| !a.is_empty()) {
        Some(text) => text.parse("amount", token.decimals)?.raw,
        None => U256::MAX,
    };
    let signer = state.ethereum().signer(owner)?;
    let recipe = ApproveRecipe {
        token_address: token.address.to_checksum(None),
        spender: spenders[0].contract.to_checksum(None),
        amount: format_units(amount, token.decimals),
    };
    keep(state, &recipe).await?;
    let mut results = Vec::new();
    for spender in &spenders {
        // Read per spender: an earlier one may have approved Permit2 already.
        let erc20_allowed = match spender.permit2 {
            Some(permit2) => erc20::allowances(&ctx.network, owner, permit2, &[token.address]).await?[0],
            None => U256::ZERO,
        };
        for call in spender.approvals(token.address, amount, erc20_allowed) {
            results.push(send_and_settle(state, &ctx.network, &signer, &call, "approve").await?);
        }
    }
    Ok(recipe.answer(&results))
}

/// What an approval answers besides its transactions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApproveRecipe {
    token_address: String,
    spender: String,
    amount: String,
}

impl Recipe for ApproveRecipe {
    const ROUTE: &'static str = "approve";
}

impl ApproveRecipe {
    pub fn answer(&self, results: &[(SentTx, Outcome)]) -> ApproveResponse {
        let (signature, status, fee) = summarize(results);
        ApproveResponse {
            signature,
            status,
            data: Some(ApproveData {
                token_address: self.token_address.clone(),
                spender: self.spender.clone(),
                amount: self.amount.clone(),
                nonce: last_nonce(results),
                fee: format_units(fee, NATIVE_DECIMALS),
            }),
        }
    }
}

/// The nonce of the last of a request's transactions, which its answer reports.
fn last_nonce(results: &[(SentTx, Outcome)]) -> u64 {
    results.last().map_or(0, |(sent, _)| sent.nonce)
}

/// The hash to report (the last), the worst status, and the total fee of one or more transactions.
pub fn summarize(results: &[(SentTx, Outcome)]) -> (String, i8, U256) {
    let mut status = 1;
    let mut fee = U256::ZERO;
    for (_, outcome) in results {
        match outcome {
            Outcome::Mined(receipt) => {
                fee += receipt.fee_wei;
                if !receipt.status() {
                    status = -1;
                }
            }
            Outcome::Cancelled(receipt) => {
                fee += receipt.fee_wei;
                status = -1;
            }
            Outcome::Pending if status == 1 => status = 0,
            Outcome::Pending => {}
        }
    }
    let signature = results.last().map(|(sent, _)| sent.hash.to_string()).unwrap_or_default();
    (signature, status, fee)
}

/// The gas price the next transaction would pay, from the config's gas settings and the node.
pub async fn estimate_gas(state: &AppState, query: NetworkQuery) -> AppResult<EstimateGasResponse> {
    let ctx = context(state, query.network.as_deref(), query.chain_network.as_deref())?;
    let l1_data_fee = chains::l1_fee::bound(&ctx.network, TYPICAL_CALL_DATA_BYTES);
    let ((fees, price), l1_data_fee) = tokio::try_join!(current_fees(&ctx.network), l1_data_fee)?;
    let gwei = |wei: u128| Human(format_units(U256::from(wei), 9));
    let (gas_type, max_fee, priority) = match fees {
        Fees::Eip1559 { max_fee_per_gas, max_priority_fee_per_gas } => {
            ("eip1559", Some(gwei(max_fee_per_gas)), Some(gwei(max_priority_fee_per_gas)))
        }
        Fees::Legacy { .. } => ("legacy", None, None),
    };
    Ok(EstimateGasResponse {
        fee_per_compute_unit: gwei(price),
        denomination: "gwei".into(),
        compute_units: TYPICAL_GAS,
        fee_asset: ctx.network.settings().native_symbol.clone(),
        fee: Human(format_units(
            U256::from(price) * U256::from(TYPICAL_GAS) + l1_data_fee.unwrap_or_default(),
            NATIVE_DECIMALS,
        )),
        timestamp: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0),
        gas_type: gas_type.into(),
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: priority,
        l1_data_fee: l1_data_fee.map(|wei| Human(format_units(wei, NATIVE_DECIMALS))),
    })
}

/// Wraps native currency into its wrapped token (ETH → WETH) and waits for the receipt.
pub async fn wrap(state: &AppState, request: WrapRequest) -> AppResult<WrapResponse> {
    let Some(amount) = request.amount.as_ref().filter(|a| !a.is_empty()) else {
        return Err(AppError::invalid("amount", "is required: how much native currency to wrap"));
    };
    let amount = positive(amount.parse("amount", NATIVE_DECIMALS)?)?;
    let wrapping = Wrapping::new(state, &request).await?;
    let native = native_token(&wrapping.native_symbol);
    require_balance(&wrapping.ctx.network, wrapping.owner, &native, amount.raw).await?;
    let call = chains::erc20::wrap(wrapping.weth, amount.raw);
    wrapping.run(state, call, amount, "wrap").await
}

/// Unwraps the wrapped token back into native currency (WETH → ETH), all of it when no amount is given.
pub async fn unwrap(state: &AppState, request: WrapRequest) -> AppResult<WrapResponse> {
    let wrapping = Wrapping::new(state, &request).await?;
    let amount = match request.amount.as_ref().filter(|a| !a.is_empty()) {
        Some(text) => positive(text.parse("amount", NATIVE_DECIMALS)?)?,
        None => {
            let (_, balances) = erc20::balances(&wrapping.ctx.network, wrapping.owner, &[wrapping.weth]).await?;
            positive(Amount::new(balances[0], NATIVE_DECIMALS))
                .map_err(|_| AppError::invalid("amount", format!("the wallet holds no {}", wrapping.wrapped_symbol)))?
        }
    };
    let wrapped = erc20::Token {
        address: wrapping.weth,
        symbol: wrapping.wrapped_symbol.clone(),
        name: wrapping.wrapped_symbol.clone(),
        decimals: NATIVE_DECIMALS,
    };
    require_balance(&wrapping.ctx.network, wrapping.owner, &wrapped, amount.raw).await?;
    let call = chains::erc20::unwrap(wrapping.weth, amount.raw);
    wrapping.run(state, call, amount, "unwrap").await
}

/// Sends the native currency or an ERC-20 to an address (as upstream Gateway's `/wallet/send`), through the same
/// pipeline as every transaction: simulated, priced under the fee caps, recorded, and waited for.
pub async fn send(state: &AppState, request: SendRequest) -> AppResult<SendResponse> {
    check_chain(request.chain.as_deref())?;
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let to = parse_address("toAddress", &request.to_address)?;
    if state.ethereum().signer(to).is_err() && !ctx.config.server.allows_recipient(to) {
        return Err(AppError::Forbidden {
            setting: "allowedRecipients",
            reason: format!("toAddress {to} is not a wallet of this gateway"),
        });
    }
    let book = state.token_book(&ctx.config, &ctx.network_name).await?;
    let token = match request.token.as_deref().map(str::trim).filter(|t| !t.is_empty() && !book.is_native(t)) {
        Some(name) => Some(book.resolve("token", name)?),
        None => None,
    };
    let decimals = token.as_ref().map_or(NATIVE_DECIMALS, |token| token.decimals);
    let amount = positive(request.amount.parse("amount", decimals)?)?;
    let call = match &token {
        Some(token) => chains::erc20::transfer(token.address, to, amount.raw),
        None => Call::new(to, alloy::primitives::Bytes::new()).with_value(amount.raw),
    };
    let spent = token.clone().unwrap_or_else(|| native_token(&book.native_symbol));
    require_balance(&ctx.network, owner, &spent, amount.raw).await?;
    let signer = state.ethereum().signer(owner)?;
    let recipe = SendRecipe {
        amount: amount.to_decimal_string(),
        token: token.map_or_else(|| book.native_symbol.clone(), |token| token.symbol),
        to_address: to.to_checksum(None),
    };
    keep(state, &recipe).await?;
    let sent = send_and_settle(state, &ctx.network, &signer, &call, "send").await?;
    Ok(recipe.answer(&[sent]))
}

/// What a transfer answers besides its transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendRecipe {
    amount: String,
    token: String,
    to_address: String,
}

impl Recipe for SendRecipe {
    const ROUTE: &'static str = "send";
}

impl SendRecipe {
    pub fn answer(&self, results: &[(SentTx, Outcome)]) -> SendResponse {
        let (signature, status, fee) = summarize(results);
        SendResponse {
            signature,
            status,
            amount: self.amount.clone(),
            token: self.token.clone(),
            to_address: self.to_address.clone(),
            fee: format_units(fee, NATIVE_DECIMALS),
            nonce: last_nonce(results),
        }
    }
}

/// What `owner` holds of a token (the zero address: the native currency), in raw units.
pub async fn held(network: &Network, owner: Address, token: Address) -> AppResult<U256> {
    let tokens: &[Address] = if token.is_zero() { &[] } else { &[token] };
    let (native, held) = erc20::balances(network, owner, tokens).await?;
    Ok(held.first().copied().unwrap_or(native))
}

/// Refuses, before anything is simulated, a request that spends more of a token (the zero address: the native
/// currency) than `owner` holds, saying how much it holds and how much is needed.
pub async fn require_balance(network: &Network, owner: Address, token: &erc20::Token, amount: U256) -> AppResult<()> {
    let held = held(network, owner, token.address).await?;
    if held >= amount {
        return Ok(());
    }
    let units = |raw: U256| format!("{} {}", format_units(raw, token.decimals), token.symbol);
    Err(AppError::invalid("amount", format!("wallet {owner} holds {}; this needs {}", units(held), units(amount)))
        .of_kind(InvalidKind::Balance))
}

fn positive(amount: Amount) -> AppResult<Amount> {
    if amount.raw.is_zero() {
        return Err(AppError::invalid("amount", "must be greater than zero"));
    }
    Ok(amount)
}

/// The native currency as a token: what the zero address stands for.
fn native_token(symbol: &str) -> erc20::Token {
    erc20::Token { address: Address::ZERO, symbol: symbol.into(), name: symbol.into(), decimals: NATIVE_DECIMALS }
}

struct Wrapping {
    ctx: Ctx,
    owner: Address,
    weth: Address,
    wrapped_symbol: String,
    native_symbol: String,
}

impl Wrapping {
    async fn new(state: &AppState, request: &WrapRequest) -> AppResult<Wrapping> {
        let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
        let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
        let book = state.token_book(&ctx.config, &ctx.network_name).await?;
        let wrapped = book.wrapped_native()?;
        Ok(Wrapping {
            owner,
            weth: wrapped.address,
            wrapped_symbol: wrapped.symbol,
            native_symbol: book.native_symbol.clone(),
            ctx,
        })
    }

    async fn run(self, state: &AppState, call: Call, amount: Amount, label: &str) -> AppResult<WrapResponse> {
        let signer = state.ethereum().signer(self.owner)?;
        let recipe = WrapRecipe {
            amount: amount.to_decimal_string(),
            wrapped_address: self.weth.to_checksum(None),
            native_token: self.native_symbol,
            wrapped_token: self.wrapped_symbol,
        };
        keep(state, &recipe).await?;
        let result = send_and_settle(state, &self.ctx.network, &signer, &call, label).await?;
        Ok(recipe.answer(&[result]))
    }
}

/// What a wrap or unwrap answers besides its transaction.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WrapRecipe {
    amount: String,
    wrapped_address: String,
    native_token: String,
    wrapped_token: String,
}

impl Recipe for WrapRecipe {
    const ROUTE: &'static str = "wrap";
}

impl WrapRecipe {
    pub fn answer(&self, results: &[(SentTx, Outcome)]) -> WrapResponse {
        let (signature, status, fee) = summarize(results);
        WrapResponse {
            signature,
            status,
            data: Some(WrapData {
                nonce: last_nonce(results),
                fee: format_units(fee, NATIVE_DECIMALS),
                amount: self.amount.clone(),
                wrapped_address: self.wrapped_address.clone(),
                native_token: self.native_token.clone(),
                wrapped_token: self.wrapped_token.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_TOKENS_READ, distinct_tokens};

    #[test]
    fn token_names_are_read_once_each_and_at_most_a_thousand() {
        let named = |count: usize| (0..count).map(|i| format!("T{i}")).collect::<Vec<_>>();
        let given = ["WETH", "USDC", "WETH", "weth"].map(String::from).to_vec();
        assert_eq!(distinct_tokens(given).unwrap(), ["WETH", "USDC", "weth"]);
        assert_eq!(distinct_tokens(vec!["WETH".into(); 100_000]).unwrap(), ["WETH"]);
        assert_eq!(distinct_tokens(named(MAX_TOKENS_READ)).unwrap().len(), MAX_TOKENS_READ);
        let refused = distinct_tokens(named(MAX_TOKENS_READ + 1)).unwrap_err().to_string();
        assert!(
            refused.contains("tokens") && refused.contains("at most 1000") && refused.contains("1001"),
            "{refused}"
        );
    }
}
