//! What became of a transaction (`poll`), and replacing a pending one at its nonce: a cancel or a speed-up,
//! waited for like any send.

use alloy::primitives::B256;
use alloy::providers::Provider;
use chains::amount::NATIVE_DECIMALS;
use chains::amount::format_units;
use chains::network::Network;
use chains::tx::inquiry::{self, Fate};
use chains::tx::{Ledger, LedgerTx, TxKind, TxStatus};
use chains::tx::{Mined, Replacement, SentTx};

use super::chain::{Ctx, context, summarize};
use crate::error::{AppError, AppResult};
use crate::request::{Human, wallet_address};
use crate::schema::chain::*;
use crate::state::AppState;

/// A transaction's status, as the chain has it; the ledger follows. An unknown hash is answered (status -2), not
/// refused. A transaction that was sped up or cancelled answers with what was mined in its place. Nothing is ever
/// sent again by a poll.
pub async fn poll(state: &AppState, request: PollRequest) -> AppResult<PollResponse> {
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let hash = parse_hash("signature", &request.signature)?;
    let current_block = ctx.network.head().await?;
    let mut response = PollResponse {
        current_block,
        signature: hash.to_string(),
        tx_block: None,
        tx_status: 0,
        fee: None,
        tx_data: None,
        error: None,
        ledger_status: None,
        replaced_by: None,
    };
    match inquiry::fate(state.ethereum().sender.ledger(), &ctx.network, hash).await? {
        Fate::Mined { receipt, status } => {
            mined(&mut response, &receipt)?;
            response.ledger_status = status.map(|status| status.as_str().into());
            let block = receipt.block_number.unwrap_or_default();
            if !ctx.network.buried(block).await? {
                let wanted = ctx.network.settings().confirmations;
                response.tx_status = 0;
                response.error = Some(format!(
                    "mined in block {block}, {} of the {wanted} confirmations this network asks for (confirmations)",
                    (current_block + 1).saturating_sub(block).min(wanted)
                ));
            }
        }
        Fate::Replaced { by, receipt } => {
            mined(&mut response, &receipt)?;
            response.ledger_status = Some(TxStatus::Replaced.as_str().into());
            response.replaced_by = Some(by.hash.to_string());
            if by.kind == TxKind::Cancel {
                response.tx_status = -1;
                response.error = Some(format!(
                    "cancelled: {} (a 0-value transfer at the same nonce) was mined in block {} instead",
                    by.hash,
                    current_or(receipt.block_number)
                ));
            }
        }
        Fate::InPool { recorded } => {
            response.ledger_status = recorded.then(|| TxStatus::Pending.as_str().into());
        }
        Fate::Recorded(row) => {
            let inclusion = row.inclusion.expect("recorded mined with its block");
            let reverted = row.status == TxStatus::Failed;
            response.tx_block = Some(inclusion.block_number);
            response.tx_status = if reverted { -1 } else { 1 };
            response.error = reverted.then(|| "the transaction was mined and reverted".to_string());
            response.fee = Some(Human(format_units(inclusion.fee_wei, NATIVE_DECIMALS)));
            response.ledger_status = Some(row.status.as_str().into());
        }
        Fate::Unreceipted(row) => {
            response.ledger_status = Some(row.status.as_str().into());
            response.error = Some(
                "in a block, as the node's answer for it says, and its receipt not served yet (the node lags behind \
                 that block, or indexes receipts late): poll again"
                    .into(),
            );
        }
        Fate::Unknown => {
            response.tx_status = -2;
            response.error = Some(format!("transaction not found on {}", ctx.network_name));
        }
        Fate::Gone(row) => {
            let (status, error) = gone(&row, &ctx.network);
            response.ledger_status = Some(row.status.as_str().into());
            response.tx_status = status;
            response.error = Some(error);
        }
    }
    Ok(response)
}

/// What a poll says of a transaction the ledger has and no node holds.
fn gone(row: &LedgerTx, network: &Network) -> (i8, String) {
    match row.status {
        TxStatus::Pending => (
            0,
            format!(
                "the node does not know this transaction now; unless it is mined or seen again it is marked dropped \
                 after {} s or once its nonce {} is used",
                network.settings().drop_after.as_secs(),
                row.nonce
            ),
        ),
        TxStatus::Signed => (0, "signed and recorded, not known to any node: it is not sent again, and is marked abandoned by the next send from this wallet".into()),
        TxStatus::Dropped => (-2, "dropped: the node no longer knows it and it will not be mined; it is never sent again".into()),
        TxStatus::Abandoned => (-2, "abandoned: signed but never sent (the gateway stopped first); it is never sent".into()),
        TxStatus::Rejected => (-2, "rejected: the node refused it when it was sent".into()),
        TxStatus::Replaced => (-2, "replaced at its nonce by another transaction".into()),
        TxStatus::Confirmed | TxStatus::Failed => (-2, "recorded as mined, but the chain no longer has it (the chain was reset or reorganised)".into()),
    }
}

