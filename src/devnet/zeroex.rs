//! 0x protocol v4 on the devnet, deployed as its migration does it, at the Exchange Proxy's canonical address.

use alloy::primitives::Address;
use alloy::sol_types::{SolCall, SolValue};

use super::assets::DevnetAssets;
use super::{DevnetError, Unlocked};

use super::WETH;

const ZERO_EX: &str = "@0x/contracts-zero-ex";

/// 0x v4 as its migration does it, at a temporary address (the bootstrap checks the proxy's own address), then
/// moved to the canonical one. NativeOrdersFeature is built for the canonical address: its EIP-712 domain is a
/// hash fixed at construction. A protocol fee multiplier of 0 means fills need no ETH.
pub async fn deploy_zero_ex(chain: &Unlocked, assets: &DevnetAssets) -> Result<(), DevnetError> {
    let artifact = |name: &str| assets.creation_code(ZERO_EX, &format!("lib/generated-artifacts/{name}.json"));
    let owner = chain.deployer;
    let migration = chain.deploy(artifact("InitialMigration")?, owner.abi_encode()).await?;
    let proxy = chain.deploy(artifact("ZeroEx")?, migration.abi_encode()).await?;
    let registry = chain.deploy(artifact("SimpleFunctionRegistryFeature")?, vec![]).await?;
    let ownable = chain.deploy(artifact("OwnableFeature")?, vec![]).await?;
    chain
        .call(migration, InitializeZeroEx { owner, zeroEx: proxy, features: BootstrapFeatures { registry, ownable } })
        .await?;
    let fee_collector =
        chain.deploy(artifact("FeeCollectorController")?, (WETH, Address::ZERO).abi_encode_params()).await?;
    let canonical = connectors::clob::zeroex::EXCHANGE_PROXY;
    let native_orders = chain
        .deploy(
            artifact("NativeOrdersFeature")?,
            (canonical, WETH, Address::ZERO, fee_collector, 0u32).abi_encode_params(),
        )
        .await?;
    let batch_fill = chain.deploy(artifact("BatchFillNativeOrdersFeature")?, canonical.abi_encode()).await?;
    for feature in [native_orders, batch_fill] {
        let register = MigrateFeature { target: feature, data: MigrateCall {}.abi_encode().into(), newOwner: owner };
        chain.call(proxy, register).await?;
    }
    chain.relocate(proxy, canonical).await
}

alloy::sol! {
    struct BootstrapFeatures {
        address registry;
        address ownable;
    }
    function initializeZeroEx(address owner, address zeroEx, BootstrapFeatures features) external;
    function migrate(address target, bytes data, address newOwner) external;
    function migrate() external;
}
use initializeZeroExCall as InitializeZeroEx;
use migrate_0Call as MigrateFeature;
use migrate_1Call as MigrateCall;
