-- Tokens added through the API, on top of the config's token lists.
CREATE TABLE tokens (
    network TEXT NOT NULL,
    address TEXT NOT NULL,
    symbol TEXT NOT NULL,
    name TEXT NOT NULL,
    decimals INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (network, address)
);