fn current_or(block: Option<u64>) -> String {
    block.map_or_else(|| "?".into(), |block| block.to_string())
}

/// Fills in a mined transaction's block, status, fee and receipt.
fn mined(response: &mut PollResponse, receipt: &Mined) -> AppResult<()> {
    response.tx_block = receipt.block_number;
    response.tx_status = if receipt.status() { 1 } else { -1 };
    response.error = (!receipt.status()).then(|| "the transaction was mined and reverted".to_string());
    response.fee = Some(Human(format_units(receipt.fee_wei, NATIVE_DECIMALS)));
    response.tx_data = Some(serde_json::to_value(&receipt.receipt).map_err(AppError::internal)?);
    Ok(())
}

fn parse_hash(field: &str, text: &str) -> AppResult<B256> {
    text.trim().parse().map_err(|_| AppError::invalid(field, "must be a transaction hash: 0x and 64 hex digits"))
}

/// Cancels the wallet's pending transaction at `nonce`: a 0-value transfer to itself at that nonce with fees at
/// least 12.5 % over what is pending there (within the network's caps), then waits for the receipt.
pub async fn cancel(state: &AppState, request: CancelRequest) -> AppResult<ReplaceResponse> {
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let owner = wallet_address(&ctx.config, "address", request.address.as_deref())?;
    let signer = state.ethereum().signer(owner)?;
    let sender = &state.ethereum().sender;
    let sent = sender.replace(&ctx.network, &signer, request.nonce, Replacement::Cancel, None).await?;
    replaced(state, &ctx, sent, Replacement::Cancel).await
}

/// Re-sends a pending transaction with fees at least 12.5 % higher (or the market's, if higher; within the
/// network's caps) at the same nonce, then waits for the receipt. Polling the old hash reports what was mined.
pub async fn speed_up(state: &AppState, request: SpeedUpRequest) -> AppResult<ReplaceResponse> {
    let ctx = context(state, request.network.as_deref(), request.chain_network.as_deref())?;
    let hash = parse_hash("signature", &request.signature)?;
    let sender = &state.ethereum().sender;
    let row = sender.ledger().find(hash).await.map_err(AppError::internal)?.ok_or_else(|| {
        AppError::not_found(format!("{hash} is not a transaction this gateway sent; only those can be sped up"))
    })?;
    if row.network != ctx.network_name {
        return Err(AppError::invalid(
            "network",
            format!("{hash} was sent on {}, not {}", row.network, ctx.network_name),
        ));
    }
    if let Some(receipt) =
        ctx.network.provider().get_transaction_receipt(hash).await.map_err(|e| ctx.network.rpc_error(e))?
    {
        inquiry::record_receipt(sender.ledger(), &ctx.network, &Mined::of(&ctx.network, receipt.clone()).await).await?;
        return Err(AppError::invalid(
            "signature",
            format!(
                "{hash} is already mined (block {}); there is nothing to speed up",
                current_or(receipt.block_number)
            ),
        ));
    }
    if row.status != TxStatus::Pending {
        return Err(AppError::invalid(
            "signature",
            format!("{hash} is {}, not pending; only a pending transaction can be sped up", row.status.as_str()),
        ));
    }
    let signer = state.ethereum().signer(row.sender)?;
    let sent = sender.replace(&ctx.network, &signer, row.nonce, Replacement::SpeedUp(&row), None).await?;
    replaced(state, &ctx, sent, Replacement::SpeedUp(&row)).await
}

/// Waits for a replacement and answers with it.
async fn replaced(
    state: &AppState,
    ctx: &Ctx,
    replacement: SentTx,
    how: Replacement<'_>,
) -> AppResult<ReplaceResponse> {
    let sender = &state.ethereum().sender;
    let recorded = sender.ledger().find(replacement.hash).await.map_err(AppError::internal)?;
    let replaced = recorded.and_then(|row| row.replaces).map(|hash| hash.to_string()).unwrap_or_default();
    let (mined, outcome) = sender.wait_for(&ctx.network, replacement, ctx.network.settings().tx_timeout).await?;
    let (signature, status, fee) = summarize(&[(mined, outcome)]);
    // What it replaced was mined first: a speed-up's call was done all the same, a cancel failed.
    let (signature, status) = match how {
        Replacement::Cancel if mined.hash != replacement.hash => (replacement.hash.to_string(), -1),
        _ => (signature, status),
    };
    Ok(ReplaceResponse {
        tx_hash: signature.clone(),
        signature,
        status,
        data: Some(ReplaceData { nonce: mined.nonce, replaced, fee: format_units(fee, NATIVE_DECIMALS) }),
    })
}
