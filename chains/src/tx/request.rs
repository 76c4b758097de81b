//! The request a send serves, as far as the ledger records it: its Idempotency-Key, so a retry can be told what
//! the first attempt sent.

tokio::task_local! {
    /// The Idempotency-Key of the request being served, which every transaction it sends is recorded with.
    static REQUEST_KEY: String;
}

/// Runs `work` on behalf of the request with Idempotency-Key `key`: every transaction it sends is recorded with
/// the key.
pub async fn on_behalf_of<F: std::future::Future>(key: String, work: F) -> F::Output {
    REQUEST_KEY.scope(key, work).await
}

/// The Idempotency-Key of the request being served, if it has one.
pub fn current_request_key() -> Option<String> {
    REQUEST_KEY.try_with(Clone::clone).ok()
}
