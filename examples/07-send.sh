#!/usr/bin/env bash
# Sends tokens (or the native currency) to an address and prints the recipient's balance after.
#   ./07-send.sh [AMOUNT] [TOKEN] [TO]      e.g. ./07-send.sh 250 USDC 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC
# TOKEN defaults to USDC; ETH sends the native currency. TO defaults to anvil's account #2.
. "$(dirname "$0")/common.sh"
AMOUNT=${1:-250}
TOKEN=${2:-USDC}
TO=${3:-0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC}

post /wallet/send \
  "{\"chain\": \"ethereum\", \"network\": \"$NETWORK\", \"address\": \"$WALLET\", \"toAddress\": \"$TO\", \"amount\": \"$AMOUNT\", \"token\": \"$TOKEN\"}" \
  | jq -c '{signature, status, amount, token, toAddress, fee}'
post /chains/ethereum/balances \
  "{\"network\": \"$NETWORK\", \"address\": \"$TO\", \"tokens\": [\"$TOKEN\"]}" | jq -c .balances
