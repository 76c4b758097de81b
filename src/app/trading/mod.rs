//! Trading: swaps and liquidity through a connector, shared by the per-connector routes
//! (`/connectors/{connector}/...`) and the unified ones (`/trading/...`).
//!
//! A request is resolved into a [`Desk`] (network, connector description, tokens, slippage); the connector's
//! families answer through their capability traits (quotes on cached pool state, the calls to send, what a
//! receipt says moved), every call goes through the one transaction sender, and the answers are the bodies of
//! `crate::schema`.

pub mod amm;
pub mod clmm;
pub mod create;
pub mod pool;
pub mod positions;
pub mod resolved;
pub mod router;
pub mod swap;

use std::sync::Arc;

use alloy::primitives::{Address, U256};
use chains::erc20::{self, Token};
use chains::network::Network;
use chains::permit2::Spender;
use chains::tx::{Call, Outcome, SentTx};
use connectors::core::family::{Family, TradingType};
use connectors::dex::Dex;
use connectors::dex::Protocol;

use crate::config::{CHAIN, Config};
use crate::error::{AppError, AppResult, InvalidKind};
use crate::request::{Target, network_name, wallet_address};
use crate::state::AppState;
use crate::tokens::TokenBook;

/// How long a swap or liquidity transaction stays valid after it is signed, when the connector's config says
/// nothing (`deadlineSeconds`).
const DEADLINE_SECONDS: u64 = 1200;
const PPM: u64 = 1_000_000;

/// A trading desk: one connector on one network as one request trades there, with everything resolved that
/// the request needs (the connector's deployments, the token list, the slippage tolerance), and the bounds and
/// deadline its transactions carry.
pub struct Desk {
    pub config: Arc<Config>,
    pub network_name: String,
    pub network: Arc<Network>,
    pub connector: String,
    pub dex: Dex,
    pub book: std::sync::Arc<TokenBook>,
    /// Slippage tolerance in parts per million.
    pub slippage_ppm: u64,
    pub slippage_pct: f64,
}

impl Desk {
    pub async fn resolve(state: &AppState, target: Target<'_>) -> AppResult<Desk> {
        let config = state.config();
        let network_name = network_name(&config, target.network, target.chain_network)?;
        let network_config = config.network(&network_name).expect("resolved above");
        let connector = match target.connector.map(str::trim).filter(|c| !c.is_empty()) {
            Some(connector) => connector.split('/').next().unwrap_or(connector).to_string(),
            None => network_config.swap_provider.split('/').next().unwrap_or_default().to_string(),
        };
        let dex = config.dex(&connector, &network_name).ok_or_else(|| {
            AppError::invalid(
                "connector",
                format!(
                    "{} is not available on {network_name}; GET /config/connectors lists where each runs",
                    chains::quoted(&connector)
                ),
            )
        })?;
        let slippage_pct = match target.slippage_pct {
            Some(pct) if !(0.0..=100.0).contains(&pct) || !pct.is_finite() => {
                return Err(AppError::invalid("slippagePct", "must be between 0 and 100"));
            }
            Some(pct) => pct,
            None => config.connectors.get(&connector).map(|c| c.slippage_pct).unwrap_or(1.0),
        };
        let network = state.ethereum().network(&config, &network_name)?;
        let book = state.token_book(&config, &network_name).await?;
        Ok(Desk {
            network,
            connector,
            dex,
            book,
            slippage_ppm: (slippage_pct * 10_000.0).round() as u64,
            slippage_pct,
            network_name,
            config,
        })
    }

    /// The connector's deployment of `family` here, as its capabilities.
    pub fn protocol(&self, family: Family) -> AppResult<&dyn Protocol> {
        self.dex.protocol(family).map_err(|_| self.not_deployed(family))
    }

    /// The refusal of a request for pools of a family the connector has no deployment of here.
    pub fn not_deployed(&self, family: Family) -> AppError {
        match family {
            Family::V4 => AppError::invalid(
                "poolAddress",
                format!(
                    "{} has no V4 pools on {}: a 32-byte pool id names a V4 pool",
                    self.connector, self.network_name
                ),
            ),
            _ => self.not_deployed_kind(family.trading_type()),
        }
    }

    /// The refusal of a request for pools of type `kind` the connector has none of here.
    pub fn not_deployed_kind(&self, kind: TradingType) -> AppError {
        AppError::invalid("connector", format!("{} has no {kind} pools on {}", self.connector, self.network_name))
    }

