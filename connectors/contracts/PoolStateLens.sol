// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.7.6;
pragma abicoder v2;

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
contract PoolStateLens {
    int24 internal constant MIN_TICK = -887272;
    int24 internal constant MAX_TICK = 887272;

    struct PopulatedTick {
        int24 tick;
        int128 liquidityNet;
    }

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

    constructor(IV3PoolReads pool, int16 windowWords) {
        State memory state;
        state.token0 = pool.token0();
        state.token1 = pool.token1();
        state.fee = pool.fee();
        state.tickSpacing = pool.tickSpacing();
        (state.sqrtPriceX96, state.tick) = pool.slot0();
        state.liquidity = pool.liquidity();
        int16 word = wordOf(state.tick, state.tickSpacing);
        state.fromWord = max(word - windowWords, wordOf(MIN_TICK, state.tickSpacing));
        state.toWord = min(word + windowWords, wordOf(MAX_TICK, state.tickSpacing));
        state.ticks = populated(pool, state.tickSpacing, state.fromWord, state.toWord);
        bytes memory encoded = abi.encode(state);
        assembly {
            return(add(encoded, 32), mload(encoded))
        }
    }

    function populated(IV3PoolReads pool, int24 spacing, int16 fromWord, int16 toWord)
        private
        view
        returns (PopulatedTick[] memory ticks)
    {
        uint256[] memory bitmaps = new uint256[](uint256(int256(toWord) - int256(fromWord) + 1));
        uint256 count;
        for (int16 word = fromWord; word <= toWord; word++) {
            uint256 bits = pool.tickBitmap(word);
            bitmaps[uint256(int256(word) - int256(fromWord))] = bits;
            for (; bits != 0; bits &= bits - 1) {
                count++;
            }
        }
        ticks = new PopulatedTick[](count);
        uint256 filled;
        for (uint256 i = 0; i < bitmaps.length; i++) {
            uint256 bits = bitmaps[i];
            for (uint256 bit = 0; bits >> bit != 0; bit++) {
                if ((bits >> bit) & 1 == 0) {
                    continue;
                }
                int24 tick = (int24(int256(fromWord) + int256(i)) * 256 + int24(uint24(bit))) * spacing;
                (, int128 liquidityNet) = pool.ticks(tick);
                ticks[filled++] = PopulatedTick(tick, liquidityNet);
            }
        }
    }

    function wordOf(int24 tick, int24 spacing) private pure returns (int16) {
        int24 compressed = tick / spacing;
        if (tick < 0 && tick % spacing != 0) compressed--;
        return int16(compressed >> 8);
    }

    function max(int16 a, int16 b) private pure returns (int16) {
        return a > b ? a : b;
    }

    function min(int16 a, int16 b) private pure returns (int16) {
        return a < b ? a : b;
    }
}
