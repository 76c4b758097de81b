//! The Uniswap V2 family (`amm`): constant-product pairs behind a Router02.

pub mod liquidity;
pub mod math;
pub mod pair;
pub mod swap;

use alloy::primitives::{Address, B256, keccak256};

use crate::core::route::sort_tokens;

use crate::clmm::pool::Concentrated;
use crate::clmm::positions::Positions;

/// Where a V2-family DEX lives on one network, and the constants of its pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct V2Deployment {
    pub factory: Address,
    pub router: Address,
    pub pair_init_code_hash: B256,
    /// Swap fee in basis points: 30 for Uniswap, 25 for PancakeSwap.
    pub fee_bps: u32,
}

impl V2Deployment {
    /// The pair's address, computed off-chain the way the factory's CREATE2 places it (two keccaks, so the
    /// pairs quoted are remembered).
    pub fn pair_address(&self, token_a: Address, token_b: Address) -> Address {
        use alloy::primitives::map::HashMap;
        use std::sync::{LazyLock, RwLock};
        const REMEMBERED: usize = 4096;
        type FactoryAndTokens = (Address, Address, Address);
        static KNOWN: LazyLock<RwLock<HashMap<FactoryAndTokens, Address>>> = LazyLock::new(Default::default);
        let (token0, token1) = sort_tokens(token_a, token_b);
        let key = (self.factory, token0, token1);
        if let Some(pair) = KNOWN.read().expect("pair addresses").get(&key) {
            return *pair;
        }
        let salt = keccak256([token0.as_slice(), token1.as_slice()].concat());
        let pair = self.factory.create2(salt, self.pair_init_code_hash);
        let mut known = KNOWN.write().expect("pair addresses");
        if known.len() < REMEMBERED {
            known.insert(key, pair);
        }
        pair
    }
}

/// A V2 pair's liquidity is its pool token, not a position.
impl Positions for V2Deployment {}

/// V2 pairs are constant-product pools.
impl Concentrated for V2Deployment {}

pub use bindings::*;

/// Generated bindings; Router02 functions take more arguments than clippy likes.
#[allow(clippy::too_many_arguments)]
mod bindings {
    use alloy::sol;

    sol! {
        #[sol(rpc)]
        interface IUniswapV2Factory {
            function getPair(address tokenA, address tokenB) external view returns (address pair);
            function createPair(address tokenA, address tokenB) external returns (address pair);
            function allPairsLength() external view returns (uint256);
        }

        #[sol(rpc)]
        interface IUniswapV2Pair {
            event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to);
            event Sync(uint112 reserve0, uint112 reserve1);
            function token0() external view returns (address);
            function token1() external view returns (address);
            function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
            function totalSupply() external view returns (uint256);
            function balanceOf(address owner) external view returns (uint256);
            function mint(address to) external returns (uint256 liquidity);
            function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
        }

        #[sol(rpc)]
        interface IUniswapV2Router02 {
            function factory() external view returns (address);
            function WETH() external view returns (address);
            function addLiquidity(address tokenA, address tokenB, uint256 amountADesired, uint256 amountBDesired, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline) external returns (uint256 amountA, uint256 amountB, uint256 liquidity);
            function removeLiquidity(address tokenA, address tokenB, uint256 liquidity, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline) external returns (uint256 amountA, uint256 amountB);
            function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] calldata path, address to, uint256 deadline) external returns (uint256[] memory amounts);
            function swapTokensForExactTokens(uint256 amountOut, uint256 amountInMax, address[] calldata path, address to, uint256 deadline) external returns (uint256[] memory amounts);
            function getAmountsOut(uint256 amountIn, address[] calldata path) external view returns (uint256[] memory amounts);
            function getAmountsIn(uint256 amountOut, address[] calldata path) external view returns (uint256[] memory amounts);
        }
    }
}
