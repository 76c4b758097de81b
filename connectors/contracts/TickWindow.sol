// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.7.6;
pragma abicoder v2;

/// What both pool lenses return of the ticks: every initialized one in a window of tick-bitmap words, with the
/// liquidity crossing it adds.
abstract contract TickWindow {
    int24 internal constant MIN_TICK = -887272;
    int24 internal constant MAX_TICK = 887272;

    struct PopulatedTick {
        int24 tick;
        int128 liquidityNet;
    }

    /// The pool's tick bitmap word `word`.
    function bitmapAt(int16 word) internal view virtual returns (uint256);

    /// The liquidity crossing initialized tick `tick` upwards adds.
    function liquidityNetAt(int24 tick) internal view virtual returns (int128);

    /// The words `windowWords` either side of the price's, within the tick range.
    function window(int24 tick, int24 spacing, int16 windowWords) internal pure returns (int16 fromWord, int16 toWord) {
        int16 word = wordOf(tick, spacing);
        fromWord = max(word - windowWords, wordOf(MIN_TICK, spacing));
        toWord = min(word + windowWords, wordOf(MAX_TICK, spacing));
    }

    function populated(int24 spacing, int16 fromWord, int16 toWord) internal view returns (PopulatedTick[] memory ticks) {
        uint256[] memory bitmaps = new uint256[](uint256(int256(toWord) - int256(fromWord) + 1));
        uint256 count;
        for (int16 word = fromWord; word <= toWord; word++) {
            uint256 bits = bitmapAt(word);
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
                ticks[filled++] = PopulatedTick(tick, liquidityNetAt(tick));
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
