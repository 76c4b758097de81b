//! Whether the request a send serves still wants it, decided once. A send commits once its call is prepared, just
//! before it signs, or before it broadcasts what it signed and wrote ahead while the call was simulated (taken
//! back if it may not go ahead); a request whose client stopped waiting (it hung up, or its time ran out)
//! withdraws. Whichever comes first wins, under one lock, so a request is either answered with what it sent (and
//! waited for until then, since its client needs the hash) or nothing was sent for it, and the ledger holds nothing
//! of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Commitment(Arc<Shared>);

struct Shared {
    phase: Mutex<Phase>,
    /// Requests committed and not yet answered, counted for a stop to wait for.
    committed: Arc<AtomicUsize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Committed,
    Withdrawn,
}

tokio::task_local! {
    static COMMITMENT: Commitment;
}

impl Commitment {
    /// A request's commitment, counted in `committed` from its commit until it is answered.
    pub fn counted_in(committed: Arc<AtomicUsize>) -> Commitment {
        Commitment(Arc::new(Shared { phase: Mutex::new(Phase::Open), committed }))
    }

    /// For a send: whether it may go ahead (false once the request withdrew). A request that committed once stays
    /// committed, so its later sends go ahead too.
    pub fn commit(&self) -> bool {
        let mut phase = self.0.phase.lock().expect("commitment lock");
        match *phase {
            Phase::Open => {
                *phase = Phase::Committed;
                self.0.committed.fetch_add(1, Ordering::Relaxed);
                true
            }
            Phase::Committed => true,
            Phase::Withdrawn => false,
        }
    }

    /// For the request: withdraws unless a send already committed, and says whether it did withdraw.
    pub fn withdraw(&self) -> bool {
        let mut phase = self.0.phase.lock().expect("commitment lock");
        if *phase == Phase::Open {
            *phase = Phase::Withdrawn;
        }
        *phase == Phase::Withdrawn
    }

    pub fn withdrawn(&self) -> bool {
        *self.0.phase.lock().expect("commitment lock") == Phase::Withdrawn
    }

    /// Runs `work` (a request's handling) under this commitment: the sends it makes consult it.
    pub async fn scope<F: std::future::Future>(self, work: F) -> F::Output {
        COMMITMENT.scope(self, work).await
    }

    /// The commitment of the request being served, if any (not for the tracker's own replacements).
    pub fn current() -> Option<Commitment> {
        COMMITMENT.try_with(Clone::clone).ok()
    }
}

/// Withdraws the request when dropped (its client went away, or it was answered): nothing it did not commit to
/// is sent afterwards. Stops counting it as committed.
pub struct WithdrawOnDrop(pub Commitment);

impl Drop for WithdrawOnDrop {
    fn drop(&mut self) {
        if !self.0.withdraw() {
            self.0.0.committed.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_commit_and_withdraw_wins() {
        let committed = Arc::new(AtomicUsize::new(0));
        let withdrawn = Commitment::counted_in(committed.clone());
        assert!(withdrawn.withdraw());
        assert!(!withdrawn.commit(), "nothing is sent for a request that withdrew");
        assert!(withdrawn.withdrawn());

        let sent = Commitment::counted_in(committed.clone());
        assert!(sent.commit());
        assert!(sent.commit(), "a committed request's next send goes ahead");
        assert!(!sent.withdraw(), "a request that sent is waited for");
        assert_eq!(committed.load(Ordering::Relaxed), 1);
        drop(WithdrawOnDrop(sent));
        assert_eq!(committed.load(Ordering::Relaxed), 0, "answered: no longer counted");
        drop(WithdrawOnDrop(withdrawn));
        assert_eq!(committed.load(Ordering::Relaxed), 0);
    }
}
