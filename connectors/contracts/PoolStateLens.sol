// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.7.6;
pragma abicoder v2;

import "./TickWindow.sol";

/// What the lens reads of a Uniswap V3 family pool (PancakeSwap V3's slot0 has more fields; the first two agree).
interface IV3PoolReads {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function fee() external view returns (uint24);
    function tickSpacing() external view returns (int24);
    function liquidity() external view returns (uint128);
    function slot0() external view returns (uint160 sqrtPriceX96, int24 tick);
    function tickBitmap(int16 wordPosition) external view returns (uint256);
    function ticks(int24 tick) external view returns (uint128 liquidityGross, int128 liquidityNet);
}

/// Never deployed. Sent as the code of an `eth_call` without a recipient, its constructor reads a pool in one
/// round trip and returns, in place of runtime code, the ABI-encoded `State`: the pool's constants, price,
/// liquidity, and every initialized tick in the `windowWords` tick-bitmap words on either side of the price.
contract PoolStateLens is TickWindow {
    struct State {
        address token0;
        address token1;
        uint24 fee;
        int24 tickSpacing;
        uint160 sqrtPriceX96;
        int24 tick;
        uint128 liquidity;
        int16 fromWord;
        int16 toWord;
        PopulatedTick[] ticks;
    }

    IV3PoolReads private pool;

    constructor(IV3PoolReads pool_, int16 windowWords) {
        pool = pool_;
        State memory state;
        state.token0 = pool.token0();
        state.token1 = pool.token1();
        state.fee = pool.fee();
        state.tickSpacing = pool.tickSpacing();
        (state.sqrtPriceX96, state.tick) = pool.slot0();
        state.liquidity = pool.liquidity();
        (state.fromWord, state.toWord) = window(state.tick, state.tickSpacing, windowWords);
        state.ticks = populated(state.tickSpacing, state.fromWord, state.toWord);
        bytes memory encoded = abi.encode(state);
        assembly {
            return(add(encoded, 32), mload(encoded))
        }
    }

    function bitmapAt(int16 word) internal view override returns (uint256) {
        return pool.tickBitmap(word);
    }

    function liquidityNetAt(int24 tick) internal view override returns (int128 liquidityNet) {
        (, liquidityNet) = pool.ticks(tick);
    }
}
