//! Logging: to stderr, as text or JSON lines, filtered by `RUST_LOG` or else by server.yml `logLevel`, which
//! follows config updates.

use std::sync::atomic::Ordering;

/// server.yml `logLevel` as the log filter (when `RUST_LOG` does not set one): a level in an atomic, and a change
/// rebuilds tracing's per-callsite cache, so between changes it costs what a fixed level costs, nothing per line.
struct ConfiguredLevel;

/// The level as `LevelFilter`'s order: 0 off, 1 error, ... 5 trace; `u8::MAX` while `RUST_LOG` filters instead.
static CONFIGURED_LEVEL: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(u8::MAX);
const LEVELS: [tracing_subscriber::filter::LevelFilter; 6] = {
    use tracing_subscriber::filter::LevelFilter;
    [LevelFilter::OFF, LevelFilter::ERROR, LevelFilter::WARN, LevelFilter::INFO, LevelFilter::DEBUG, LevelFilter::TRACE]
};

impl ConfiguredLevel {
    fn current() -> tracing_subscriber::filter::LevelFilter {
        LEVELS.get(usize::from(CONFIGURED_LEVEL.load(Ordering::Relaxed))).copied().unwrap_or(LEVELS[3])
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ConfiguredLevel {
    fn register_callsite(&self, metadata: &'static tracing::Metadata<'static>) -> tracing::subscriber::Interest {
        match Self::current() >= *metadata.level() {
            true => tracing::subscriber::Interest::always(),
            false => tracing::subscriber::Interest::never(),
        }
    }

    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: tracing_subscriber::layer::Context<'_, S>) -> bool {
        Self::current() >= *metadata.level()
    }

    fn max_level_hint(&self) -> Option<tracing_subscriber::filter::LevelFilter> {
        Some(Self::current())
    }
}

/// Logs to stderr (stdout carries only what a command prints as its answer), filtered by `RUST_LOG` or else by
/// server.yml `logLevel` (`info` until the config is read): text for people (coloured only on a terminal, so
/// files and journals get plain lines), or one JSON object per line with the request's span (its id) in each.
pub fn init_logging(json: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, Registry, fmt};
    let from_env = std::env::var(EnvFilter::DEFAULT_ENV).ok().filter(|directives| !directives.trim().is_empty());
    let filter: Box<dyn Layer<Registry> + Send + Sync> = match from_env.and_then(|f| EnvFilter::try_new(f).ok()) {
        Some(chosen) => chosen.boxed(),
        None => {
            CONFIGURED_LEVEL.store(3, Ordering::Relaxed);
            ConfiguredLevel.boxed()
        }
    };
    let format = match json {
        false => fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).boxed(),
        true => fmt::layer().with_writer(std::io::stderr).json().with_current_span(true).with_span_list(false).boxed(),
    };
    tracing_subscriber::registry().with(filter).with(format).init();
}

/// Applies server.yml `logLevel`, unless `RUST_LOG` chose what is logged (or logging is not ours, as in tests).
pub fn apply_log_level(level: &str) {
    let Some(position) = LEVELS.iter().position(|known| known.to_string().eq_ignore_ascii_case(level)) else {
        return;
    };
    let configured = CONFIGURED_LEVEL.load(Ordering::Relaxed) != u8::MAX;
    if configured && CONFIGURED_LEVEL.swap(position as u8, Ordering::Relaxed) != position as u8 {
        tracing::callsite::rebuild_interest_cache();
    }
}
