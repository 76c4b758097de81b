//! The misbehaviours of real providers, rehearsed by the devnet's node front (`gateway devnet --faults <spec>`):
//! rate limits, a load-balanced node a few blocks behind, capped log queries, receipts that show up late, and a
//! send whose answer is lost after the node took it. Which calls are hit is drawn from a seeded sequence, so a
//! run can be repeated (`seed=`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// What the front does wrong, and how often. The default does nothing wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// The share of requests answered HTTP 429 (JSON-RPC -32005), not forwarded.
    pub rate_limit: f64,
    /// Half the requests, at random, are answered by a node this many blocks behind.
    pub lag: u64,
    /// `eth_getLogs` over more blocks than this is refused.
    pub logs_max_range: Option<u64>,
    /// `eth_getLogs` finding more logs than this is refused.
    pub logs_max_results: Option<usize>,
    /// A receipt is answered `null` for this long after the node first has it.
    pub receipt_delay: Duration,
    /// The share of sends the node takes whose answer is lost (HTTP 502).
    pub drop_send_answer: f64,
    pub seed: u64,
}

/// The keys a spec may hold, for messages.
const KEYS: &str = "rate-limit=<share>, lag=<blocks>, logs-max-range=<blocks>, logs-max-results=<n>, \
                    receipt-delay=<duration, e.g. 2s or 500ms>, drop-send-answer=<share>, seed=<n>";

impl std::str::FromStr for Faults {
    type Err = String;

    /// `rate-limit=0.2,lag=3,logs-max-range=1000,logs-max-results=500,receipt-delay=2s,drop-send-answer=0.1`.
    fn from_str(spec: &str) -> Result<Faults, String> {
        let mut faults = Faults::default();
        for item in spec.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (key, value) =
                item.split_once('=').ok_or_else(|| format!("'{item}' is not key=value; keys: {KEYS}"))?;
            let (key, value) = (key.trim(), value.trim());
            let bad = |what: &str| format!("{key}={value}: must be {what}");
            let share =
                || value.parse::<f64>().ok().filter(|share| (0.0..=1.0).contains(share)).ok_or_else(|| bad("0 to 1"));
            let count = || value.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| bad("a positive integer"));
            match key {
                "rate-limit" => faults.rate_limit = share()?,
                "drop-send-answer" => faults.drop_send_answer = share()?,
                "lag" => faults.lag = count()?,
                "logs-max-range" => faults.logs_max_range = Some(count()?),
                "logs-max-results" => faults.logs_max_results = Some(count()? as usize),
                "receipt-delay" => {
                    faults.receipt_delay = duration(value).ok_or_else(|| bad("a duration: 2s, 500ms"))?
                }
                "seed" => faults.seed = value.parse().map_err(|_| bad("an integer"))?,
                _ => return Err(format!("unknown fault '{key}'; keys: {KEYS}")),
            }
        }
        Ok(faults)
    }
}

fn duration(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit() && c != '.')?);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        _ => return None,
    };
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

impl std::fmt::Display for Faults {
    /// As a spec: what `--faults` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut items = Vec::new();
        if self.rate_limit > 0.0 {
            items.push(format!("rate-limit={}", self.rate_limit));
        }
        if self.lag > 0 {
            items.push(format!("lag={}", self.lag));
        }
        if let Some(range) = self.logs_max_range {
            items.push(format!("logs-max-range={range}"));
        }
        if let Some(results) = self.logs_max_results {
            items.push(format!("logs-max-results={results}"));
        }
        if !self.receipt_delay.is_zero() {
            items.push(format!("receipt-delay={}ms", self.receipt_delay.as_millis()));
        }
        if self.drop_send_answer > 0.0 {
            items.push(format!("drop-send-answer={}", self.drop_send_answer));
        }
        items.push(format!("seed={}", self.seed));
        f.write_str(&items.join(","))
    }
}

impl Faults {
    pub fn any(&self) -> bool {
        *self != Faults { seed: self.seed, ..Faults::default() }
    }
}

/// The front's faults as they play out: the draws so far, and when each receipt was first seen.
pub struct Play {
    pub faults: Faults,
    draws: AtomicU64,
    receipts_seen: Mutex<HashMap<String, Instant>>,
}

/// What to do with a request before it is forwarded.
pub enum Before {
    /// Answered HTTP 429 at once, each call refused.
    RateLimited(Vec<Value>),
    /// Forwarded, answered as the view `behind` blocks back (0: the chain as it is).
    Forward { behind: u64 },
}

