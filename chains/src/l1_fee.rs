//! The L1 data fee an OP-stack chain charges on top of gas (Fjord rules): the size of the signed transaction
//! after FastLZ compression, priced by the L1 fee parameters the chain keeps in its L1Block predeploy. Sources:
//! ethereum-optimism/specs, `fjord/exec-engine.md` (the formula and its constants) and `fjord/predeploys.md`;
//! op-geth `core/types/rollup_cost.go` (the compressed length, as solady's `LibZip.flzCompress` computes it).

use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::{SolCall, SolValue};

use crate::error::ChainError;
use crate::gas::L1FeeParams;
use crate::network::Network;

alloy::sol! {
    /// The OP-stack predeploy holding the L1 fee parameters (OP specs, predeploys.md).
    interface IL1Block {
        function basefee() external view returns (uint256);
        function blobBaseFee() external view returns (uint256);
        function baseFeeScalar() external view returns (uint32);
        function blobBaseFeeScalar() external view returns (uint32);
    }
}

/// L1Block's predeploy address, the same on every OP-stack chain.
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");

/// Fjord's linear model of a transaction's size on L1 from its compressed size, scaled by 1e6.
const COST_INTERCEPT: i64 = -42_585_600;
const COST_FASTLZ_COEF: i64 = 836_500;
const MIN_TRANSACTION_SIZE_SCALED: i64 = 100 * 1_000_000;

/// The L1 fee, in wei, of a transaction whose signed EIP-2718 encoding is `signed` (what the node charges; the
/// GasPriceOracle's `getL1Fee` takes the unsigned encoding and adds 68 bytes for the signature instead).
pub fn l1_fee(signed: &[u8], params: &L1FeeParams) -> U256 {
    priced(u64::from(flz_compressed_len(signed)), params)
}

/// A bound on the L1 fee of a signed transaction of at most `size` bytes, whatever they are, for the fee cap
/// before signing. FastLZ stores incompressible data as literal runs of 32 bytes, each with a one-byte header
/// (and a match never costs more than the bytes it replaces), so the compressed size is at most n + n/32 + 2.
/// The L1 base fee and blob base fee may rise before the transaction is included (12.5 % per L1 block at most,
/// EIP-1559 and EIP-4844): the bound prices them at twice the latest, which holds for six L1 blocks.
pub fn l1_fee_upper_bound(size: usize, params: &L1FeeParams) -> U256 {
    let size = size as u64;
    let risen = L1FeeParams {
        base_fee: params.base_fee * U256::from(2),
        blob_base_fee: params.blob_base_fee * U256::from(2),
        ..*params
    };
    priced(size + size / 32 + 2, &risen)
}

/// Fjord's price of a transaction whose signed bytes compress to `compressed` bytes.
fn priced(compressed: u64, params: &L1FeeParams) -> U256 {
    let estimated_size = (COST_INTERCEPT + COST_FASTLZ_COEF * compressed as i64).max(MIN_TRANSACTION_SIZE_SCALED);
    let scaled_price = U256::from(params.base_fee_scalar) * U256::from(16) * params.base_fee
        + U256::from(params.blob_base_fee_scalar) * params.blob_base_fee;
    U256::from(estimated_size as u64) * scaled_price / U256::from(1_000_000_000_000u64)
}

/// Bytes a signed type-2 transaction adds to its call data, at most: type, chain id, nonce, fees, gas limit, to,
/// value, an empty access list and the signature, with their RLP headers.
pub const SIGNED_ENVELOPE_BYTES: usize = 160;

/// The most the L1 data fee of a transaction with `call_data_len` bytes of call data may be on `network`, as of
/// its latest block (its parameters read once a block); `None` (and no node call) where the chain charges none.
pub async fn bound(network: &Network, call_data_len: usize) -> Result<Option<U256>, ChainError> {
    if !network.settings().gas.rules.l1_data_fee {
        return Ok(None);
    }
    let latest = || async { Ok((params(network, None).await?, None)) };
    let params = network.once_a_block(&network.l1_fee_params, latest).await?;
    Ok(Some(l1_fee_upper_bound(call_data_len + SIGNED_ENVELOPE_BYTES, &params)))
}

