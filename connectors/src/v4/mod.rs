//! The Uniswap V4 family (`clmm` too): every pool lives in one singleton PoolManager and is known by the id of
//! its key; swaps go through the UniversalRouter, positions through the PositionManager, and both take tokens
//! through Permit2. Only pools without hooks are traded.

pub mod pool;
pub mod position;
pub mod swap;

use alloy::primitives::aliases::{I24, U24};
use alloy::primitives::{Address, B256, Bytes, keccak256};
use alloy::sol;
use alloy::sol_types::SolValue;

use crate::clmm::fee_tier::FeeTier;
use crate::core::route::sort_tokens;

/// Where Uniswap V4 lives on one network. Permit2 is at one address on every chain, but is data here like the
/// rest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct V4Deployment {
    pub pool_manager: Address,
    pub position_manager: Address,
    pub state_view: Address,
    pub quoter: Address,
    pub universal_router: Address,
    pub permit2: Address,
    /// The fee tiers and tick spacings pools are looked for at (V4 pools may take any; these are the ones
    /// Uniswap's interface creates).
    pub fee_tiers: Vec<FeeTier>,
    /// The block the PositionManager was deployed in: scans of its logs start there (0 where not recorded).
    #[serde(default)]
    pub position_manager_block: u64,
    /// Where that block number was read.
    #[serde(default)]
    pub position_manager_block_source: Option<String>,
}

impl V4Deployment {
    /// The key of the hookless pool of two currencies (the zero address is native ETH) at `tier`.
    pub fn hookless_key(&self, currency_a: Address, currency_b: Address, tier: FeeTier) -> PoolKey {
        let (currency0, currency1) = sort_tokens(currency_a, currency_b);
        PoolKey {
            currency0,
            currency1,
            fee: U24::from(tier.fee),
            tickSpacing: I24::try_from(tier.tick_spacing).expect("tick spacings fit in 24 bits"),
            hooks: Address::ZERO,
        }
    }
}

impl PoolKey {
    /// The pool's id: what the PoolManager keys its state by.
    pub fn id(&self) -> B256 {
        keccak256(self.abi_encode())
    }
}

/// PositionManager's actions (`Actions.sol`), the bytes of a `modifyLiquidities` or `V4_SWAP` plan.
pub mod actions {
    pub const INCREASE_LIQUIDITY: u8 = 0x00;
    pub const DECREASE_LIQUIDITY: u8 = 0x01;
    pub const MINT_POSITION: u8 = 0x02;
    pub const BURN_POSITION: u8 = 0x03;
    pub const SWAP_EXACT_IN_SINGLE: u8 = 0x06;
    pub const SWAP_EXACT_OUT_SINGLE: u8 = 0x08;
    pub const SETTLE_ALL: u8 = 0x0c;
    pub const SETTLE_PAIR: u8 = 0x0d;
    pub const TAKE_ALL: u8 = 0x0f;
    pub const TAKE_PAIR: u8 = 0x11;
    pub const CLOSE_CURRENCY: u8 = 0x12;
    pub const SWEEP: u8 = 0x14;
}

/// Actions and their parameters, as PositionManager's `modifyLiquidities` and the UniversalRouter's `V4_SWAP`
/// take them: `abi.encode(bytes actions, bytes[] params)`.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    actions: Vec<u8>,
    params: Vec<Bytes>,
}

impl Plan {
    /// Adds `action` with its parameters, a tuple encoded as `abi.encode(...)` of its members (so a single
    /// struct goes in as a one-member tuple).
    pub fn then<T>(mut self, action: u8, params: T) -> Plan
    where
        T: SolValue,
        for<'a> <T::SolType as alloy::sol_types::SolType>::Token<'a>: alloy::sol_types::abi::TokenSeq<'a>,
    {
        self.actions.push(action);
        self.params.push(params.abi_encode_params().into());
        self
    }

    pub fn encode(&self) -> Bytes {
        (Bytes::from(self.actions.clone()), self.params.clone()).abi_encode_params().into()
    }
}

/// The UniversalRouter's command that runs a V4 plan (`Commands.sol`).
pub const V4_SWAP_COMMAND: u8 = 0x10;

