//! PancakeSwap's deployments. Only data: the family code in `v2` and `v3` does the work.

use alloy::primitives::{address, b256};

use crate::dex::Dex;
use crate::v3::{FeeTier, SwapRouterKind, V3Deployment};

pub const FEE_TIERS: &[FeeTier] = &[
    FeeTier { fee: 100, tick_spacing: 1 },
    FeeTier { fee: 500, tick_spacing: 10 },
    FeeTier { fee: 2500, tick_spacing: 50 },
    FeeTier { fee: 10000, tick_spacing: 200 },
];

/// PancakeSwap V3 has the same addresses on BNB Chain and Ethereum; pools are created by the PoolDeployer,
/// not the factory, so CREATE2 addresses derive from the deployer.
pub const V3: V3Deployment = V3Deployment {
    factory: address!("0x0BFbCF9fa4f9C56B0F40a671Ad40E0805A091865"),
    pool_deployer: address!("0x41ff9AA7e16B8B1a8a8dc4f0eFacd93D02d071c9"),
    pool_init_code_hash: b256!("0x6ce8eb472fa82df5469c6ab6d485f17c3ad13c8cd7af59b3d4a8026c5ce0f7e2"),
    position_manager: address!("0x46A15B0b27311cedF172AB29E4f4766fbE7F4364"),
    swap_router: address!("0x1b81D678ffb9C0263b24A97847620C99d213eB14"),
    swap_router_kind: SwapRouterKind::SwapRouterWithDeadline,
    quoter_v2: address!("0xB048Bbc1Ee6b733FFfCFb9e9CeF7375518e25997"),
    fee_tiers: FEE_TIERS,
};

pub fn on(network: &str) -> Option<Dex> {
    match network {
        "mainnet" | "devnet" => Some(Dex { name: "pancakeswap", v2: None, v3: Some(V3) }),
        _ => None,
    }
}