/// The L1 fee parameters in force at `block` (the latest when `None`), read from the L1Block predeploy in one
/// Multicall3 round trip.
pub async fn params(network: &Network, block: Option<u64>) -> Result<L1FeeParams, ChainError> {
    let calls = vec![
        (L1_BLOCK, Bytes::from(IL1Block::basefeeCall {}.abi_encode())),
        (L1_BLOCK, Bytes::from(IL1Block::blobBaseFeeCall {}.abi_encode())),
        (L1_BLOCK, Bytes::from(IL1Block::baseFeeScalarCall {}.abi_encode())),
        (L1_BLOCK, Bytes::from(IL1Block::blobBaseFeeScalarCall {}.abi_encode())),
    ];
    let answers = crate::multicall::multicall(network, calls, block).await?;
    let missing = || ChainError::Node("the L1Block predeploy did not answer its fee parameters".into());
    let answer = |index: usize| answers.get(index).cloned().flatten().ok_or_else(missing);
    let word = |index: usize| answer(index).and_then(|data| U256::abi_decode(&data).map_err(|_| missing()));
    let scalar = |index: usize| word(index).and_then(|value| u32::try_from(value).map_err(|_| missing()));
    Ok(L1FeeParams {
        base_fee: word(0)?,
        blob_base_fee: word(1)?,
        base_fee_scalar: scalar(2)?,
        blob_base_fee_scalar: scalar(3)?,
    })
}

/// The L1 fee a mined transaction paid: the receipt's `l1Fee` where the node gives it (OP-stack nodes do; it
/// needs no state of past blocks), else computed from its signed bytes and the parameters of its block.
pub async fn paid(network: &Network, receipt: &TransactionReceipt) -> Result<U256, ChainError> {
    let hash: B256 = receipt.transaction_hash;
    let as_given: Option<serde_json::Value> = network
        .provider()
        .raw_request("eth_getTransactionReceipt".into(), (hash,))
        .await
        .map_err(|e| network.rpc_error(e))?;
    if let Some(fee) = as_given.as_ref().and_then(|receipt| receipt.get("l1Fee")?.as_str()?.parse::<U256>().ok()) {
        return Ok(fee);
    }
    let (signed, params) = tokio::try_join!(
        async {
            let raw: Option<Bytes> = network
                .provider()
                .raw_request("eth_getRawTransactionByHash".into(), (hash,))
                .await
                .map_err(|e| network.rpc_error(e))?;
            raw.ok_or_else(|| ChainError::Node(format!("the node has no bytes for mined transaction {hash}")))
        },
        params(network, receipt.block_number),
    )?;
    Ok(l1_fee(&signed, &params))
}

