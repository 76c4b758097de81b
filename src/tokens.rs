//! The tokens a network knows: its config list plus those added through the API, resolved by symbol or address.

use alloy::primitives::Address;
use chains::erc20::Token;

use crate::config::{CHAIN, Config};
use crate::error::{AppError, AppResult, InvalidKind};
use crate::request::parse_address;
use crate::storage::TokenRow;

pub struct TokenBook {
    pub network: String,
    /// The file listing this network's tokens; none for a rehearsal (`gateway devnet --like`), which lists what
    /// the devnet deployed.
    pub list_file: Option<String>,
    pub native_symbol: String,
    /// The native currency's own ERC-20, where the config lists one (CELO on Celo). Tokens added through the API
    /// never count: a token calling itself ETH must not turn ETH into it.
    native_token: Option<Token>,
    pub tokens: Vec<Token>,
    /// Where each address is in `tokens` (its first entry): quotes name their tokens by address on every answer.
    by_address: alloy::primitives::map::AddressHashMap<usize>,
    /// Where each symbol, as written, is in `tokens` (its first entry).
    by_symbol: alloy::primitives::map::HashMap<String, usize>,
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
        let native_symbol = config.network(network).map(|n| n.native_currency_symbol.clone()).unwrap_or_default();
        let native_token = tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(&native_symbol)).cloned();
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
        let list_file = config.rehearsed(network).is_none().then(|| format!("tokens/{CHAIN}/{network}.json"));
        let mut by_address =
            alloy::primitives::map::AddressHashMap::with_capacity_and_hasher(tokens.len(), Default::default());
        let mut by_symbol = alloy::primitives::map::HashMap::with_capacity_and_hasher(tokens.len(), Default::default());
        for (index, token) in tokens.iter().enumerate() {
            by_address.entry(token.address).or_insert(index);
            by_symbol.entry(token.symbol.clone()).or_insert(index);
        }
        TokenBook {
            network: network.to_string(),
            list_file,
            native_symbol,
            native_token,
            tokens,
            by_address,
            by_symbol,
        }
    }

    /// The listed token at `address`.
    pub fn at(&self, address: Address) -> Option<&Token> {
        self.by_address.get(&address).map(|&index| &self.tokens[index])
    }

    /// A token by symbol (exact, then case-insensitive) or address. The native currency is not a token here.
    pub fn resolve(&self, field: &str, symbol_or_address: &str) -> AppResult<Token> {
        let wanted = symbol_or_address.trim();
        if wanted.starts_with("0x") {
            let address = parse_address(field, wanted)?;
            return self.at(address).cloned().ok_or_else(|| self.unknown(field, wanted));
        }
        self.by_symbol
            .get(wanted)
            .map(|&index| &self.tokens[index])
            .or_else(|| self.tokens.iter().find(|t| t.symbol.eq_ignore_ascii_case(wanted)))
            .cloned()
            .ok_or_else(|| self.unknown(field, wanted))
    }

    /// Whether `symbol` names the native currency as such. Where the native currency is an ERC-20 itself and
    /// listed (CELO), its symbol names the token: balances, allowances and approvals go through its contract.
    pub fn is_native(&self, symbol: &str) -> bool {
        symbol.trim().eq_ignore_ascii_case(&self.native_symbol) && self.native_token.is_none()
    }

    /// The wrapped native token (WETH for ETH): the list's `W<native>` entry. Where the native currency is an
    /// ERC-20 itself (CELO on Celo: its balance is the token's), there is nothing to wrap.
    pub fn wrapped_native(&self) -> AppResult<Token> {
        let symbol = format!("W{}", self.native_symbol);
        if let Some(native) = &self.native_token {
            return Err(AppError::invalid(
                "network",
                format!(
                    "on {} {} is an ERC-20 token itself (at {}): it needs no wrapping; approve and swap it as {}",
                    self.network, native.symbol, native.address, native.symbol
                ),
            ));
        }
        self.resolve("token", &symbol).map_err(|_| {
            AppError::invalid("network", format!("network {} lists no {symbol}{}", self.network, self.or_list_it()))
        })
    }

    fn unknown(&self, field: &str, wanted: &str) -> AppError {
        AppError::invalid(
            field,
            format!(
                "unknown token {} on {network}; add it with POST /tokens/save/<address>?chainNetwork={CHAIN}-{network}{}",
                chains::quoted(wanted),
                self.or_list_it(),
                network = self.network,
            ),
        )
        .of_kind(InvalidKind::UnknownToken)
    }

    fn or_list_it(&self) -> String {
        self.list_file.as_ref().map(|file| format!(" or list it in {file}")).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::TokenRow;

    #[test]
    fn a_token_is_found_by_address_and_by_symbol_the_list_before_what_was_added() {
        let dir = tempfile::TempDir::new().unwrap();
        crate::config::install_templates(dir.path()).unwrap();
        let config = Config::load(dir.path()).unwrap();
        let listed = TokenBook::build(&config, &[], "devnet");
        let usdc = listed.resolve("token", "USDC").unwrap();
        let row = |address: Address, symbol: &str| TokenRow {
            network: "devnet".into(),
            address: address.to_string(),
            symbol: symbol.into(),
            name: symbol.into(),
            decimals: 6,
        };
        // An added token at a listed address is not a second entry; one under a listed symbol comes after it.
        let other = Address::repeat_byte(0x42);
        let book = TokenBook::build(&config, &[row(usdc.address, "FAKE"), row(other, "USDC")], "devnet");
        assert_eq!(book.at(usdc.address), Some(&usdc));
        assert_eq!(book.resolve("token", "USDC").unwrap(), usdc);
        assert_eq!(book.resolve("token", "usdc").unwrap(), usdc, "case-insensitive after exact");
        assert_eq!(book.resolve("token", &other.to_string()).unwrap().symbol, "USDC");
        assert!(book.resolve("token", "FAKE").is_err());
        assert_eq!(book.at(Address::repeat_byte(0x43)), None);
    }
}
