//! The tokens a network knows: its config list plus those added through the API, resolved by symbol or address.

use alloy::primitives::Address;
use chains::erc20::Token;

use crate::config::{CHAIN, Config};
use crate::error::{ApiError, ApiResult};
use crate::http::params::parse_address;
use crate::storage::TokenRow;

pub struct TokenBook {
    pub network: String,
    /// The network whose `tokens/ethereum/<name>.json` lists this network's tokens: its own, or the one it rehearses.
    list_network: String,
    pub native_symbol: String,
    pub tokens: Vec<Token>,
}

impl TokenBook {
    /// The config's list for `network`, then the tokens added through the API that it does not have.
    pub fn build(config: &Config, added: &[TokenRow], network: &str) -> TokenBook {
        let mut tokens: Vec<Token> = config
            .token_lists
            .get(network)
            .into_iter()
            .flatten()
            .map(|t| Token { address: t.address, symbol: t.symbol.clone(), name: t.name.clone(), decimals: t.decimals })
            .collect();
        for row in added {
            let Ok(address) = row.address.parse::<Address>() else {
                continue;
            };
            if !tokens.iter().any(|t| t.address == address) {
                tokens.push(Token {
                    address,
                    symbol: row.symbol.clone(),
                    name: row.name.clone(),
                    decimals: row.decimals,
                });
            }
        }
        let native_symbol = config.network(network).map(|n| n.native_currency_symbol.clone()).unwrap_or_default();
        let list_network = config.rehearsed(network).unwrap_or(network).to_string();
        TokenBook { network: network.to_string(), list_network, native_symbol, tokens }
    }

    /// A token by symbol (exact, then case-insensitive) or address. The native currency is not a token here.
    pub fn resolve(&self, field: &str, symbol_or_address: &str) -> ApiResult<Token> {
        let wanted = symbol_or_address.trim();
        if wanted.starts_with("0x") {
            let address = parse_address(field, wanted)?;
            return self
                .tokens
                .iter()
                .find(|t| t.address == address)
                .cloned()
                .ok_or_else(|| self.unknown(field, wanted));
        }
        self.tokens
            .iter()
            .find(|t| t.symbol == wanted)
            .or_else(|| self.tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(wanted)))
            .cloned()
            .ok_or_else(|| self.unknown(field, wanted))
    }

    /// Whether `symbol` names the native currency as such. Where the native currency is an ERC-20 itself and
    /// listed (CELO), its symbol names the token: balances, allowances and approvals go through its contract.
    pub fn is_native(&self, symbol: &str) -> bool {
        symbol.trim().eq_ignore_ascii_case(&self.native_symbol) && self.native_token().is_none()
    }

    fn native_token(&self) -> Option<&Token> {
        self.tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(&self.native_symbol))
    }

    /// The wrapped native token (WETH for ETH): the list's `W<native>` entry. Where the native currency is an
    /// ERC-20 itself (CELO on Celo: its balance is the token's), there is nothing to wrap.
    pub fn wrapped_native(&self) -> ApiResult<Token> {
        let symbol = format!("W{}", self.native_symbol);
        if let Some(native) = self.native_token() {
            return Err(ApiError::bad_request(
                "network",
                format!(
                    "on {} {} is an ERC-20 token itself (at {}): it needs no wrapping; approve and swap it as {}",
                    self.network, native.symbol, native.address, native.symbol
                ),
            ));
        }
        self.resolve("token", &symbol).map_err(|_| {
            ApiError::bad_request(
                "network",
                format!(
                    "network {} lists no {symbol}; add it to tokens/{CHAIN}/{}.json",
                    self.network, self.list_network
                ),
            )
        })
    }

    fn unknown(&self, field: &str, wanted: &str) -> ApiError {
        ApiError::bad_request(
            field,
            format!(
                "unknown token {} on {network}; add it with POST /tokens/save/<address>?chainNetwork={CHAIN}-{network} \
                 or list it in tokens/{CHAIN}/{list}.json",
                chains::quoted(wanted),
                network = self.network,
                list = self.list_network
            ),
        )
        .with_code("TOKEN_NOT_FOUND")
    }
}
