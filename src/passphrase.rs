//! The one secret the gateway is started with.

use std::sync::Arc;

/// The passphrase the wallets are encrypted under. Never printed: `Debug` shows a placeholder.
#[derive(Clone)]
pub struct Passphrase(Arc<str>);

impl Passphrase {
    pub fn new(text: &str) -> Self {
        Passphrase(Arc::from(text))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}