    /// A token by symbol or address; the native currency's symbol (or the zero address) is the native
    /// currency, which V4 pools trade as the zero address.
    pub fn token(&self, field: &str, symbol_or_address: &str) -> AppResult<Token> {
        let zero = symbol_or_address.trim().parse::<Address>().is_ok_and(|address| address.is_zero());
        match self.book.is_native(symbol_or_address) || (zero && self.book.is_native(&self.book.native_symbol)) {
            true => Ok(self.native()),
            false => self.book.resolve(field, symbol_or_address),
        }
    }

    /// The native currency as a pool's token: the zero address.
    pub fn native(&self) -> Token {
        Token {
            address: Address::ZERO,
            symbol: self.book.native_symbol.clone(),
            name: self.book.native_symbol.clone(),
            decimals: chains::amount::NATIVE_DECIMALS,
        }
    }

    /// The symbol of [`Desk::listed_token_at`], without copying the token.
    pub fn listed_symbol_at(&self, address: Address) -> Option<&str> {
        match address.is_zero() {
            true => Some(&self.book.native_symbol),
            false => self.book.at(address).map(|token| token.symbol.as_str()),
        }
    }

    /// The listed token at an address (the zero address: the native currency).
    pub fn listed_token_at(&self, address: Address) -> Option<Token> {
        match address.is_zero() {
            true => Some(self.native()),
            false => self.book.at(address).cloned(),
        }
    }

    /// The token at an address: from the list, else read from the chain.
    pub async fn token_at(&self, address: Address) -> AppResult<Token> {
        if let Some(token) = self.listed_token_at(address) {
            return Ok(token);
        }
        erc20::metadata(&self.network, address).await?.ok_or_else(|| {
            AppError::invalid("poolAddress", format!("{address} is not an ERC-20 on {}", self.network_name))
        })
    }

    /// The on-chain deadline of a transaction signed now: included later (stuck behind low fees, held back by a
    /// node), it reverts instead of executing at a stale price.
    pub fn deadline(&self) -> U256 {
        let seconds = self.config.connectors.get(&self.connector).map_or(DEADLINE_SECONDS, |c| c.deadline_seconds);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        U256::from(now + seconds)
    }

    pub fn min_out(&self, amount: U256) -> U256 {
        amount * U256::from(PPM - self.slippage_ppm.min(PPM)) / U256::from(PPM)
    }

    pub fn max_in(&self, amount: U256) -> U256 {
        (amount * U256::from(PPM + self.slippage_ppm)).div_ceil(U256::from(PPM))
    }

    /// The wallet a request names (or the default), which must be one the gateway can sign for.
    pub fn wallet(
        &self,
        state: &AppState,
        given: Option<&str>,
    ) -> AppResult<(Address, alloy::signers::local::PrivateKeySigner)> {
        let address = wallet_address(&self.config, "walletAddress", given)?;
        Ok((address, state.ethereum().signer(address)?))
    }

    /// Refuses early, with what to do, when `owner` holds less than `amount` of `token`, or `spender` may not move
    /// it (native ETH is sent with the call and needs no allowance). Both are read at once.
    pub async fn require_funds(
        &self,
        owner: Address,
        token: &Token,
        spender: impl Into<Spender>,
        amount: U256,
        spender_name: &str,
    ) -> AppResult<()> {
        let spender = spender.into();
        let (_, allowed) = tokio::try_join!(
            crate::app::chain::require_balance(&self.network, owner, token, amount),
            self.allowed(owner, token, &spender)
        )?;
        if allowed >= amount {
            return Ok(());
        }
        let spender = spender.contract;
        Err(AppError::invalid(
            "allowance",
            format!(
                "{owner} allows {spender_name} ({spender}) to spend {} {sym} but this needs {}; approve it first: \
                 POST /chains/{CHAIN}/approve {{\"network\": \"{net}\", \"address\": \"{owner}\", \"token\": \"{sym}\", \"spender\": \"{spender_name}\"}}",
                chains::amount::format_units(allowed, token.decimals),
                chains::amount::format_units(amount, token.decimals),
                sym = token.symbol,
                net = self.network_name,
            ),
        )
        .of_kind(InvalidKind::Allowance))
    }

