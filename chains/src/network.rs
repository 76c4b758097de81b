//! A configured network: its chain id, native currency, gas settings and an RPC provider with failover.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use alloy::primitives::Bytes;
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::client::RpcClient;
use alloy::transports::{RpcError, TransportError, TransportErrorKind};
use tokio::sync::{OnceCell, watch};

use crate::error::ChainError;
use crate::gas::{ChainRules, FeeCaps, L1FeeParams, MarketFees};
use crate::rpc::{FailoverTransport, RpcStats};

/// Gas settings, in GWEI as the config writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct GasSettings {
    /// Fixed base fee; the node's latest base fee when `None`.
    pub base_fee_gwei: Option<f64>,
    pub base_fee_multiplier: f64,
    /// Fixed priority fee; the node's suggestion when `None`.
    pub priority_fee_gwei: Option<f64>,
    /// When set, transactions are legacy at this gas price.
    pub gas_price_gwei: Option<f64>,
    /// The chain's own rules (its floor, its transaction type, its L1 fee), with the config's overrides.
    pub rules: ChainRules,
}

/// Everything a network needs from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSettings {
    pub name: String,
    pub chain_id: u64,
    pub node_urls: Vec<String>,
    pub native_symbol: String,
    pub gas: GasSettings,
    /// How long to wait for a receipt before answering "pending".
    pub tx_timeout: Duration,
    /// The most any transaction may offer or cost.
    pub fee_caps: FeeCaps,
    /// A transaction pending this long with fees below the market's is re-sent with higher fees; never when `None`.
    pub replace_after: Option<Duration>,
    /// A pending transaction the node no longer knows is dropped after this long (sooner when its nonce is used).
    pub drop_after: Duration,
    /// Blocks a transaction's block must have on top of it, itself included, before it counts as confirmed.
    pub confirmations: u64,
}

/// A value read once a block ([`Network::once_a_block`]), and the block it was read in.
pub(crate) struct BlockMemo<T>(std::sync::Mutex<Option<(u64, Arc<OnceCell<T>>)>>);

impl<T> Default for BlockMemo<T> {
    fn default() -> Self {
        BlockMemo(std::sync::Mutex::new(None))
    }
}

pub struct Network {
    settings: NetworkSettings,
    provider: RootProvider,
    transport: FailoverTransport,
    stats: Arc<RpcStats>,
    /// How often to ask for a receipt: a local node mines at once, a remote one every few seconds.
    receipt_poll: Duration,
    /// The latest block seen, kept current by a poller started on first use (it stops when the network is
    /// dropped, e.g. rebuilt after a config change).
    blocks: OnceCell<Arc<watch::Sender<u64>>>,
    block_poll: Duration,
    instance: u64,
    /// The market's fees as read in a block (the poller's latest), shared by everything priced in it.
    pub(crate) market_fees: BlockMemo<MarketFees>,
    /// The L1 fee parameters as read in a block, shared likewise (an OP-stack chain sets them once a block).
    pub(crate) l1_fee_params: BlockMemo<L1FeeParams>,
    /// Until when the market's fees are read as each block comes (a send asked for them lately): `Some` while a
    /// reader follows the blocks ([`crate::fee_market::read_ahead`]).
    pub(crate) fees_read_ahead: std::sync::Mutex<Option<std::time::Instant>>,
    /// How many times the block poller saw the latest block replaced by another at the same height.
    reorgs: Arc<AtomicU64>,
    /// The latest block's number and hash as last seen, by the block poller or in a receipt: a reorg is told by
    /// another hash at that height, even when the poller never saw the block it replaced.
    tip: Tip,
    /// Set once a node answered that it has no `eth_sendRawTransactionSync`.
    lacks_sync_send: AtomicBool,
    /// Log scans kept for the next scan of the same filter (`logs::scan_incremental`): by filter, the last
    /// block scanned and the logs found up to it.
    pub(crate) scans: std::sync::Mutex<std::collections::HashMap<String, (u64, Vec<alloy::rpc::types::Log>)>>,
}

