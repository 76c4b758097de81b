#!/usr/bin/env bash
# Adds a wallet by private key and makes it the default one; prints its address.
. "$(dirname "$0")/common.sh"

post /wallet/add "{\"chain\": \"ethereum\", \"privateKey\": \"$PRIVATE_KEY\", \"setDefault\": true}" | jq -r .address
get /wallet | jq -c '.[] | {chain, walletAddresses}'