    /// [`Desk::require_funds`] for the two tokens a pool takes, asked together; the first one's refusal first.
    pub async fn require_pair_funds(
        &self,
        owner: Address,
        [(first, first_amount), (second, second_amount)]: [(&Token, U256); 2],
        spender: impl Into<Spender> + Copy,
        spender_name: &str,
    ) -> AppResult<()> {
        let (first, second) = tokio::join!(
            self.require_funds(owner, first, spender, first_amount, spender_name),
            self.require_funds(owner, second, spender, second_amount, spender_name)
        );
        first.and(second)
    }

    /// How much `spender` may move of `owner`'s `token`: without limit for the native currency, sent with the call.
    pub async fn allowed(&self, owner: Address, token: &Token, spender: &Spender) -> AppResult<U256> {
        if token.address.is_zero() {
            return Ok(U256::MAX);
        }
        Ok(spender.allowances(&self.network, owner, &[token.address]).await?.effective()[0])
    }

    pub async fn send(
        &self,
        state: &AppState,
        signer: &alloy::signers::local::PrivateKeySigner,
        call: Call,
        label: &str,
    ) -> AppResult<(SentTx, Outcome)> {
        crate::app::sending::send_and_settle(state, &self.network, signer, &call, label).await
    }

    /// Sends once `checks` pass, running them while the call is simulated and priced
    /// ([`crate::app::sending::send_checked`]).
    pub async fn send_checked(
        &self,
        state: &AppState,
        signer: &alloy::signers::local::PrivateKeySigner,
        call: Call,
        label: &str,
        checks: impl std::future::Future<Output = AppResult<()>>,
    ) -> AppResult<(SentTx, Outcome)> {
        crate::app::sending::send_checked(state, &self.network, signer, &call, label, checks).await
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;
    use crate::config::install_templates;

    /// Uniswap on the devnet as the templates describe it, with a network no call reaches.
    pub fn devnet_desk(slippage_pct: f64) -> Desk {
        let dir = tempfile::TempDir::new().unwrap();
        install_templates(dir.path()).unwrap();
        let config = Arc::new(Config::load(dir.path()).unwrap());
        let settings = crate::ethereum::network_settings("devnet", config.network("devnet").unwrap());
        let network = Arc::new(
            Network::connect(chains::network::NetworkSettings {
                node_urls: vec!["http://127.0.0.1:9".into()],
                ..settings
            })
            .unwrap(),
        );
        Desk {
            dex: config.dex("uniswap", "devnet").unwrap(),
            book: Arc::new(TokenBook::build(&config, &[], "devnet")),
            network_name: "devnet".into(),
            connector: "uniswap".into(),
            slippage_ppm: (slippage_pct * 10_000.0).round() as u64,
            slippage_pct,
            network,
            config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::devnet_desk;
    use super::*;

    #[test]
    fn slippage_bounds_round_in_the_wallets_favour_and_never_pass_zero_or_the_whole() {
        let desk = devnet_desk(1.0);
        assert_eq!(desk.min_out(U256::from(1_000_000)), U256::from(990_000));
        assert_eq!(desk.max_in(U256::from(1_000_000)), U256::from(1_010_000));
        // 1 % of 999: the least out rounds down, the most in rounds up.
        assert_eq!((desk.min_out(U256::from(999)), desk.max_in(U256::from(999))), (U256::from(989), U256::from(1009)));
        let none = devnet_desk(0.0);
        assert_eq!((none.min_out(U256::from(7)), none.max_in(U256::from(7))), (U256::from(7), U256::from(7)));
        let all = devnet_desk(100.0);
        assert_eq!((all.min_out(U256::from(7)), all.max_in(U256::from(7))), (U256::ZERO, U256::from(14)));
    }

    #[test]
    fn the_native_symbol_and_the_zero_address_are_the_native_currency_and_listed_tokens_resolve() {
        let desk = devnet_desk(1.0);
        assert_eq!(desk.token("baseToken", "ETH").unwrap().address, Address::ZERO);
        assert_eq!(desk.token("baseToken", "0x0000000000000000000000000000000000000000").unwrap().symbol, "ETH");
        let usdc = desk.token("quoteToken", "USDC").unwrap();
        assert_eq!((usdc.decimals, desk.listed_token_at(usdc.address).unwrap().symbol), (6, "USDC".to_string()));
        let error = crate::http::error::ApiError::from(desk.token("quoteToken", "NOPE").unwrap_err());
        assert!(error.message().starts_with("quoteToken: unknown token 'NOPE' on devnet"), "{}", error.message());
    }
}
