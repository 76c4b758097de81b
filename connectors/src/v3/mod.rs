//! The Uniswap V3 family (`clmm`): concentrated-liquidity pools, the NonfungiblePositionManager, a swap
//! router and QuoterV2.

pub mod pool;
pub mod position_manager;
pub mod swap;

use alloy::primitives::{Address, B256, aliases::U24, keccak256};
use alloy::sol;
use alloy::sol_types::SolValue;

use crate::clmm::fee_tier::FeeTier;
use crate::core::capability::Liquidity;
use crate::core::route::sort_tokens;

/// The two swap-router ABIs the family uses: Uniswap's SwapRouter02 takes no deadline in its structs,
/// PancakeSwap's SwapRouter (like Uniswap's first one) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub enum SwapRouterKind {
    SwapRouter02,
    SwapRouterWithDeadline,
}

/// Where a V3-family DEX lives on one network, and the constants of its pools.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(from = "V3DeploymentFields")]
pub struct V3Deployment {
    pub factory: Address,
    /// The contract whose CREATE2 makes pools: the factory itself for Uniswap, a PoolDeployer for PancakeSwap.
    pub pool_deployer: Address,
    pub pool_init_code_hash: B256,
    pub position_manager: Address,
    pub swap_router: Address,
    pub swap_router_kind: SwapRouterKind,
    pub quoter_v2: Address,
    pub fee_tiers: Vec<FeeTier>,
}

/// The description as written: `poolDeployer` may be left out when the factory deploys the pools.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct V3DeploymentFields {
    factory: Address,
    pool_deployer: Option<Address>,
    pool_init_code_hash: B256,
    position_manager: Address,
    swap_router: Address,
    swap_router_kind: SwapRouterKind,
    quoter_v2: Address,
    fee_tiers: Vec<FeeTier>,
}

impl From<V3DeploymentFields> for V3Deployment {
    fn from(f: V3DeploymentFields) -> Self {
        V3Deployment {
            factory: f.factory,
            pool_deployer: f.pool_deployer.unwrap_or(f.factory),
            pool_init_code_hash: f.pool_init_code_hash,
            position_manager: f.position_manager,
            swap_router: f.swap_router,
            swap_router_kind: f.swap_router_kind,
            quoter_v2: f.quoter_v2,
            fee_tiers: f.fee_tiers,
        }
    }
}

impl V3Deployment {
    /// The pool's address, computed off-chain the way the deployer's CREATE2 places it.
    pub fn pool_address(&self, token_a: Address, token_b: Address, fee: u32) -> Address {
        let (token0, token1) = sort_tokens(token_a, token_b);
        let salt = keccak256((token0, token1, U24::from(fee)).abi_encode());
        self.pool_deployer.create2(salt, self.pool_init_code_hash)
    }

    pub fn tick_spacing(&self, fee: u32) -> Option<i32> {
        self.fee_tiers.iter().find(|tier| tier.fee == fee).map(|tier| tier.tick_spacing)
    }
}

/// A V3 pool's liquidity is held in positions, not a pool token.
impl Liquidity for V3Deployment {}