impl Network {
    pub fn connect(settings: NetworkSettings) -> Result<Network, ChainError> {
        let stats = Arc::new(RpcStats::default());
        let transport = FailoverTransport::new(&settings.name, &settings.node_urls, settings.chain_id, stats.clone())?;
        let local = settings.node_urls.iter().all(|url| url.contains("://127.0.0.1") || url.contains("://localhost"));
        let provider = RootProvider::new(RpcClient::new(transport.clone(), local));
        let receipt_poll = if local { Duration::from_millis(5) } else { Duration::from_millis(1000) };
        let block_poll = if local { Duration::from_millis(20) } else { Duration::from_millis(1000) };
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        Ok(Network {
            settings,
            provider,
            transport,
            stats,
            receipt_poll,
            blocks: OnceCell::new(),
            block_poll,
            instance,
            market_fees: BlockMemo::default(),
            l1_fee_params: BlockMemo::default(),
            fees_read_ahead: std::sync::Mutex::new(None),
            scans: std::sync::Mutex::default(),
            reorgs: Arc::default(),
            tip: Arc::default(),
            lacks_sync_send: AtomicBool::new(false),
        })
    }

    /// Unique to this network value, so what was read through it is never taken for another's: two configured
    /// networks may share a chain id (a local fork of mainnet), and a changed node URL may lead to another chain.
    pub fn instance(&self) -> u64 {
        self.instance
    }

    /// `memo`'s value as of the latest block the poller saw: read by the first to ask in that block, shared by
    /// the others, read again in a later block. A failed read is not kept. A read that tells the block it is of
    /// (`read` gives it beside the value), newer than the poller's, makes that block known and is kept as of it:
    /// a send that learns of the block next (its nonce is asked with the block number) finds it read.
    pub(crate) async fn once_a_block<T: Copy, F, Fut>(&self, memo: &BlockMemo<T>, read: F) -> Result<T, ChainError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(T, Option<u64>), ChainError>>,
    {
        let block = self.latest_block().await?;
        let cell = {
            let mut held = memo.0.lock().expect("block memo");
            match &*held {
                Some((at, cell)) if *at >= block => cell.clone(),
                _ => held.insert((block, Arc::default())).1.clone(),
            }
        };
        let read_once = || async {
            let (value, read_in) = read().await?;
            if let Some(read_in) = read_in.filter(|read_in| *read_in > block) {
                self.saw_block(read_in);
                if let Some((at, held)) = memo.0.lock().expect("block memo").as_mut()
                    && Arc::ptr_eq(held, &cell)
                {
                    *at = read_in.max(*at);
                }
            }
            Ok(value)
        };
        cell.get_or_try_init(read_once).await.copied()
    }

    /// The latest block number known, without asking the node (after the first call).
    pub async fn latest_block(&self) -> Result<u64, ChainError> {
        let sender = self
            .blocks
            .get_or_try_init(|| async {
                let first = self.provider.get_block_number().await.map_err(|e| self.rpc_error(e))?;
                let sender = Arc::new(watch::channel(first).0);
                let (reorgs, tip) = (self.reorgs.clone(), self.tip.clone());
                let poller =
                    poll_blocks(self.provider.clone(), Arc::downgrade(&sender), (reorgs, tip), self.block_poll);
                tokio::spawn(poller);
                Ok::<_, ChainError>(sender)
            })
            .await?;
        Ok(*sender.borrow())
    }

    /// Follows the latest block number (started by [`Network::latest_block`]); ends when the network is dropped.
    pub fn blocks(&self) -> Option<watch::Receiver<u64>> {
        self.blocks.get().map(|sender| sender.subscribe())
    }

    /// The latest block as a node says, or the highest seen if that node is behind: what an answer reports as
    /// the current block never goes back.
    pub async fn head(&self) -> Result<u64, ChainError> {
        let answered = self.provider.get_block_number().await.map_err(|e| self.rpc_error(e))?;
        self.saw_block(answered);
        Ok(answered.max(self.known_block().unwrap_or_default()))
    }

    /// Whether a transaction mined in `block` has the confirmations this network asks for, as far as the
    /// highest block seen tells.
    pub async fn buried(&self, block: u64) -> Result<bool, ChainError> {
        let confirmations = self.settings.confirmations.max(1);
        Ok(confirmations == 1 || self.latest_block().await? >= block + confirmations - 1)
    }

