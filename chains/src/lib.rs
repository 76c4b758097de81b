//! EVM chain support: networks, providers, wallets, nonces, gas, the transaction pipeline, ERC-20 and WETH.
//! No HTTP lives here; the server crate turns these types into routes.

pub mod contracts;
