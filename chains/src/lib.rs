//! EVM chain support: networks with RPC failover, wallets, nonces, gas, the transaction pipeline, ERC-20
//! reads and WETH. No HTTP lives here; the server crate turns these into routes.

pub mod amount;
pub mod contracts;
pub mod erc20;
pub mod error;
pub mod fee_market;
pub mod gas;
pub mod l1_fee;
pub mod logs;
pub mod multicall;
pub mod network;
pub mod permit2;
pub mod rpc;
pub mod tx;
pub mod wallet;

/// An address in EIP-55 form, remembered: answers name the same few pools and tokens over and over, and each
/// checksum is a keccak.
pub fn checksum(address: alloy::primitives::Address) -> String {
    use std::collections::HashMap;
    use std::sync::{LazyLock, RwLock};
    const REMEMBERED: usize = 4096;
    static KNOWN: LazyLock<RwLock<HashMap<alloy::primitives::Address, Box<str>>>> = LazyLock::new(Default::default);
    if let Some(text) = KNOWN.read().expect("checksums").get(&address) {
        return text.to_string();
    }
    let text = address.to_checksum(None);
    let mut known = KNOWN.write().expect("checksums");
    if known.len() < REMEMBERED {
        known.insert(address, text.as_str().into());
    }
    text
}

/// Client input as an error message quotes it: in quotes, at most 24 characters, control characters shown as
/// `?`, and nothing at all of what may be a private key (64 hex digits), so a key pasted into the wrong field never
/// reaches an answer or a log.
pub fn quoted(text: &str) -> String {
    const SHOWN: usize = 24;
    let hex = text.trim().trim_start_matches("0x");
    if hex.len() >= 64 && hex.bytes().take(64).all(|b| b.is_ascii_hexdigit()) {
        return "<64 hex digits: a private key? not repeated here>".into();
    }
    let mut shown: String = text.chars().take(SHOWN).map(|c| if c.is_control() { '?' } else { c }).collect();
    if text.chars().nth(SHOWN).is_some() {
        shown.push('…');
    }
    format!("'{shown}'")
}

#[cfg(test)]
mod tests {
    #[test]
    fn quoted_input_is_short_printable_and_never_a_key() {
        assert_eq!(super::quoted("WETH"), "'WETH'");
        assert_eq!(super::quoted("a\nb\u{7}"), "'a?b?'");
        assert_eq!(super::quoted(&"x".repeat(100)), format!("'{}…'", "x".repeat(24)));
        let key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
        assert!(!super::quoted(key).contains("59c6995e"), "{}", super::quoted(key));
        assert!(!super::quoted(key.trim_start_matches("0x")).contains("59c6995e"));
        assert_eq!(super::quoted("0é"), "'0é'");
    }
}
