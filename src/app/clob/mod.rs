//! Order-book trading: markets from config, the book kept in storage and brought up to each new block from the
//! venue (fills from its logs, every open order's state in one read), orders signed by the wallet, and the
//! transactions that fill and cancel through the one sender.

mod place;
pub mod requests;

use std::collections::HashMap;
use std::sync::Arc;

use alloy::primitives::{Address, B256, Signature, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use chains::amount::Amount;
use chains::network::Network;
use chains::tx::{Call, Outcome};
use connectors::Side;
use connectors::clob::{ClobVenue, Market, MarketToken, OrderState, OrderType, Resting, cap_by_backing};
use connectors::core::error::ConnectorError;

use crate::app::sending::reverted;
use crate::config::{ClobConfig, Config};
use crate::error::{AppError, AppResult, InvalidKind};
use crate::state::AppState;
use crate::storage::{BookSync, StoredFill, StoredOrder, now_ms};

pub const DEFAULT_CONNECTOR: &str = "zeroex";
/// Where the first scan for fills starts, counted back from the current block.
const FIRST_SCAN_BLOCKS: u64 = 10_000;
/// Token decimals a market's amount arithmetic is built for (price × amount stays far inside 256 bits).
const MAX_MARKET_DECIMALS: u8 = 36;
/// Blocks at the head whose fills are read again at every sync, for reorgs.
const REORG_WINDOW: u64 = 12;
/// Blocks per `eth_getLogs`: within what public providers accept.
const LOG_RANGE: u64 = 2_000;

/// An order to place, as parsed from a request.
pub struct NewOrder {
    pub market: String,
    pub side: Side,
    pub order_type: OrderType,
    /// Raw base units.
    pub amount: U256,
    /// Raw quote per whole base; for MARKET the worst price accepted (none: any).
    pub price: Option<U256>,
    pub client_order_id: Option<String>,
    /// Unix seconds; the connector's default lifetime when none.
    pub expiration: Option<u64>,
}

/// An order built for the venue and signed by its maker, not on the book yet: what rests of a new order.
struct Signed<O> {
    order: O,
    signature: Signature,
    /// Raw quote per whole base.
    price: U256,
    /// Raw base units.
    amount: U256,
    /// Unix seconds.
    expiry: u64,
}

/// What placing did: the fill transaction (if it crossed) and the order left resting (if any).
pub struct Placed {
    pub client_order_id: String,
    pub fill_tx: Option<B256>,
    /// Base filled by a mined fill (zero while the fill is pending).
    pub filled: U256,
    pub resting: Option<B256>,
    /// What the client should know: a pending fill, or a rest that was not placed.
    pub note: Option<String>,
}

/// One order-book connector on one network, speaking venue `V`, with its markets resolved against the
/// network's token list.
pub struct Clob<V: ClobVenue> {
    pub config: Arc<Config>,
    pub network_name: String,
    pub network: Arc<Network>,
    pub connector: String,
    pub settings: ClobConfig,
    pub markets: Vec<Market>,
    pub venue: V,
}

/// The order-book connector a request names (the default one when it names none, `/clob` dropped), and its
/// settings: it must be configured.
pub fn connector_named(config: &Config, connector: Option<&str>) -> AppResult<(String, ClobConfig)> {
    let connector = connector.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(DEFAULT_CONNECTOR);
    let connector = connector.strip_suffix("/clob").unwrap_or(connector).to_string();
    match config.clob.get(&connector) {
        Some(settings) => Ok((connector, settings.clone())),
        None => Err(AppError::invalid(
            "connector",
            format!(
                "{} is not an order-book connector; configured: {}",
                chains::quoted(&connector),
                config.clob.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Runs `$body` with `$clob` bound to the order-book connector `$named` (a request with `chain`, `network`,
/// `chainNetwork` and `connector`) names, opened on its network with the venue it speaks: the one place that
/// knows which venue each connector is.
#[macro_export]
macro_rules! with_clob {
    ($state:expr, $named:expr, |$clob:ident| $body:expr) => {{
        $crate::request::check_chain($named.chain.as_deref())?;
        let config = $state.config();
        let network =
            $crate::request::network_name(&config, $named.network.as_deref(), $named.chain_network.as_deref())?;
        let (connector, settings) = $crate::app::clob::connector_named(&config, $named.connector.as_deref())?;
        connectors::for_venue!(
            connector.as_str(),
            |Venue| {
                let $clob = $crate::app::clob::Clob::<Venue>::open($state, network, (connector, settings)).await?;
                $body
            },
            return Err($crate::error::AppError::internal(format!("no venue speaks the configured {connector}")).into())
        )
    }};
}

impl<V: ClobVenue> Clob<V> {
    /// The connector (as [`connector_named`] found it, with its settings) on a network.
    pub async fn open(
        state: &AppState,
        network_name: String,
        (connector, settings): (String, ClobConfig),
    ) -> AppResult<Clob<V>> {
        let config = state.config();
        let network = state.ethereum().network(&config, &network_name)?;
        let book = state.token_book(&config, &network_name).await?;
        let mut markets = Vec::new();
        for (name, market) in settings.networks.get(&network_name).map(|n| &n.markets).into_iter().flatten() {
            let token = |symbol: &str| -> AppResult<MarketToken> {
                let token = book.resolve("market", symbol).map_err(|_| {
                    AppError::invalid(
                        "market",
                        format!(
                            "{name}: {symbol} is not in the {network_name} token list (tokens/ethereum/{network_name}.json)"
                        ),
                    )
                })?;
                Ok(MarketToken { symbol: token.symbol, address: token.address, decimals: token.decimals })
            };
            let (base, quote) = (token(&market.base)?, token(&market.quote)?);
            if let Some(odd) = [&base, &quote].into_iter().find(|t| t.decimals > MAX_MARKET_DECIMALS) {
                return Err(AppError::invalid(
                    "market",
                    format!(
                        "{name}: {} has {} decimals; markets take tokens of up to {MAX_MARKET_DECIMALS}",
                        odd.symbol, odd.decimals
                    ),
                ));
            }
            let config_amount = |text: &str, decimals: u8, key: &str| {
                Amount::parse(text, decimals)
                    .map(|a| a.raw)
                    .map_err(|e| AppError::invalid("market", format!("connectors/{connector}.yml {name}.{key}: {e}")))
            };
            markets.push(Market {
                name: name.clone(),
                tick: config_amount(&market.tick_size.0, quote.decimals, "tickSize")?,
                minimum: config_amount(&market.minimum_amount.0, base.decimals, "minimumAmount")?,
                base,
                quote,
            });
        }
        let venue = V::on_chain(network.chain_id());
        Ok(Clob { config, network_name, network, connector, settings, markets, venue })
    }

    pub fn market(&self, name: &str) -> AppResult<&Market> {
        self.markets.iter().find(|m| m.name.eq_ignore_ascii_case(name.trim())).ok_or_else(|| {
            AppError::invalid(
                "market",
                format!(
                    "unknown market {} on {}; markets: {} (connectors/{}.yml)",
                    chains::quoted(name),
                    self.network_name,
                    self.markets.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", "),
                    self.connector
                ),
            )
        })
    }

    /// Brings the stored book up to the latest block: fills from the venue's logs since the last scan, then the
    /// state of every open order (and of those closed within the reorg window), read together at that block.
    /// Concurrent callers wait for one sync.
    pub async fn sync(&self, state: &AppState) -> AppResult<()> {
        let block = self.network.latest_block().await?;
        let slot = self.synced(state);
        let mut synced = slot.lock().await;
        if synced.block >= block {
            return Ok(());
        }
        let storage = state.storage();
        // The last blocks are read again each time: a reorg (or a node that was behind) changes what they hold,
        // and their fills are replaced by what the chain says now.
        let mut from = match storage.clob_scanned_to(&self.connector, &self.network_name).await? {
            Some(scanned) => (scanned + 1).saturating_sub(REORG_WINDOW).min(block),
            None => block.saturating_sub(FIRST_SCAN_BLOCKS),
        };
        // In ranges providers accept, the cursor moving after each, so a long gap is caught up piece by piece.
        while from <= block {
            let to = block.min(from + LOG_RANGE - 1);
            let fills = self.fills_between(from, to).await?;
            storage.record_clob_fills(&self.connector, &self.network_name, &fills, from, to).await?;
            from = to + 1;
        }
        // Open orders, and those whose state changed in the blocks a reorg may still undo.
        let recheck_since = block.saturating_sub(REORG_WINDOW);
        let open = storage.clob_orders_to_check(&self.connector, &self.network_name, recheck_since).await?;
        let backed: Vec<StoredOrder> = open.iter().filter(|o| o.status == "OPEN").cloned().collect();
        synced.backing = self.backing(&backed, block).await?;
        for market in &self.markets {
            let orders: Vec<&StoredOrder> = open.iter().filter(|o| o.market == market.name).collect();
            if orders.is_empty() {
                continue;
            }
            let signed = orders.iter().map(|o| self.signed(o)).collect::<AppResult<Vec<_>>>()?;
            let states = self.states(market, &signed, Some(block)).await?;
            for (order, now) in orders.iter().zip(states) {
                let status = now.status.as_str();
                if status != order.status || now.filled != order.filled || now.fillable != order.fillable {
                    storage.update_clob_order_state(order.id, status, now.filled, now.fillable, block).await?;
                }
            }
        }
        synced.block = block;
        Ok(())
    }

    /// What each maker with open orders can pay of each token they sell, at `block`: one Multicall3 call.
    async fn backing(&self, open: &[StoredOrder], block: u64) -> AppResult<HashMap<(Address, Address), U256>> {
        let mut pairs: Vec<(Address, Address)> = open
            .iter()
            .filter_map(|order| {
                let market = self.markets.iter().find(|m| m.name == order.market)?;
                Some((order.maker, market.given(order.side).address))
            })
            .collect();
        pairs.sort();
        pairs.dedup();
        let spendable = chains::erc20::spendable(&self.network, &pairs, self.venue.contract(), block).await?;
        Ok(pairs.into_iter().zip(spendable).collect())
    }

    /// The venue's fills of this connector's markets in blocks `from..=to`, with their blocks' times.
    async fn fills_between(&self, from: u64, to: u64) -> AppResult<Vec<StoredFill>> {
        let fills = self.venue.read_fills(&self.network, &self.markets, from, to).await?;
        let mut timestamps = std::collections::BTreeMap::new();
        let mut stored = Vec::new();
        for (market, fill) in fills {
            if let std::collections::btree_map::Entry::Vacant(entry) = timestamps.entry(fill.block) {
                let header = self
                    .network
                    .provider()
                    .get_block_by_number(fill.block.into())
                    .await
                    .map_err(|e| self.network.rpc_error(e))?;
                entry.insert(header.map(|b| b.header.timestamp as i64 * 1000).unwrap_or_else(now_ms));
            }
            stored.push(StoredFill {
                tx_hash: fill.tx_hash,
                log_index: fill.log_index,
                order_id: fill.order_id,
                market: self.markets[market].name.clone(),
                taker: fill.taker,
                base: fill.base,
                quote: fill.quote,
                block: fill.block,
                filled_at: timestamps[&fill.block],
            });
        }
        Ok(stored)
    }

    /// Where `orders` stand on the venue at `block` (the latest when `None`).
    async fn states(
        &self,
        market: &Market,
        orders: &[(V::Order, Signature)],
        block: Option<u64>,
    ) -> AppResult<Vec<OrderState>> {
        self.venue.read_states(&self.network, market, orders, block).await.map_err(|error| match error {
            ConnectorError::NotTheVenue(contract) => AppError::invalid(
                "network",
                format!(
                    "no {} contract answers at {contract} on {}; the connector does not serve this network",
                    self.connector, self.network_name
                ),
            ),
            other => other.into(),
        })
    }

    fn signed(&self, order: &StoredOrder) -> AppResult<(V::Order, Signature)> {
        let venue_order = self.venue.decode(&order.venue_order).map_err(AppError::internal)?;
        let bytes = alloy::hex::decode(&order.signature).map_err(AppError::internal)?;
        let signature = Signature::try_from(bytes.as_slice()).map_err(AppError::internal)?;
        Ok((venue_order, signature))
    }

    /// The open orders of a market with something fillable, after a sync.
    /// Each maker's orders together capped by what backs them, so the book never shows depth a taker cannot get.
    pub async fn book(&self, state: &AppState, market: &Market) -> AppResult<Vec<(StoredOrder, Resting)>> {
        self.sync(state).await?;
        let backing = self.synced(state).lock().await.backing.clone();
        let open = state
            .storage()
            .clob_orders(&self.connector, &self.network_name, Some(&market.name), None, Some("OPEN"))
            .await?;
        let mut resting: Vec<Resting> = open
            .iter()
            .map(|order| Resting {
                id: order.id,
                maker: order.maker,
                side: order.side,
                price: order.price,
                fillable: order.fillable,
                created_at: order.created_at,
            })
            .collect();
        cap_by_backing(market, &mut resting, &backing);
        Ok(open.into_iter().zip(resting).filter(|(_, resting)| !resting.fillable.is_zero()).collect())
    }

    /// Makes the next read sync this book again, even within the block.
    async fn stale(&self, state: &AppState) {
        self.synced(state).lock().await.block = 0;
    }

    /// Where this book was last synced to.
    fn synced(&self, state: &AppState) -> Arc<tokio::sync::Mutex<BookSync>> {
        let key = (self.connector.clone(), self.network_name.clone());
        state.clob_synced().lock().expect("book syncs").entry(key).or_default().clone()
    }

    /// Cancels `maker`'s open orders on-chain in one transaction.
    /// Works from the stored orders alone (no log scan first), so a node that cannot serve the scan does not stop
    /// a maker from cancelling; an order already filled or cancelled on-chain fails the simulation instead.
    pub async fn cancel(&self, state: &AppState, maker: Address, ids: &[String]) -> AppResult<B256> {
        let mut orders = Vec::new();
        for id in ids {
            let order =
                state.storage().clob_order(&self.connector, &self.network_name, id).await?.ok_or_else(|| {
                    AppError::invalid("orderId", format!("no order {} on {}", chains::quoted(id), self.network_name))
                })?;
            if order.maker != maker {
                return Err(AppError::invalid(
                    "address",
                    format!("order {id} belongs to {}, not {maker}", order.maker),
                ));
            }
            if order.status != "OPEN" {
                return Err(AppError::invalid("orderId", format!("order {id} is {}, not open", order.status)));
            }
            orders.push(self.signed(&order)?.0);
        }
        let signer = state.ethereum().signer(maker)?;
        let (to, data) = self.venue.cancel_call(&orders);
        let (hash, _) = self.send(state, &signer, Call::new(to, data), "clob cancel").await?;
        // The cancel is sent; the book catches up now or at the next read, and the answer keeps the hash.
        if let Err(error) = self.sync(state).await {
            tracing::warn!(%error, "the order book could not be read after a cancel");
        }
        Ok(hash)
    }

    /// Sends through the one sender and waits: the hash, and whether it was mined (false: still pending).
    async fn send(
        &self,
        state: &AppState,
        signer: &PrivateKeySigner,
        call: Call,
        label: &str,
    ) -> AppResult<(B256, bool)> {
        let (sent, outcome) = state.ethereum().sender.send_and_wait(&self.network, signer, &call, label).await?;
        match outcome {
            Outcome::Mined(receipt) if receipt.status() => Ok((sent.hash, true)),
            Outcome::Mined(receipt) => Err(reverted(&self.network, &sent, &call, &receipt).await),
            Outcome::Cancelled(_) => Err(AppError::invalid(
                "orderId",
                format!("the transaction was cancelled: {} was mined in its place; nothing traded", sent.hash),
            )
            .of_kind(InvalidKind::Cancelled)),
            Outcome::Pending => Ok((sent.hash, false)),
        }
    }

    /// Every order id and client id known for `maker` (or everyone), after a sync.
    pub async fn orders(
        &self,
        state: &AppState,
        market: Option<&Market>,
        maker: Option<Address>,
    ) -> AppResult<Vec<StoredOrder>> {
        self.sync(state).await?;
        Ok(state
            .storage()
            .clob_orders(&self.connector, &self.network_name, market.map(|m| m.name.as_str()), maker, None)
            .await?)
    }
}
