//! A JSON-RPC front before anvil for a devnet that behaves like a network whose nodes refuse what anvil takes
//! (Polygon's Bor refuses tips under 25 gwei, BSC's nodes gas prices under their minimum), answering as those
//! nodes do, with their own error text; and like a provider that misbehaves ([`Faults`]). Everything else is
//! forwarded to anvil untouched.

use alloy::consensus::{Transaction, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::{Value, json};

use super::DevnetError;
use super::faults::{self, Before, Faults, Play};

/// The least tip (gas price for a legacy transaction) the network's nodes accept, and how they say no.
#[derive(Debug, Clone, Copy)]
pub struct TipFloor {
    pub min_tip: u128,
    /// The node's refusal, given the tip offered and the minimum.
    pub refusal: fn(u128, u128) -> String,
}

/// A running front; dropping it stops it.
pub struct Front {
    pub port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Front {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the front on `port`: sends under `floor` refused as the network's nodes refuse them, `faults` played,
/// everything else forwarded to anvil untouched.
pub async fn start(
    port: u16,
    anvil_url: String,
    floor: Option<TipFloor>,
    faults: Faults,
) -> Result<Front, DevnetError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        DevnetError::Anvil(format!(
            "the devnet's node front cannot listen on port {port} ({e}); pick another with --rpc-port"
        ))
    })?;
    let port = listener.local_addr().map_err(|e| DevnetError::Anvil(e.to_string()))?.port();
    let play = Play::new(faults);
    let node = Arc::new(Node { client: reqwest::Client::new(), anvil_url, play, loaded_at: AtomicU64::new(0) });
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let node = node.clone();
        async move {
            let (status, answer) = match floor.and_then(|floor| refusal(&body, floor)) {
                Some(refused) => (StatusCode::OK, refused.to_string().into_bytes()),
                None if node.play.faults.any() => node.faulty(&body).await,
                None => (StatusCode::OK, node.forward_or_say(body).await),
            };
            (status, [(axum::http::header::CONTENT_TYPE, "application/json")], answer)
        }
    });
    // Nodes take large requests (a batch, a contract's bytes): no body limit of the framework's.
    let app = app.layer(axum::extract::DefaultBodyLimit::disable());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Front { port, task })
}

/// Anvil behind the front, and the faults the front plays.
struct Node {
    client: reqwest::Client,
    anvil_url: String,
    play: Play,
    /// The chain's head when the front first asked: anvil's first block with state.
    loaded_at: AtomicU64,
}

impl Node {
    async fn forward(&self, body: Bytes) -> Result<Vec<u8>, reqwest::Error> {
        let answer =
            self.client.post(&self.anvil_url).header("content-type", "application/json").body(body).send().await?;
        Ok(answer.bytes().await?.to_vec())
    }

    /// Anvil's answer, or a JSON-RPC error saying why there is none.
    async fn forward_or_say(&self, body: Bytes) -> Vec<u8> {
        match self.forward(body.clone()).await {
            Ok(answer) => answer,
            Err(failure) => {
                let call = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
                faults::error(&call, -32603, &failure.to_string()).to_string().into_bytes()
            }
        }
    }

    async fn call(&self, call: &Value) -> Value {
        let answer = self.forward_or_say(Bytes::from(call.to_string())).await;
        serde_json::from_slice(&answer).unwrap_or_else(|_| faults::error(call, -32603, "anvil answered no JSON"))
    }

    async fn head(&self) -> u64 {
        let answer = self.call(&json!({"jsonrpc": "2.0", "id": 0, "method": "eth_blockNumber", "params": []})).await;
        answer["result"].as_str().and_then(hex_number).unwrap_or(0)
    }

    /// A request as a misbehaving provider answers it.
    async fn faulty(&self, body: &[u8]) -> (StatusCode, Vec<u8>) {
        let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
            return (StatusCode::OK, self.forward_or_say(Bytes::copy_from_slice(body)).await);
        };
        let (batch, calls) = match parsed {
            Value::Array(calls) => (true, calls),
            call => (false, vec![call]),
        };
        let pack = |answers: Vec<Value>| match batch {
            true => Value::Array(answers).to_string().into_bytes(),
            false => answers.into_iter().next().unwrap_or(Value::Null).to_string().into_bytes(),
        };
        let behind = match self.play.before(&calls) {
            Before::RateLimited(refusals) => return (StatusCode::TOO_MANY_REQUESTS, pack(refusals)),
            Before::Forward { behind } => behind,
        };
        let head = self.head().await;
        // Anvil has no state before the block its snapshot was loaded at: no view goes further back.
        let loaded = match self.loaded_at.compare_exchange(0, head, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => head,
            Err(loaded) => loaded,
        };
        let view = head.saturating_sub(behind).max(loaded);
        let answers = futures::future::join_all(calls.iter().map(|call| self.answer(call, head, view))).await;
        let sends = calls.iter().filter(|call| posts_transaction(call)).count();
        if (0..sends).any(|_| self.play.draw(self.play.faults.drop_send_answer)) {
            // The node took it; the load balancer before it timed out.
            return (StatusCode::BAD_GATEWAY, b"upstream timed out".to_vec());
        }
        (StatusCode::OK, pack(answers))
    }

    /// One call answered by a node whose head is `view` (`head` is the chain's), with the provider's caps.
    async fn answer(&self, call: &Value, head: u64, view: u64) -> Value {
        let method = call["method"].as_str().unwrap_or_default();
        let mut call = call.clone();
        if method == "eth_blockNumber" {
            return json!({"jsonrpc": "2.0", "id": call["id"], "result": format!("{view:#x}")});
        }
        if view < head {
            match lagging(&mut call, view) {
                Lagging::Asked => {}
                Lagging::Unknown => return faults::error(&call, -32000, "header not found"),
                Lagging::Null => return json!({"jsonrpc": "2.0", "id": call["id"], "result": null}),
            }
        }
        if method == "eth_getLogs"
            && let Some(max) = self.play.faults.logs_max_range
            && logs_range(&call, view) > max
        {
            return faults::error(&call, -32005, &format!("query exceeds max block range {max}"));
        }
        let mut answer = self.call(&call).await;
        let Some(result) = answer.get_mut("result") else { return answer };
        let beyond = |item: &Value| item["blockNumber"].as_str().and_then(hex_number).is_some_and(|n| n > view);
        match method {
            "eth_getTransactionReceipt" if beyond(result) => *result = Value::Null,
            "eth_getTransactionReceipt" => {
                let hash = call["params"][0].as_str().unwrap_or_default();
                *result = self.play.delayed_receipt(hash, result.take());
            }
            "eth_getLogs" => {
                if let Value::Array(logs) = result {
                    logs.retain(|log| !beyond(log));
                    if let Some(max) = self.play.faults.logs_max_results.filter(|max| logs.len() > *max) {
                        return faults::error(&call, -32005, &format!("query returned more than {max} results"));
                    }
                }
            }
            _ => {}
        }
        answer
    }
}

