//! A send written ahead of what it waits for. Under the wallet's lock, a call of a shape sent before is signed at
//! the gas limit that one was signed with and at the nonce after this process's last send from the wallet, and
//! recorded, while the node is asked for the wallet's nonce and the call is simulated: the disk's wait, and the
//! read of the wallet's unsettled transactions before it, overlap both round trips. It is sent as written only if the nonce chosen and the simulation both agree with what it
//! was written at. A nonce that differs (another instance or another wallet sent meanwhile) has it taken back and
//! written again at the nonce chosen; a simulation that differs has it taken back, and the send is made afresh.

use alloy::signers::local::PrivateKeySigner;

use super::{
    Job, Ledger, NonceChoice, Placement, Prepared, Preparing, SenderSession, TxKind, TxSender, Written, prepare, sign,
};
use crate::error::ChainError;
use crate::network::Network;

impl<L: Ledger> TxSender<L> {
    /// Under the wallet's lock, for a call still being prepared: its nonce, chosen meanwhile (the lock is held, so
    /// it stays the next), and its job once prepared, with what was written ahead of it if that stands. `guess`:
    /// the nonce after this process's last send from the wallet. `None`: not to be sent.
    pub(super) async fn when_prepared(
        &self,
        session: &mut L::Session,
        network: &Network,
        signer: &PrivateKeySigner,
        preparing: Preparing,
        guess: Option<u64>,
    ) -> Result<Option<(Job, NonceChoice, Option<Written>)>, ChainError> {
        let Preparing { call, label, request_key, prepared } = preparing;
        let job_at = |Prepared { gas_limit, fees }| Job {
            call: call.clone(),
            gas_limit,
            placement: Placement::Next(fees),
            kind: TxKind::Call,
            label: label.clone(),
            request_key: request_key.clone(),
            wait: true,
        };
        let from = signer.address();
        let (pending, ahead) = tokio::join!(network.pending_nonce(from), async {
            // Signed at the guess while the wallet's unsettled rows are read; recorded once they are: they are read
            // before anything is written ahead, and at any count (the node's is not known yet).
            let (rows, signed) = tokio::join!(session.unsettled(network.name(), network.chain_id(), from, 0), async {
                let recalled = prepare::recalled(&self.gas_limits, network, &call).await?;
                let at_guess = guess.map(|nonce| {
                    let signed = sign(signer, network.chain_id(), nonce, recalled.gas_limit, recalled.fees, &call);
                    (nonce, signed)
                });
                Some((recalled, at_guess))
            });
            let rows = rows?;
            let Some((recalled, at_guess)) = signed else { return Ok((rows, None)) };
            let guessed = match at_guess {
                Some((nonce, signed)) => {
                    let at = (nonce, recalled.fees, None);
                    Some((nonce, self.record(session, network, from, &job_at(recalled), at, signed?).await?))
                }
                None => None,
            };
            Ok::<_, ChainError>((rows, Some((recalled, guessed))))
        });
        let (rows, ahead) = ahead?;
        let (recalled, guessed) = ahead.map_or((None, None), |(recalled, guessed)| (Some(recalled), guessed));
        let chosen = async { self.choose_nonce(session, network, pending?, rows).await }.await;
        // What was written at the guess stands only at the nonce chosen; otherwise it is never sent.
        let written_at_guess = match (&chosen, guessed) {
            (Ok(chosen), Some((nonce, written))) if nonce == chosen.nonce => Some(written),
            (_, guessed) => {
                if let Some((_, (hash, _))) = guessed {
                    self.take_back(session, hash).await;
                }
                None
            }
        };
        let chosen = chosen?;
        let written = match (recalled, written_at_guess) {
            (Some(recalled), Some(written)) => Some((recalled, written)),
            (Some(recalled), None) => {
                let at = (chosen.nonce, recalled.fees, None);
                Some((recalled, self.write_ahead(session, network, signer, &job_at(recalled), at).await?))
            }
            (None, _) => None,
        };
        let ready = prepared.await.ok().flatten();
        let written = match (written, ready) {
            (Some((at, written)), Some(ready)) if at == ready => Some(written),
            (written, _) => {
                if let Some((_, (hash, _))) = written {
                    self.take_back(session, hash).await;
                }
                None
            }
        };
        Ok(ready.map(|ready| (job_at(ready), chosen, written)))
    }
}
