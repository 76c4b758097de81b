//! What the plain devnet holds: its tokens (at mainnet's addresses) with what each account gets, and its pools;
//! and what a `--like` devnet gives each account of the tokens it lists.

use alloy::primitives::{Address, address};

use super::pools::PoolSpec;

pub struct TokenSpec {
    pub symbol: &'static str,
    pub name: &'static str,
    pub decimals: u8,
    pub address: Address,
    /// Whole tokens minted to the deployer (the liquidity provider) and to every other account.
    pub deployer_amount: u64,
    pub account_amount: u64,
}

pub const TOKENS: [TokenSpec; 8] = [
    TokenSpec {
        symbol: "USDC",
        name: "USD Coin",
        decimals: 6,
        address: address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000_000,
    },
    TokenSpec {
        symbol: "USDT",
        name: "Tether USD",
        decimals: 6,
        address: address!("0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000_000,
    },
    TokenSpec {
        symbol: "DAI",
        name: "Dai Stablecoin",
        decimals: 18,
        address: address!("0x6B175474E89094C44Da98b954EedeAC495271d0F"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000_000,
    },
    TokenSpec {
        symbol: "WBTC",
        name: "Wrapped BTC",
        decimals: 8,
        address: address!("0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"),
        deployer_amount: 1_000_000,
        account_amount: 100,
    },
    TokenSpec {
        symbol: "LINK",
        name: "ChainLink Token",
        decimals: 18,
        address: address!("0x514910771AF9Ca656af840dff83E8264EcF986CA"),
        deployer_amount: 1_000_000_000,
        account_amount: 100_000,
    },
    TokenSpec {
        symbol: "UNI",
        name: "Uniswap",
        decimals: 18,
        address: address!("0x1f9840a85d5aF5bf1D1762F925BDADdC4201F984"),
        deployer_amount: 1_000_000_000,
        account_amount: 100_000,
    },
    TokenSpec {
        symbol: "AAVE",
        name: "Aave Token",
        decimals: 18,
        address: address!("0x7Fc66500c84A76Ad7e9c93437bFc5Ac33E2DDaE9"),
        deployer_amount: 1_000_000_000,
        account_amount: 10_000,
    },
    TokenSpec {
        symbol: "MKR",
        name: "Maker",
        decimals: 18,
        address: address!("0x9f8F72aA9304c8B593d555F12eF6589cC3A579A2"),
        deployer_amount: 1_000_000_000,
        account_amount: 1_000,
    },
];

/// ETH each non-deployer account wraps into WETH at deploy time.
pub const ACCOUNT_WETH: u64 = 1_000;
pub const DEPLOYER_WETH: u64 = 100_000;

pub const UNISWAP_V2_POOLS: [PoolSpec; 3] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 0 },
    PoolSpec { base: ("DAI", 1_000_000), quote: ("USDC", 1_000_000), fee: 0 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 0 },
];

pub const UNISWAP_V3_POOLS: [PoolSpec; 4] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 500 },
    PoolSpec { base: ("WETH", 500), quote: ("USDC", 1_500_000), fee: 3000 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 3000 },
    PoolSpec { base: ("DAI", 1_000_000), quote: ("USDC", 1_000_000), fee: 100 },
];

pub const PANCAKE_V2_POOLS: [PoolSpec; 2] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 0 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 0 },
];

pub const PANCAKE_V3_POOLS: [PoolSpec; 3] = [
    PoolSpec { base: ("WETH", 1_000), quote: ("USDC", 3_000_000), fee: 500 },
    PoolSpec { base: ("WETH", 500), quote: ("USDC", 1_500_000), fee: 2500 },
    PoolSpec { base: ("WBTC", 50), quote: ("WETH", 1_000), fee: 2500 },
];

/// V4 trades native ETH: "ETH" in a pool spec is the zero currency, not WETH.
pub const UNISWAP_V4_POOLS: [PoolSpec; 3] = [
    PoolSpec { base: ("ETH", 1_000), quote: ("USDC", 3_000_000), fee: 500 },
    PoolSpec { base: ("WETH", 500), quote: ("USDC", 1_500_000), fee: 3000 },
    PoolSpec { base: ("WBTC", 50), quote: ("ETH", 1_000), fee: 3000 },
];

/// A `--like` devnet's tokens: whole tokens minted to the deployer and to every other account, whatever the token.
pub const LIKE_DEPLOYER_AMOUNT: u64 = 1_000_000_000;
pub const LIKE_ACCOUNT_AMOUNT: u64 = 1_000_000;