/// How a node at `view` takes a call asking for the chain's state.
enum Lagging {
    /// Asked at its own latest block.
    Asked,
    /// A block it does not have yet.
    Unknown,
    /// A block it does not have yet, which the method answers with null.
    Null,
}

/// Rewrites `call` for a node whose head is `view`: `latest` (and `pending`, the node knowing nothing newer) is
/// its head; a block past it is unknown.
fn lagging(call: &mut Value, view: u64) -> Lagging {
    let at = match call["method"].as_str().unwrap_or_default() {
        "eth_call" | "eth_getBalance" | "eth_getCode" | "eth_getTransactionCount" | "eth_estimateGas" => 1,
        "eth_getStorageAt" => 2,
        "eth_getBlockByNumber" => 0,
        "eth_feeHistory" => 1,
        "eth_getLogs" => {
            let filter = &mut call["params"][0];
            for key in ["fromBlock", "toBlock"] {
                match filter.get(key).and_then(Value::as_str) {
                    None | Some("latest" | "pending") if filter.get("blockHash").is_none() => {
                        filter[key] = json!(format!("{view:#x}"))
                    }
                    _ => {}
                }
            }
            return Lagging::Asked;
        }
        _ => return Lagging::Asked,
    };
    let Some(params) = call["params"].as_array_mut() else { return Lagging::Asked };
    while params.len() <= at {
        params.push(json!("latest"));
    }
    match params[at].as_str() {
        Some("latest" | "pending") => params[at] = json!(format!("{view:#x}")),
        Some(tag) if hex_number(tag).is_some_and(|n| n > view) => {
            return if call["method"] == "eth_getBlockByNumber" { Lagging::Null } else { Lagging::Unknown };
        }
        _ => {}
    }
    Lagging::Asked
}

/// The blocks an `eth_getLogs` filter spans, `latest` (or none) being `head`.
fn logs_range(call: &Value, head: u64) -> u64 {
    let filter = &call["params"][0];
    if filter.get("blockHash").is_some() {
        return 1;
    }
    let block = |key: &str| match filter.get(key).and_then(Value::as_str) {
        None | Some("latest" | "pending" | "safe" | "finalized") => head,
        Some("earliest") => 0,
        Some(number) => hex_number(number).unwrap_or(head),
    };
    block("toBlock").saturating_sub(block("fromBlock")) + 1
}

fn hex_number(text: &str) -> Option<u64> {
    u64::from_str_radix(text.strip_prefix("0x")?, 16).ok()
}

/// The node's error answer when `body` sends a raw transaction under the floor. A batch holding one is refused
/// whole, each of its calls answered.
fn refusal(body: &[u8], floor: TipFloor) -> Option<Value> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Array(calls) => {
            let answers: Vec<Option<Value>> = calls.iter().map(|call| refused_call(call, floor)).collect();
            answers.iter().any(Option::is_some).then(|| {
                let refused = "batch refused: it holds a transaction under the minimum";
                let answers = answers.into_iter().zip(&calls).map(|(answer, call)| {
                    answer.unwrap_or_else(
                        || json!({"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32000, "message": refused}}),
                    )
                });
                Value::Array(answers.collect())
            })
        }
        call => refused_call(&call, floor),
    }
}

/// Whether the call posts a signed transaction, answered at once or once mined (EIP-7966).
fn posts_transaction(call: &Value) -> bool {
    matches!(call["method"].as_str(), Some("eth_sendRawTransaction" | "eth_sendRawTransactionSync"))
}

fn refused_call(call: &Value, floor: TipFloor) -> Option<Value> {
    if !posts_transaction(call) {
        return None;
    }
    let raw = alloy::hex::decode(call["params"].get(0)?.as_str()?).ok()?;
    let tx = TxEnvelope::decode_2718(&mut raw.as_slice()).ok()?;
    let tip = tx.max_priority_fee_per_gas().or(tx.gas_price())?;
    (tip < floor.min_tip).then(|| {
        json!({"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32000, "message": (floor.refusal)(tip, floor.min_tip)}})
    })
}
