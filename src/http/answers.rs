//! Answers to amm and clmm quotes, kept per request line and served again while everything they were computed
//! from is unchanged: the network's latest block, the config, and the token and pool lists. A bot polling one
//! quote, or several bots asking the same, get the same bytes without the work or the JSON being done again.
//! Router quotes are not kept: each one is stored under its own id for `execute-quote`.

use std::future::Future;
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};

use super::extract::Query;
use crate::answers::{Basis, Inputs};
use crate::app::trading::swap::Quoted;
use crate::http::error::{ApiError, ApiResult};
use crate::schema::swap::SwapRequest;
use crate::state::AppState;

/// Answers a quote-swap request with the kept answer to the same request line when it is current, or computes,
/// keeps and returns a new one. What it was computed from is read before computing, and handed to the computation
/// (which keeps what it resolves under the same), so a change during the computation makes the kept answer stale
/// rather than a stale answer look current.
pub async fn quote_swap<F, Fut, E>(state: &AppState, uri: &Uri, compute: F) -> ApiResult<Response>
where
    F: FnOnce(SwapRequest, Inputs) -> Fut,
    Fut: Future<Output = Result<Quoted, E>>,
    ApiError: From<E>,
{
    let key = line(uri);
    let inputs = state.quote_inputs();
    if let Some(body) = state.answers().current(key, inputs) {
        count(true);
        return Ok(json(body));
    }
    count(false);
    let asked = Instant::now();
    let Query(request) = Query::from_uri(uri)?;
    let quoted = compute(request, inputs).await?;
    let mut body = Vec::with_capacity(1024);
    serde_json::to_writer(&mut body, &quoted.response).map_err(ApiError::internal)?;
    let body = Bytes::from(body);
    let (block, reorgs) = (quoted.response.block_number, quoted.network.reorgs());
    let network = std::sync::Arc::downgrade(&quoted.network);
    state.answers().keep(key, body.clone(), Basis { inputs, network, block, reorgs, asked });
    Ok(json(body))
}

/// A request's line: its path and query.
pub fn line(uri: &Uri) -> &str {
    uri.path_and_query().map_or("", |line| line.as_str())
}

/// An answer of JSON text already written.
pub fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response()
}

fn count(kept: bool) {
    static COUNTERS: std::sync::LazyLock<[metrics::Counter; 2]> = std::sync::LazyLock::new(|| {
        [
            metrics::counter!("gateway_quote_answers_total", "result" => "computed"),
            metrics::counter!("gateway_quote_answers_total", "result" => "kept"),
        ]
    });
    COUNTERS[usize::from(kept)].increment(1);
}
