// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.7.6;

/// Holds a contract's creation code as its runtime code, so a deployer can CREATE2 from it with extcodecopy.
contract InitCodeHolder {
    constructor(bytes memory code) {
        assembly {
            return(add(code, 32), mload(code))
        }
    }
}

/// PancakeSwap V3 pools are created by a PoolDeployer (npm ships no artifact for it). This one behaves like the
/// real one: only the factory may call `deploy`, pools read their parameters back from it, and the CREATE2 salt
/// is keccak256(abi.encode(token0, token1, fee)), so pools land at their canonical addresses.
contract PancakeV3PoolDeployer {
    struct Parameters {
        address factory;
        address token0;
        address token1;
        uint24 fee;
        int24 tickSpacing;
    }

    Parameters public parameters;
    address public factoryAddress;
    address public immutable poolCodeHolder;

    constructor(address poolCodeHolder_) {
        poolCodeHolder = poolCodeHolder_;
    }

    function setFactoryAddress(address factory) external {
        require(factoryAddress == address(0), "factory already set");
        factoryAddress = factory;
    }

    function deploy(address factory, address token0, address token1, uint24 fee, int24 tickSpacing)
        external
        returns (address pool)
    {
        require(msg.sender == factoryAddress, "only factory");
        parameters = Parameters(factory, token0, token1, fee, tickSpacing);
        address holder = poolCodeHolder;
        bytes32 salt = keccak256(abi.encode(token0, token1, fee));
        assembly {
            let size := extcodesize(holder)
            let code := mload(0x40)
            extcodecopy(holder, code, 0, size)
            pool := create2(0, code, size, salt)
        }
        require(pool != address(0), "pool creation failed");
        delete parameters;
    }
}
