# Shared by the example scripts: where the gateway is, and two helpers that fail loudly on an error answer.
# Defaults fit `GATEWAY_PASSPHRASE=devnet cargo run -- devnet`; override with GATEWAY=..., NETWORK=..., WALLET=...
set -euo pipefail

GATEWAY=${GATEWAY:-http://127.0.0.1:15888}
NETWORK=${NETWORK:-devnet}
# anvil's account #1: a well-known test key, funded on the devnet. Never use it on a real network.
PRIVATE_KEY=${PRIVATE_KEY:-0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d}
WALLET=${WALLET:-0x70997970C51812dc3A010C7d01b50e0d17dc79C8}

get() { curl -sS --fail-with-body "$GATEWAY$1"; }
post() { curl -sS --fail-with-body -X POST "$GATEWAY$1" -H 'content-type: application/json' -d "$2"; }

# Polls a transaction until it is mined: returns 0 when confirmed, 1 when it reverted or never showed up.
wait_for_tx() {
  local hash=$1 status
  for _ in $(seq 1 120); do
    status=$(post /chains/ethereum/poll "{\"network\": \"$NETWORK\", \"signature\": \"$hash\"}" | jq -r .txStatus)
    case $status in
      1) echo "confirmed: $hash" >&2; return 0 ;;
      -1) echo "reverted: $hash" >&2; return 1 ;;
    esac
    sleep 0.5
  done
  echo "not mined after 60 s: $hash" >&2
  return 1
}
