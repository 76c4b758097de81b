//! EVM chain support: networks with RPC failover, wallets, nonces, gas, the transaction pipeline, ERC-20
//! reads and WETH. No HTTP lives here; the server crate turns these into routes.

pub mod amount;
pub mod contracts;
pub mod erc20;
pub mod error;
pub mod gas;
pub mod ledger;
pub mod network;
pub mod rpc;
pub mod tx;
pub mod wallet;
