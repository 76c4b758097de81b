#!/usr/bin/env bash
# Native and token balances of the wallet, in human units.
. "$(dirname "$0")/common.sh"

post /chains/ethereum/balances \
  "{\"network\": \"$NETWORK\", \"address\": \"$WALLET\", \"tokens\": [\"ETH\", \"WETH\", \"USDC\", \"DAI\"]}" | jq -c .balances
