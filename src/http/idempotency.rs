//! `Idempotency-Key`: a request sent again with the key of an earlier one (a client retrying after a timeout or a
//! dropped connection) is answered with the earlier one's answer, or told what it sent so far, and never sends
//! anything itself. Keys are kept for 24 hours, per method and path, in the database, so instances sharing it
//! honour each other's keys.

use std::time::{Duration, Instant};

use alloy::primitives::keccak256;
use axum::Json;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::BODY_LIMIT_BYTES;
use crate::app::recovery::{Recovered, recover};
use crate::error::AppError;
use crate::http::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::storage::Claim;
use chains::tx::commitment::Commitment;

pub const HEADER: HeaderName = HeaderName::from_static("idempotency-key");
/// Set on an answer served again for a retry.
const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// Set on an answer rebuilt from the chain for a retry, the gateway having stopped before answering the first.
const RECOVERED: HeaderName = HeaderName::from_static("gateway-recovered");
/// How long a retry waits for the first request with its key to finish.
const WAIT_FOR_FIRST: Duration = Duration::from_secs(30);
const POLL_FIRST: Duration = Duration::from_millis(50);
const MAX_KEY_LENGTH: usize = 255;

/// A request that changes something (not GET, HEAD or OPTIONS) and carries the header goes through the key;
/// any other is served as it is.
pub async fn guard(state: AppState, request: Request, next: Next, commitment: Commitment) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(request).await;
    }
    let Some(key) = request.headers().get(&HEADER) else { return next.run(request).await };
    let visible = |k: &&str| (1..=MAX_KEY_LENGTH).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic());
    let key = match key.to_str().ok().filter(visible) {
        Some(key) => key.to_string(),
        None => {
            return ApiError::bad_request(
                "Idempotency-Key",
                format!("must be 1 to {MAX_KEY_LENGTH} visible ASCII characters without spaces, e.g. a UUID"),
            )
            .into_response();
        }
    };
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, BODY_LIMIT_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request body: too large")
                .with_code(ErrorCode::InvalidParams)
                .into_response();
        }
    };
    // From the claim on, everything runs in a task of its own: a client that hangs up (the case a key is for)
    // leaves what it committed to (a send) to finish, and its answer kept, for the retry.
    let serving = commitment.clone().scope(serve(state, key, parts, body, next, commitment));
    let served = tokio::spawn(crate::logging::for_this_request(serving));
    served
        .await
        .unwrap_or_else(|error| ApiError::internal(format!("the request's task failed: {error}")).into_response())
}

async fn serve(
    state: AppState,
    key: String,
    parts: axum::http::request::Parts,
    body: axum::body::Bytes,
    next: Next,
    commitment: Commitment,
) -> Response {
    let path_and_query = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str());
    let scoped = format!("{} {} {key}", parts.method, parts.uri.path());
    let fingerprint =
        keccak256([parts.method.as_str().as_bytes(), b" ", path_and_query.as_bytes(), b"\n", &body[..]].concat())
            .to_string();
    let storage = state.storage().clone();
    let started = Instant::now();
    let mut claim = storage.claim_idempotency_key(&scoped, &fingerprint).await;
    loop {
        let held = match claim {
            Ok(held) => held,
            Err(error) => return ApiError::internal(error).into_response(),
        };
        match held {
            Claim::Claimed => {
                let request = Request::from_parts(parts, Body::from(body));
                return first(&state, scoped, request, next, &commitment).await;
            }
            Claim::Held { fingerprint: held, .. } if held != fingerprint => return reused(&key, &parts),
            Claim::Held { answer: Some((status, Some(body))), .. } => return replay(status, body),
            Claim::Held { answer: Some((_, None)), claimed_at, .. } => {
                return unkept(&state, &scoped, &key, claimed_at).await;
            }
            Claim::Held { answer: None, owner, claimed_at, .. } => {
                // Left by a process that stopped (on SQLite, any other; on PostgreSQL, one whose liveness lock is
                // free): nothing will answer it, so the retry is told at once what it sent.
                let orphaned = !storage.process_alive(&owner).await.unwrap_or(true);
                // A retry whose own client went away (or ran out of time) stops waiting: it must not take the
                // key over and send, with nobody left to answer.
                if commitment.withdrawn() {
                    return ApiError::from(chains::error::ChainError::Withdrawn).into_response();
                }
                if orphaned {
                    match recover(&state, &scoped).await {
                        Ok(Recovered::Nothing) => {
                            claim = match storage.take_over_idempotency_key(&scoped, &owner).await {
                                Ok(true) => Ok(Claim::Claimed),
                                Ok(false) => storage.claim_idempotency_key(&scoped, &fingerprint).await,
                                Err(error) => Err(error),
                            };
                            continue;
                        }
                        Ok(Recovered::Untold) => return in_progress(&state, &scoped, &key, claimed_at).await,
                        recovered => return answer_recovered(&state, &scoped, recovered).await,
                    }
                }
                if started.elapsed() >= WAIT_FOR_FIRST {
                    return in_progress(&state, &scoped, &key, claimed_at).await;
                }
                tokio::time::sleep(POLL_FIRST).await;
                // Read while waiting; claimed anew only if the first freed the key (it failed before sending).
                claim = match storage.idempotency_key(&scoped).await {
                    Ok(Some(held)) => Ok(held),
                    Ok(None) => storage.claim_idempotency_key(&scoped, &fingerprint).await,
                    Err(error) => Err(error),
                };
            }
        }
    }
}