    /// How many times the latest block was seen replaced by another at its height: what was read from a block
    /// counts as current only while this stays the same.
    pub fn reorgs(&self) -> u64 {
        self.reorgs.load(Ordering::Relaxed)
    }

    /// The latest block number known, if blocks are being followed yet; never waits.
    pub fn known_block(&self) -> Option<u64> {
        self.blocks.get().map(|sender| *sender.borrow())
    }

    /// `from`'s next nonce as a node up to date has it (its transactions, pending ones included). Asked together
    /// with the node's block number, in one request, so both come from the same node behind a load balancer; a
    /// node behind the highest block seen is asked again (it does not know the latest sends), and after a few
    /// tries the highest count answered stands.
    pub async fn pending_nonce(&self, from: alloy::primitives::Address) -> Result<u64, ChainError> {
        use alloy::primitives::U64;
        let rpc = |e| self.rpc_error(e);
        // Blocks followed from here on, so an answer from behind the highest seen is told.
        self.latest_block().await?;
        let mut highest = 0;
        for _ in 0..CURRENT_ASKS {
            let mut batch = alloy::rpc::client::BatchRequest::new(self.provider.client());
            let block = batch.add_call::<_, U64>("eth_blockNumber", &[(); 0]).map_err(rpc)?;
            let count = batch.add_call::<_, U64>("eth_getTransactionCount", &(from, "pending")).map_err(rpc)?;
            batch.send().await.map_err(rpc)?;
            let (block, count) = (block.await.map_err(rpc)?.to::<u64>(), count.await.map_err(rpc)?.to::<u64>());
            if block >= self.known_block().unwrap_or_default() {
                self.saw_block(block);
                return Ok(count);
            }
            highest = highest.max(count);
        }
        Ok(highest)
    }

    /// A call (and, with `estimate`, its gas estimate) at the node's latest block, asked in one request with
    /// the node's block number: a node behind the highest block seen is asked again, so no read goes back in
    /// time; the last answer stands after a few tries.
    pub async fn call_latest(
        &self,
        request: &alloy::rpc::types::TransactionRequest,
        estimate: bool,
    ) -> Result<(Result<Bytes, TransportError>, Option<Result<u64, TransportError>>), TransportError> {
        use alloy::primitives::U64;
        // Blocks followed from here on, so an answer from behind the highest seen is told (a node that cannot be
        // asked fails the call below too).
        let _ = self.latest_block().await;
        for _ in 0..CURRENT_ASKS {
            let mut batch = alloy::rpc::client::BatchRequest::new(self.provider.client());
            let head = batch.add_call::<_, U64>("eth_blockNumber", &[(); 0])?;
            let called = batch.add_call::<_, Bytes>("eth_call", &(request, "latest"))?;
            let estimated = match estimate {
                true => Some(batch.add_call::<_, U64>("eth_estimateGas", &(request, "latest"))?),
                false => None,
            };
            batch.send().await?;
            let head = head.await?.to::<u64>();
            if head >= self.known_block().unwrap_or_default() {
                self.saw_block(head);
                let estimated = match estimated {
                    Some(waiter) => Some(waiter.await.map(|gas| gas.to::<u64>())),
                    None => None,
                };
                return Ok((called.await, estimated));
            }
        }
        // Every answer came from behind: asked at the highest block seen, which a node lacking it refuses (and the
        // transport asks again).
        let block = alloy::eips::BlockId::number(self.known_block().unwrap_or_default());
        let called = self.provider.call(request.clone()).block(block);
        match estimate {
            true => {
                let (called, estimated) =
                    tokio::join!(called, self.provider.estimate_gas(request.clone()).block(block));
                Ok((called, Some(estimated)))
            }
            false => Ok((called.await, None)),
        }
    }

    /// Whether a send that waits for its receipt may post with `eth_sendRawTransactionSync`: until a node said it
    /// has no such method.
    pub fn offers_sync_send(&self) -> bool {
        !self.lacks_sync_send.load(Ordering::Relaxed)
    }

    pub fn lacks_sync_send(&self) {
        self.lacks_sync_send.store(true, Ordering::Relaxed);
    }

