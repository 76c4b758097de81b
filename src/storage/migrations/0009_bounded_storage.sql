-- Quotes are swept by age and trimmed to a count, oldest first: both walk this index.
CREATE INDEX quotes_by_expiry ON quotes (expires_at);
