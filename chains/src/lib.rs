//! EVM chain support: networks with RPC failover, wallets, nonces, gas, the transaction pipeline, ERC-20
//! reads and WETH. No HTTP lives here; the server crate turns these into routes.

pub mod amount;
pub mod contracts;
pub mod erc20;
pub mod error;
pub mod gas;
pub mod ledger;
pub mod network;
pub mod refusal;
pub mod rpc;
pub mod tracker;
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