sol! {
    /// A V4 pool's identity: its currencies in address order (the zero address for native ETH), its fee in
    /// hundredths of a basis point, its tick spacing and its hooks contract.
    #[derive(Debug, PartialEq, Eq, Hash)]
    struct PoolKey {
        address currency0;
        address currency1;
        uint24 fee;
        int24 tickSpacing;
        address hooks;
    }

    /// The PoolManager's swap event: `amount0` and `amount1` are what the swapper's balance changed by
    /// (negative: paid in).
    #[allow(clippy::too_many_arguments)]
    interface IPoolManager {
        event Swap(bytes32 indexed id, address indexed sender, int128 amount0, int128 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick, uint24 fee);
        /// A position's liquidity changed: PositionManager's positions are its own, told apart by the token id
        /// as `salt`.
        event ModifyLiquidity(bytes32 indexed id, address indexed sender, int24 tickLower, int24 tickUpper, int256 liquidityDelta, bytes32 salt);
    }

    #[sol(rpc)]
    interface IPositionManager {
        function initializePool(PoolKey calldata key, uint160 sqrtPriceX96) external payable returns (int24);
        function modifyLiquidities(bytes calldata unlockData, uint256 deadline) external payable;
        function poolKeys(bytes25 poolId) external view returns (PoolKey memory);
        function getPositionLiquidity(uint256 tokenId) external view returns (uint128 liquidity);
        function getPoolAndPositionInfo(uint256 tokenId) external view returns (PoolKey memory poolKey, uint256 info);
        function nextTokenId() external view returns (uint256);
        function ownerOf(uint256 tokenId) external view returns (address);
        event Transfer(address indexed from, address indexed to, uint256 indexed id);
    }

    #[sol(rpc)]
    interface IStateView {
        function getSlot0(bytes32 poolId) external view returns (uint160 sqrtPriceX96, int24 tick, uint24 protocolFee, uint24 lpFee);
        function getLiquidity(bytes32 poolId) external view returns (uint128 liquidity);
        function getPositionInfo(bytes32 poolId, address owner, int24 tickLower, int24 tickUpper, bytes32 salt) external view returns (uint128 liquidity, uint256 feeGrowthInside0LastX128, uint256 feeGrowthInside1LastX128);
        function getFeeGrowthInside(bytes32 poolId, int24 tickLower, int24 tickUpper) external view returns (uint256 feeGrowthInside0X128, uint256 feeGrowthInside1X128);
    }

    #[sol(rpc)]
    interface IV4Quoter {
        struct QuoteExactSingleParams { PoolKey poolKey; bool zeroForOne; uint128 exactAmount; bytes hookData; }
        function quoteExactInputSingle(QuoteExactSingleParams memory params) external returns (uint256 amountOut, uint256 gasEstimate);
        function quoteExactOutputSingle(QuoteExactSingleParams memory params) external returns (uint256 amountIn, uint256 gasEstimate);
    }

    #[sol(rpc)]
    interface IUniversalRouter {
        function execute(bytes calldata commands, bytes[] calldata inputs, uint256 deadline) external payable;
    }

    /// `V4Router`'s single-pool swaps.
    struct ExactInputSingleParams { PoolKey poolKey; bool zeroForOne; uint128 amountIn; uint128 amountOutMinimum; bytes hookData; }
    struct ExactOutputSingleParams { PoolKey poolKey; bool zeroForOne; uint128 amountOut; uint128 amountInMaximum; bytes hookData; }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256};

    #[test]
    fn a_pool_id_is_the_hash_of_its_key() {
        // Mainnet's ETH/USDC 0.05 % hookless pool, as Uniswap's interface and StateView know it.
        let usdc = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
        let tier = FeeTier { fee: 500, tick_spacing: 10 };
        let deployment = V4Deployment {
            pool_manager: Address::ZERO,
            position_manager: Address::ZERO,
            state_view: Address::ZERO,
            quoter: Address::ZERO,
            universal_router: Address::ZERO,
            permit2: Address::ZERO,
            fee_tiers: vec![tier],
            position_manager_block: 0,
            position_manager_block_source: None,
        };
        let key = deployment.hookless_key(usdc, Address::ZERO, tier);
        assert_eq!(key.currency0, Address::ZERO, "native ETH sorts first");
        assert_eq!(key.id(), b256!("0x21c67e77068de97969ba93d4aab21826d33ca12bb9f565d8496e8fda8a82ca27"));
    }
}