    /// Records a block seen elsewhere (a receipt), so state read before it counts as stale at once.
    pub fn saw_block(&self, block: u64) {
        if let Some(sender) = self.blocks.get() {
            raise(sender, block);
        }
    }

    /// Records a block and its hash seen in a receipt: as [`Network::saw_block`], and the hash the block poller
    /// compares the next block it reads at that height with.
    pub fn saw_block_hash(&self, block: u64, hash: alloy::primitives::B256) {
        self.saw_block(block);
        let mut tip = self.tip.lock().expect("tip");
        if tip.is_none_or(|(seen, _)| seen <= block) {
            *tip = Some((block, hash));
        }
    }

    pub fn settings(&self) -> &NetworkSettings {
        &self.settings
    }

    pub fn name(&self) -> &str {
        &self.settings.name
    }

    pub fn chain_id(&self) -> u64 {
        self.settings.chain_id
    }

    pub fn provider(&self) -> &RootProvider {
        &self.provider
    }

    pub fn stats(&self) -> &RpcStats {
        &self.stats
    }

    /// The node in use, without path or query.
    pub fn current_node(&self) -> String {
        self.transport.current_url()
    }

    pub fn receipt_poll(&self) -> Duration {
        self.receipt_poll
    }

    /// Maps an RPC failure of a read to the error the user can act on.
    pub fn rpc_error(&self, error: RpcError<TransportErrorKind>) -> ChainError {
        let limited = match &error {
            RpcError::ErrorResp(payload) => crate::rpc::is_rate_limit(payload),
            other => crate::rpc::is_http_rate_limit(other),
        };
        if limited {
            return ChainError::RateLimited { network: self.settings.name.clone() };
        }
        match error {
            RpcError::ErrorResp(payload) => ChainError::Node(crate::rpc::node_text(&payload.message)),
            other => ChainError::Unreachable {
                network: self.settings.name.clone(),
                detail: crate::rpc::node_text(&other.to_string()),
            },
        }
    }
}

fn raise(sender: &watch::Sender<u64>, block: u64) {
    sender.send_if_modified(|latest| {
        let newer = block > *latest;
        if newer {
            *latest = block;
        }
        newer
    });
}

/// How many times a read (a nonce, a call, a log scan) is asked at the node's latest while the node answering is
/// behind the highest block seen; then a call is asked at that block, a nonce is the highest answered, and a log
/// scan fails rather than miss logs.
pub(crate) const CURRENT_ASKS: usize = 8;

/// The longest pause between block polls while the node fails: polls back off from the usual interval, doubling
/// per failure, so a dead node is not asked (and its failure not logged) fifty times a second.
const MAX_POLL_BACKOFF: Duration = Duration::from_secs(5);

/// The latest block's number and hash as last seen.
type Tip = Arc<std::sync::Mutex<Option<(u64, alloy::primitives::B256)>>>;

/// Follows the latest block: its number raises the watch; its hash tells a reorg that replaced the latest block
/// with another at the same height, which counts in `reorgs` (state read from the replaced block is stale).
async fn poll_blocks(
    provider: RootProvider,
    sender: Weak<watch::Sender<u64>>,
    (reorgs, tip): (Arc<AtomicU64>, Tip),
    every: Duration,
) {
    let mut pause = every;
    loop {
        tokio::time::sleep(pause).await;
        let Some(sender) = sender.upgrade() else { return };
        match provider.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await {
            Ok(Some(block)) => {
                let (number, hash) = (block.header.number, block.header.hash);
                let mut tip = tip.lock().expect("tip");
                match *tip {
                    Some((seen, seen_hash)) if seen == number && seen_hash != hash => {
                        reorgs.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(block = number, "the latest block was replaced by another (a reorg)");
                        *tip = Some((number, hash));
                    }
                    // A node behind the others answers an older block: it tells nothing new.
                    Some((seen, _)) if seen > number => {}
                    _ => *tip = Some((number, hash)),
                }
                drop(tip);
                raise(&sender, number);
                pause = every;
            }
            Ok(None) => pause = every,
            Err(error) => {
                tracing::debug!(%error, "block poll failed");
                pause = (pause * 2).min(MAX_POLL_BACKOFF.max(every));
            }
        }
    }
}
