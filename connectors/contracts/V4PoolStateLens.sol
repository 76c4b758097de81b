// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.7.6;
pragma abicoder v2;

import "./TickWindow.sol";

struct PoolKey {
    address currency0;
    address currency1;
    uint24 fee;
    int24 tickSpacing;
    address hooks;
}

/// What the lens reads of a V4 pool through StateView.
interface IStateViewReads {
    function getSlot0(bytes32 poolId)
        external
        view
        returns (uint160 sqrtPriceX96, int24 tick, uint24 protocolFee, uint24 lpFee);
    function getLiquidity(bytes32 poolId) external view returns (uint128);
    function getTickBitmap(bytes32 poolId, int16 word) external view returns (uint256);
    function getTickLiquidity(bytes32 poolId, int24 tick) external view returns (uint128, int128);
}

/// PositionManager keeps the key of every pool it has minted in, by the id's first 25 bytes.
interface IPoolKeys {
    function poolKeys(bytes25 poolId) external view returns (PoolKey memory);
}

/// Never deployed, like PoolStateLens: sent as the code of an `eth_call`, its constructor returns the ABI-encoded
/// `State` of the V4 pool `poolId`: its key, price, fees, liquidity, and every initialized tick in the
/// `windowWords` tick-bitmap words on either side of the price. It reverts for a pool it knows no key of.
contract V4PoolStateLens is TickWindow {
    struct State {
        PoolKey key;
        uint160 sqrtPriceX96;
        int24 tick;
        uint24 protocolFee;
        uint24 lpFee;
        uint128 liquidity;
        int16 fromWord;
        int16 toWord;
        PopulatedTick[] ticks;
    }

    IStateViewReads private stateView;
    bytes32 private poolId;

    constructor(IStateViewReads stateView_, IPoolKeys positionManager, bytes32 poolId_, int16 windowWords) {
        (stateView, poolId) = (stateView_, poolId_);
        State memory state;
        state.key = positionManager.poolKeys(bytes25(poolId));
        require(state.key.tickSpacing != 0, "unknown pool");
        (state.sqrtPriceX96, state.tick, state.protocolFee, state.lpFee) = stateView.getSlot0(poolId);
        state.liquidity = stateView.getLiquidity(poolId);
        (state.fromWord, state.toWord) = window(state.tick, state.key.tickSpacing, windowWords);
        state.ticks = populated(state.key.tickSpacing, state.fromWord, state.toWord);
        bytes memory encoded = abi.encode(state);
        assembly {
            return(add(encoded, 32), mload(encoded))
        }
    }

    function bitmapAt(int16 word) internal view override returns (uint256) {
        return stateView.getTickBitmap(poolId, word);
    }

    function liquidityNetAt(int24 tick) internal view override returns (int128 liquidityNet) {
        (, liquidityNet) = stateView.getTickLiquidity(poolId, tick);
    }
}