/// The length FastLZ (level 1) compresses `input` to, without producing the output.
pub fn flz_compressed_len(input: &[u8]) -> u32 {
    const HASH_MASK: u32 = 0x1fff;
    const MAX_DISTANCE: u32 = 0x1fff;
    let len = input.len() as u32;
    let read24 = |at: u32| {
        let at = at as usize;
        u32::from(input[at]) | u32::from(input[at + 1]) << 8 | u32::from(input[at + 2]) << 16
    };
    let hash = |value: u32| (2_654_435_769u32.wrapping_mul(value) >> 19) & HASH_MASK;
    let mut size = 0u32;
    let literals = |run: u32, size: &mut u32| {
        *size += 0x21 * (run / 0x20);
        if !run.is_multiple_of(0x20) {
            *size += run % 0x20 + 1;
        }
    };
    let matched = |length: u32, size: &mut u32| {
        let length = length - 1;
        *size += 3 * (length / 262) + if length % 262 >= 6 { 3 } else { 2 };
    };
    let mut table = vec![0u32; (HASH_MASK + 1) as usize];
    let limit = len.saturating_sub(13);
    let mut anchor = 0u32;
    let mut ip = 2u32;
    while ip < limit {
        let mut reference;
        loop {
            let sequence = read24(ip);
            let slot = hash(sequence) as usize;
            reference = table[slot];
            table[slot] = ip;
            let distance = ip - reference;
            if ip >= limit {
                break;
            }
            ip += 1;
            if distance <= MAX_DISTANCE && sequence == read24(reference) {
                break;
            }
        }
        if ip >= limit {
            break;
        }
        ip -= 1;
        if ip > anchor {
            literals(ip - anchor, &mut size);
        }
        // The match runs from 3 bytes in; like the reference, the count includes the first differing byte.
        let (from, to, end) = (reference + 3, ip + 3, limit + 9 - (ip + 3));
        let mut length = 0u32;
        while length < end {
            let differs = input[(from + length) as usize] != input[(to + length) as usize];
            length += 1;
            if differs {
                break;
            }
        }
        matched(length, &mut size);
        ip += length;
        for _ in 0..2 {
            table[hash(read24(ip)) as usize] = ip;
            ip += 1;
        }
        anchor = ip;
    }
    literals(len - anchor, &mut size);
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_lengths_match_the_reference_vectors() {
        // The vectors of op-revm's fast_lz.rs, checked there against solady's Solidity.
        assert_eq!(flz_compressed_len(&[]), 0);
        assert_eq!(flz_compressed_len(&[0u8; 1000]), 21);
        assert_eq!(flz_compressed_len(&[0x2a; 1000]), 21);
        assert_eq!(flz_compressed_len(&[0xfa, 0xca, 0xde]), 4);
    }

    #[test]
    fn the_fee_equals_what_op_revm_charged_for_a_signed_transaction() {
        // A type-2 transfer with 200 bytes of data, mined by anvil 1.7.1 with `--network optimism` over L1Block
        // values basefee 20 gwei, blobBaseFee 3 gwei, scalars 2269 and 1055762: the sender's balance fell by
        // 389,336,600,000 wei more than gas used × effective price and value.
        let signed = alloy::hex::decode("0x02f9013582210501843b9aca008476bc1ac482714894000000000000000000000000000000000000dead01b8c8ababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababababc080a0e86e66c047e34ffc28245203b412fef322f3a332786f0111249220e3cef6f6e7a0304ac379608eb1d7b5852daf38953f7567b3ef3796a1c9cd9b758af7c0d621df").unwrap();
        let params = L1FeeParams {
            base_fee: U256::from(20_000_000_000u64),
            blob_base_fee: U256::from(3_000_000_000u64),
            base_fee_scalar: 2269,
            blob_base_fee_scalar: 1_055_762,
        };
        assert_eq!(l1_fee(&signed, &params), U256::from(389_336_600_000u64));
    }

    #[test]
    fn the_bound_holds_for_data_that_does_not_compress() {
        let params = L1FeeParams {
            base_fee: U256::from(7_000_000_000u64),
            blob_base_fee: U256::from(5u64),
            base_fee_scalar: 2269,
            blob_base_fee_scalar: 1_055_762,
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for size in [0usize, 40, 171, 400, 1000, 5000, 20_000] {
            let noise: Vec<u8> = (0..size)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            assert!(flz_compressed_len(&noise) as usize <= size + size / 32 + 2, "{size}");
            assert!(l1_fee(&noise, &params) <= l1_fee_upper_bound(size, &params), "{size}");
        }
    }

    #[test]
    fn the_fee_follows_fjords_formula_with_its_floor() {
        let params = L1FeeParams {
            base_fee: U256::from(1_000_000_000u64),
            blob_base_fee: U256::from(1u64),
            base_fee_scalar: 2269,
            blob_base_fee_scalar: 1_055_762,
        };
        // A short transaction is priced at the 100-byte floor: 100e6 × (2269 × 16 × 1e9 + 1055762 × 1) / 1e12.
        let floor = U256::from(100_000_000u64) * U256::from(2269u64 * 16 * 1_000_000_000 + 1_055_762)
            / U256::from(1_000_000_000_000u64);
        assert_eq!(l1_fee(&[0xfa, 0xca, 0xde], &params), floor);
        // Past it, 836,500 per compressed byte less the intercept.
        let random: Vec<u8> = (0..400u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let compressed = u64::from(flz_compressed_len(&random));
        assert!(compressed > 171, "{compressed}");
        let size = 836_500 * compressed - 42_585_600;
        let expected =
            U256::from(size) * U256::from(2269u64 * 16 * 1_000_000_000 + 1_055_762) / U256::from(1_000_000_000_000u64);
        assert_eq!(l1_fee(&random, &params), expected);
    }
}
