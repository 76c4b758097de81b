//! A JSON-RPC front before anvil for a devnet that behaves like a network whose nodes refuse what anvil takes:
//! Polygon's Bor refuses tips under 25 gwei, BSC's nodes gas prices under their minimum. It answers as those
//! nodes do, with their own error text, and forwards everything else to anvil untouched.

use alloy::consensus::{Transaction, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use axum::body::Bytes;
use serde_json::{Value, json};

use super::DevnetError;

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

pub async fn start(port: u16, anvil_url: String, floor: TipFloor) -> Result<Front, DevnetError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.map_err(|e| {
        DevnetError::Anvil(format!(
            "the devnet's node front cannot listen on port {port} ({e}); pick another with --rpc-port"
        ))
    })?;
    let port = listener.local_addr().map_err(|e| DevnetError::Anvil(e.to_string()))?.port();
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |body: Bytes| {
        let (client, anvil_url) = (client.clone(), anvil_url.clone());
        async move {
            let answer = match refusal(&body, floor) {
                Some(refused) => refused.to_string().into_bytes(),
                None => match forward(&client, &anvil_url, body.clone()).await {
                    Ok(answer) => answer,
                    Err(error) => {
                        let id = serde_json::from_slice::<Value>(&body).ok().and_then(|call| call.get("id").cloned());
                        json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32603, "message": error.to_string()}})
                            .to_string()
                            .into_bytes()
                    }
                },
            };
            ([(axum::http::header::CONTENT_TYPE, "application/json")], answer)
        }
    });
    // Nodes take large requests (a batch, a contract's bytes): no body limit of the framework's.
    let app = app.layer(axum::extract::DefaultBodyLimit::disable());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Front { port, task })
}

async fn forward(client: &reqwest::Client, anvil_url: &str, body: Bytes) -> Result<Vec<u8>, reqwest::Error> {
    let answer = client.post(anvil_url).header("content-type", "application/json").body(body).send().await?;
    Ok(answer.bytes().await?.to_vec())
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

fn refused_call(call: &Value, floor: TipFloor) -> Option<Value> {
    if call.get("method")?.as_str()? != "eth_sendRawTransaction" {
        return None;
    }
    let raw = alloy::hex::decode(call["params"].get(0)?.as_str()?).ok()?;
    let tx = TxEnvelope::decode_2718(&mut raw.as_slice()).ok()?;
    let tip = tx.max_priority_fee_per_gas().or(tx.gas_price())?;
    (tip < floor.min_tip).then(|| {
        json!({"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32000, "message": (floor.refusal)(tip, floor.min_tip)}})
    })
}