sol! {
    #[sol(rpc)]
    interface IUniswapV3Factory {
        function getPool(address tokenA, address tokenB, uint24 fee) external view returns (address pool);
        function feeAmountTickSpacing(uint24 fee) external view returns (int24);
        function enableFeeAmount(uint24 fee, int24 tickSpacing) external;
    }

    /// `slot0` is declared with a uint32 fee-protocol field so it decodes both Uniswap's (uint8) and
    /// PancakeSwap's (uint32) pools.
    #[sol(rpc)]
    interface IUniswapV3Pool {
        event Swap(address indexed sender, address indexed recipient, int256 amount0, int256 amount1, uint160 sqrtPriceX96, uint128 liquidity, int24 tick);
        function token0() external view returns (address);
        function token1() external view returns (address);
        function fee() external view returns (uint24);
        function tickSpacing() external view returns (int24);
        function liquidity() external view returns (uint128);
        function slot0() external view returns (uint160 sqrtPriceX96, int24 tick, uint16 observationIndex, uint16 observationCardinality, uint16 observationCardinalityNext, uint32 feeProtocol, bool unlocked);
        function ticks(int24 tick) external view returns (uint128 liquidityGross, int128 liquidityNet, uint256 feeGrowthOutside0X128, uint256 feeGrowthOutside1X128, int56 tickCumulativeOutside, uint160 secondsPerLiquidityOutsideX128, uint32 secondsOutside, bool initialized);
        function tickBitmap(int16 wordPosition) external view returns (uint256);
        function feeGrowthGlobal0X128() external view returns (uint256);
        function feeGrowthGlobal1X128() external view returns (uint256);
        function initialize(uint160 sqrtPriceX96) external;
    }

    #[sol(rpc)]
    interface INonfungiblePositionManager {
        struct MintParams { address token0; address token1; uint24 fee; int24 tickLower; int24 tickUpper; uint256 amount0Desired; uint256 amount1Desired; uint256 amount0Min; uint256 amount1Min; address recipient; uint256 deadline; }
        struct IncreaseLiquidityParams { uint256 tokenId; uint256 amount0Desired; uint256 amount1Desired; uint256 amount0Min; uint256 amount1Min; uint256 deadline; }
        struct DecreaseLiquidityParams { uint256 tokenId; uint128 liquidity; uint256 amount0Min; uint256 amount1Min; uint256 deadline; }
        struct CollectParams { uint256 tokenId; address recipient; uint128 amount0Max; uint128 amount1Max; }
        event IncreaseLiquidity(uint256 indexed tokenId, uint128 liquidity, uint256 amount0, uint256 amount1);
        event DecreaseLiquidity(uint256 indexed tokenId, uint128 liquidity, uint256 amount0, uint256 amount1);
        event Collect(uint256 indexed tokenId, address recipient, uint256 amount0, uint256 amount1);
        function createAndInitializePoolIfNecessary(address token0, address token1, uint24 fee, uint160 sqrtPriceX96) external payable returns (address pool);
        function mint(MintParams calldata params) external payable returns (uint256 tokenId, uint128 liquidity, uint256 amount0, uint256 amount1);
        function increaseLiquidity(IncreaseLiquidityParams calldata params) external payable returns (uint128 liquidity, uint256 amount0, uint256 amount1);
        function decreaseLiquidity(DecreaseLiquidityParams calldata params) external payable returns (uint256 amount0, uint256 amount1);
        function collect(CollectParams calldata params) external payable returns (uint256 amount0, uint256 amount1);
        function burn(uint256 tokenId) external payable;
        function multicall(bytes[] calldata data) external payable returns (bytes[] memory results);
        function positions(uint256 tokenId) external view returns (uint96 nonce, address operator, address token0, address token1, uint24 fee, int24 tickLower, int24 tickUpper, uint128 liquidity, uint256 feeGrowthInside0LastX128, uint256 feeGrowthInside1LastX128, uint128 tokensOwed0, uint128 tokensOwed1);
        function balanceOf(address owner) external view returns (uint256);
        function tokenOfOwnerByIndex(address owner, uint256 index) external view returns (uint256);
        function ownerOf(uint256 tokenId) external view returns (address);
    }

    #[sol(rpc)]
    interface IQuoterV2 {
        struct QuoteExactInputSingleParams { address tokenIn; address tokenOut; uint256 amountIn; uint24 fee; uint160 sqrtPriceLimitX96; }
        struct QuoteExactOutputSingleParams { address tokenIn; address tokenOut; uint256 amount; uint24 fee; uint160 sqrtPriceLimitX96; }
        function quoteExactInputSingle(QuoteExactInputSingleParams memory params) external returns (uint256 amountOut, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate);
        function quoteExactOutputSingle(QuoteExactOutputSingleParams memory params) external returns (uint256 amountIn, uint160 sqrtPriceX96After, uint32 initializedTicksCrossed, uint256 gasEstimate);
        function quoteExactInput(bytes memory path, uint256 amountIn) external returns (uint256 amountOut, uint160[] memory sqrtPriceX96AfterList, uint32[] memory initializedTicksCrossedList, uint256 gasEstimate);
        function quoteExactOutput(bytes memory path, uint256 amountOut) external returns (uint256 amountIn, uint160[] memory sqrtPriceX96AfterList, uint32[] memory initializedTicksCrossedList, uint256 gasEstimate);
    }

    /// Uniswap SwapRouter02 (`IV3SwapRouter`): no deadline in the structs.
    #[sol(rpc)]
    interface ISwapRouter02 {
        struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
        struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
        struct ExactInputParams { bytes path; address recipient; uint256 amountIn; uint256 amountOutMinimum; }
        struct ExactOutputParams { bytes path; address recipient; uint256 amountOut; uint256 amountInMaximum; }
        function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut);
        function exactOutputSingle(ExactOutputSingleParams calldata params) external payable returns (uint256 amountIn);
        function exactInput(ExactInputParams calldata params) external payable returns (uint256 amountOut);
        function exactOutput(ExactOutputParams calldata params) external payable returns (uint256 amountIn);
        function multicall(uint256 deadline, bytes[] calldata data) external payable returns (bytes[] memory results);
        /// Pays the router's whole balance of `token` to `recipient`, if it is at least `amountMinimum`.
        function sweepToken(address token, uint256 amountMinimum, address recipient) external payable;
        /// V2 pools through the same router (`IV2SwapRouter`): no deadline.
        function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] calldata path, address to) external payable returns (uint256 amountOut);
        function swapTokensForExactTokens(uint256 amountOut, uint256 amountInMax, address[] calldata path, address to) external payable returns (uint256 amountIn);
    }

    /// The first SwapRouter's ABI, which PancakeSwap V3 kept: a deadline in every struct.
    #[sol(rpc)]
    interface ISwapRouterWithDeadline {
        struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
        struct ExactOutputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; uint160 sqrtPriceLimitX96; }
        struct ExactInputParams { bytes path; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; }
        struct ExactOutputParams { bytes path; address recipient; uint256 deadline; uint256 amountOut; uint256 amountInMaximum; }
        function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut);
        function exactOutputSingle(ExactOutputSingleParams calldata params) external payable returns (uint256 amountIn);
        function exactInput(ExactInputParams calldata params) external payable returns (uint256 amountOut);
        function exactOutput(ExactOutputParams calldata params) external payable returns (uint256 amountIn);
        function multicall(bytes[] calldata data) external payable returns (bytes[] memory results);
        function sweepToken(address token, uint256 amountMinimum, address recipient) external payable;
    }
}
