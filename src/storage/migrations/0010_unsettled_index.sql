-- A send chooses its nonce from its wallet's unsettled transactions (signed, or pending). Through the sender's
-- index that read walked every transaction the wallet ever sent, so each send got slower as the history grew;
-- this index holds the unsettled ones alone. Queries name its condition word for word so both databases use it.
CREATE INDEX transactions_unsettled ON transactions (chain_id, sender, nonce) WHERE status IN ('signed', 'pending');
