//! Uniswap's deployments. Only data: the family code in `v2` and `v3` does the work.

use alloy::primitives::{address, b256};

use crate::dex::Dex;
use crate::v2::V2Deployment;
use crate::v3::{FeeTier, SwapRouterKind, V3Deployment};

pub const FEE_TIERS: &[FeeTier] = &[
    FeeTier { fee: 100, tick_spacing: 1 },
    FeeTier { fee: 500, tick_spacing: 10 },
    FeeTier { fee: 3000, tick_spacing: 60 },
    FeeTier { fee: 10000, tick_spacing: 200 },
];

/// Ethereum mainnet. The devnet deploys the same contracts at the same addresses.
pub const MAINNET: Dex = Dex {
    name: "uniswap",
    v2: Some(V2Deployment {
        factory: address!("0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f"),
        router: address!("0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"),
        pair_init_code_hash: b256!("0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"),
        fee_bps: 30,
    }),
    v3: Some(V3Deployment {
        factory: address!("0x1F98431c8aD98523631AE4a59f267346ea31F984"),
        pool_deployer: address!("0x1F98431c8aD98523631AE4a59f267346ea31F984"),
        pool_init_code_hash: b256!("0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"),
        position_manager: address!("0xC36442b4a4522E871399CD717aBDD847Ab11FE88"),
        swap_router: address!("0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45"),
        swap_router_kind: SwapRouterKind::SwapRouter02,
        quoter_v2: address!("0x61fFE014bA17989E743c5F6cB21bF9697530B21e"),
        fee_tiers: FEE_TIERS,
    }),
};

pub fn on(network: &str) -> Option<Dex> {
    match network {
        "mainnet" | "devnet" => Some(MAINNET),
        _ => None,
    }
}