impl Play {
    pub fn new(faults: Faults) -> Play {
        Play { faults, draws: AtomicU64::new(0), receipts_seen: Mutex::default() }
    }

    /// Whether the next draw falls under `share`.
    pub fn draw(&self, share: f64) -> bool {
        if share <= 0.0 {
            return false;
        }
        let n = self.draws.fetch_add(1, Ordering::Relaxed);
        (splitmix(self.faults.seed ^ n) >> 11) as f64 / (1u64 << 53) as f64 <= share
    }

    pub fn before(&self, calls: &[Value]) -> Before {
        if self.draw(self.faults.rate_limit) {
            let refused = |call| error(call, -32005, "rate limit exceeded: too many requests");
            return Before::RateLimited(calls.iter().map(refused).collect());
        }
        // Half the requests, drawn at random as a load balancer spreads them (strict turns would lock in step
        // with a client's pairs of concurrent calls).
        let lagging = self.faults.lag > 0 && self.draw(0.5);
        Before::Forward { behind: if lagging { self.faults.lag } else { 0 } }
    }

    /// A receipt the node has, as a provider that learns of it `receipt_delay` late answers it.
    pub fn delayed_receipt(&self, hash: &str, receipt: Value) -> Value {
        if receipt.is_null() || self.faults.receipt_delay.is_zero() {
            return receipt;
        }
        let mut seen = self.receipts_seen.lock().expect("receipts seen");
        let first = *seen.entry(hash.to_string()).or_insert_with(Instant::now);
        if first.elapsed() < self.faults.receipt_delay { Value::Null } else { receipt }
    }
}

/// A JSON-RPC error answer to `call`.
pub fn error(call: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": call.get("id").cloned().unwrap_or(Value::Null), "error": {"code": code, "message": message}})
}

/// SplitMix64: a well-mixed 64-bit value for each input, so the n-th draw of a seed is always the same.
fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_reads_every_fault_and_refuses_what_it_does_not_know_naming_it() {
        let faults: Faults =
            "rate-limit=0.3, lag=3,logs-max-range=1000,logs-max-results=500,receipt-delay=2s,drop-send-answer=0.1,seed=7"
                .parse()
                .unwrap();
        assert_eq!(
            faults,
            Faults {
                rate_limit: 0.3,
                lag: 3,
                logs_max_range: Some(1000),
                logs_max_results: Some(500),
                receipt_delay: Duration::from_secs(2),
                drop_send_answer: 0.1,
                seed: 7,
            }
        );
        assert!(faults.any());
        assert_eq!(faults.to_string().parse::<Faults>().unwrap(), faults, "written as it is read");
        assert!(!"seed=3".parse::<Faults>().unwrap().any());
        assert_eq!("receipt-delay=250ms".parse::<Faults>().unwrap().receipt_delay, Duration::from_millis(250));
        for (spec, says) in [
            ("rate-limit=1.5", "rate-limit=1.5: must be 0 to 1"),
            ("lag=0", "lag=0: must be a positive integer"),
            ("receipt-delay=2h", "receipt-delay=2h: must be a duration"),
            ("latency=3", "unknown fault 'latency'"),
            ("lag", "'lag' is not key=value"),
        ] {
            let refused = spec.parse::<Faults>().unwrap_err();
            assert!(refused.starts_with(says), "{spec}: {refused}");
        }
    }

    #[test]
    fn draws_hit_their_share_and_repeat_with_their_seed() {
        let play = |seed| Play::new(Faults { seed, ..Faults::default() });
        let (a, b) = (play(1), play(1));
        let hits = (0..10_000).filter(|_| a.draw(0.2)).count();
        assert!((1_800..2_200).contains(&hits), "{hits} of 10000 at 0.2");
        let first: Vec<bool> = (0..64).map(|_| b.draw(0.5)).collect();
        let again = play(1);
        assert_eq!(first, (0..64).map(|_| again.draw(0.5)).collect::<Vec<_>>());
        assert!(!(0..1000).any(|_| a.draw(0.0)));
    }

    #[test]
    fn a_receipt_is_answered_null_until_its_delay_after_first_seen() {
        let play = Play::new(Faults { receipt_delay: Duration::from_millis(40), ..Faults::default() });
        let receipt = json!({"blockNumber": "0x5"});
        assert_eq!(play.delayed_receipt("0xa", receipt.clone()), Value::Null);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(play.delayed_receipt("0xa", receipt.clone()), receipt);
        assert_eq!(play.delayed_receipt("0xb", Value::Null), Value::Null);
    }
}
