-- Pools added through the API, on top of the config's pool lists.
CREATE TABLE pools (
    connector TEXT NOT NULL,
    network TEXT NOT NULL,
    kind TEXT NOT NULL,
    address TEXT NOT NULL,
    base_symbol TEXT NOT NULL,
    quote_symbol TEXT NOT NULL,
    base_address TEXT NOT NULL,
    quote_address TEXT NOT NULL,
    fee_pct TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (connector, network, kind, address)
);

-- Router quotes, executable by id until they expire; shared by every gateway instance on the database.
CREATE TABLE quotes (
    id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
