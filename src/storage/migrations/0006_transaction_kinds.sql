-- What each transaction is, stored rather than read from its label: a call a request asked for, a speed-up
-- (the same call at the same nonce, higher fees) or a cancel (a 0-value transfer to the sender at that nonce).
ALTER TABLE transactions ADD COLUMN kind TEXT NOT NULL DEFAULT 'call';
UPDATE transactions SET kind = 'cancel' WHERE label = 'cancel';
UPDATE transactions SET kind = 'speed-up' WHERE kind = 'call' AND replaces IS NOT NULL;