/// Serves the first request with a key, and keeps its answer for the retries, unless it sent nothing and failed on
/// the gateway's side (5xx, a panic included), was withdrawn (its client went away before a send committed), or
/// answered more than is kept: then the key is freed and a retry runs afresh.
async fn first(state: &AppState, scoped: String, request: Request, next: Next, commitment: &Commitment) -> Response {
    let response = chains::tx::on_behalf_of(scoped.clone(), super::unwinding(next.run(request))).await;
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let storage = state.storage();
    let sent_nothing = || async { storage.transactions_of_request(&scoped).await.is_ok_and(|sent| sent.is_empty()) };
    let withdrawn = commitment.withdrawn() && !parts.status.is_success();
    // An answer too long to keep, of a request that sent nothing: a retry is served afresh.
    let too_long = body.len() > crate::storage::KEPT_ANSWER_MAX_BYTES;
    let kept = if (parts.status.is_server_error() || withdrawn || too_long) && sent_nothing().await {
        storage.release_idempotency_key(&scoped).await
    } else {
        storage.answer_idempotency_key(&scoped, parts.status.as_u16(), &String::from_utf8_lossy(&body)).await
    };
    if let Err(error) = kept {
        tracing::error!(%error, "could not keep the answer of an idempotent request");
    }
    Response::from_parts(parts, Body::from(body))
}

/// The refusal of a key already used for another request.
fn reused(key: &str, parts: &axum::http::request::Parts) -> Response {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        format!(
            "Idempotency-Key {} was used for another request to {} {} in the last 24 hours; use a new key for a new \
             request",
            chains::quoted(key),
            parts.method,
            parts.uri.path()
        ),
    )
    .with_code(ErrorCode::IdempotencyKeyReused)
    .into_response()
}

/// The answer to a request answered at more length than is kept: rebuilt from what its transactions did.
async fn unkept(state: &AppState, scoped: &str, key: &str, claimed_at: i64) -> Response {
    match recover(state, scoped).await {
        Ok(Recovered::Nothing | Recovered::Untold) => in_progress(state, scoped, key, claimed_at).await,
        recovered => answer_recovered(state, scoped, recovered).await,
    }
}

/// The answer to a request whose gateway stopped before answering, rebuilt from what its transactions did: the
/// route's own answer once they ended (kept for later retries), the pending form while one is not final, or the
/// route's refusal (a revert, a drop). A failure to find out (a node unreachable) is answered and not kept.
async fn answer_recovered(
    state: &AppState,
    scoped: &str,
    recovered: Result<Recovered, crate::error::AppError>,
) -> Response {
    let (response, last) = match recovered {
        Ok(Recovered::Answer(body)) => (Json(body).into_response(), true),
        Ok(Recovered::Pending(hash)) => {
            (Json(serde_json::json!({"signature": hash.to_string(), "status": 0})).into_response(), false)
        }
        Ok(Recovered::Nothing | Recovered::Untold) => unreachable!("served by the caller"),
        Err(error) => {
            let last = matches!(error, AppError::Failed { .. } | AppError::Dropped { .. });
            (ApiError::from(error).into_response(), last)
        }
    };
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    if last && let Err(error) = state.storage().answer_idempotency_key(scoped, parts.status.as_u16(), &body).await {
        tracing::error!(%error, "could not keep the recovered answer of an idempotent request");
    }
    let mut response = replay(parts.status.as_u16(), body);
    response.headers_mut().insert(RECOVERED, HeaderValue::from_static("true"));
    response
}

fn replay(status: u16, body: String) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(REPLAYED, HeaderValue::from_static("true"));
    response
}

/// The first request with the key has no answer yet (still being served, or the gateway stopped while serving
/// it): what it sent so far, and nothing more is sent.
async fn in_progress(state: &AppState, scoped: &str, key: &str, claimed_at: i64) -> Response {
    let sent = match state.storage().transactions_of_request(scoped).await {
        Ok(sent) => sent,
        Err(error) => return ApiError::internal(error).into_response(),
    };
    let sent = match sent.is_empty() {
        true => "it has sent no transaction yet".to_string(),
        false => {
            let each: Vec<String> = sent.iter().map(|tx| format!("{} ({})", tx.hash, tx.status.as_str())).collect();
            format!("it sent {}; poll them (POST /chains/ethereum/poll)", each.join(", "))
        }
    };
    let age = (crate::storage::now_ms() - claimed_at).max(0) / 1000;
    ApiError::new(
        StatusCode::CONFLICT,
        format!(
            "the request with Idempotency-Key {} (received {age} s ago) has not finished, or the gateway stopped \
             while serving it; {sent}. This request sends nothing.",
            chains::quoted(key)
        ),
    )
    .with_code(ErrorCode::IdempotencyKeyInUse)
    .into_response()
}
