//! Logging: to stderr, as text or JSON lines, filtered by `RUST_LOG` or else by server.yml `logLevel`, which
//! follows config updates.

use std::future::Future;
use std::sync::atomic::Ordering;

use axum::http::{HeaderValue, Method, Uri};

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
/// files and journals get plain lines), or one JSON object per line; a line written while serving a request names
/// it (its id, method and path).
pub fn init_logging(json: bool) {
    use std::io::IsTerminal;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, Registry};
    let from_env = std::env::var(EnvFilter::DEFAULT_ENV).ok().filter(|directives| !directives.trim().is_empty());
    let filter: Box<dyn Layer<Registry> + Send + Sync> = match from_env.and_then(|f| EnvFilter::try_new(f).ok()) {
        Some(chosen) => chosen.boxed(),
        None => {
            CONFIGURED_LEVEL.store(3, Ordering::Relaxed);
            ConfiguredLevel.boxed()
        }
    };
    let lines = lines_to(std::io::stderr, json, std::io::stderr().is_terminal());
    tracing_subscriber::registry().with(filter).with(lines).init();
}

/// The layer writing log lines to `writer`: text (with colours if `ansi`) or JSON, each naming the request it was
/// written for. A request is the only `"span"` a JSON line has.
fn lines_to<S, W>(writer: W, json: bool, ansi: bool) -> Box<dyn tracing_subscriber::Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::{Layer, fmt};
    let layer = fmt::layer().with_writer(writer).with_ansi(ansi);
    match json {
        false => layer.event_format(Tagged { plain: fmt::format(), json: false }).boxed(),
        true => layer
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .map_event_format(|plain| Tagged { plain, json: true })
            .boxed(),
    }
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

/// The request a task is serving, as its log lines name it.
#[derive(Clone)]
pub struct RequestTag {
    pub id: HeaderValue,
    pub method: Method,
    pub uri: Uri,
}

tokio::task_local! {
    /// Kept beside the task rather than in a tracing span: a span formats its fields when it is made, for every
    /// request whether it logs anything or not, and that was a tenth of a computed quote's work.
    static REQUEST: Option<RequestTag>;
}

/// `work`, with the lines it logs naming `request`.
pub fn serving<F: Future>(request: RequestTag, work: F) -> impl Future<Output = F::Output> {
    REQUEST.scope(Some(request), work)
}

/// `work`, naming the request the current task serves (if any): for a task spawned to finish a request's work.
pub fn for_this_request<F: Future>(work: F) -> impl Future<Output = F::Output> {
    REQUEST.scope(REQUEST.try_with(Option::clone).ok().flatten(), work)
}

/// A line as the plain formatter writes it, and in a request also the request: after the level in text (where a
/// span would be), as `"span"` in JSON (what the JSON formatter writes for a span).
struct Tagged<F> {
    plain: F,
    json: bool,
}

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for Tagged<F>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'w> tracing_subscriber::fmt::FormatFields<'w> + 'static,
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        use tracing_subscriber::fmt::FormatFields;
        let Some(request) = REQUEST.try_with(Option::clone).ok().flatten() else {
            return self.plain.format_event(ctx, writer, event);
        };
        let id = request.id.to_str().unwrap_or("-");
        if self.json {
            let mut line = String::new();
            self.plain.format_event(ctx, tracing_subscriber::fmt::format::Writer::new(&mut line), event)?;
            let Some(end) = line.rfind('}') else { return writer.write_str(&line) };
            let text = |value: &str| serde_json::to_string(value).map_err(|_| std::fmt::Error);
            let span = format!(
                r#","span":{{"id":{},"method":{},"path":{},"name":"request"}}"#,
                text(id)?,
                text(request.method.as_str())?,
                text(request.uri.path())?
            );
            line.insert_str(end, &span);
            return writer.write_str(&line);
        }
        let metadata = event.metadata();
        let ansi = writer.has_ansi_escapes();
        let (dim, bold, reset) = if ansi { ("\x1b[2m", "\x1b[1m", "\x1b[0m") } else { ("", "", "") };
        write!(writer, "{dim}")?;
        tracing_subscriber::fmt::time::FormatTime::format_time(
            &tracing_subscriber::fmt::time::SystemTime,
            &mut writer,
        )?;
        let level = *metadata.level();
        let colour = match (ansi, level) {
            (false, _) => "",
            (true, tracing::Level::ERROR) => "\x1b[31m",
            (true, tracing::Level::WARN) => "\x1b[33m",
            (true, tracing::Level::INFO) => "\x1b[32m",
            (true, tracing::Level::DEBUG) => "\x1b[34m",
            (true, tracing::Level::TRACE) => "\x1b[35m",
        };
        write!(writer, "{reset} {colour}{level:>5}{reset} ")?;
        write!(
            writer,
            "{bold}request{{{reset}id={id} method={} path={}{bold}}}{reset}{dim}:{reset}",
            request.method,
            request.uri.path()
        )?;
        // Spans opened while serving it follow, as the plain formatter writes them.
        for span in ctx.event_scope().into_iter().flat_map(|scope| scope.from_root()) {
            write!(writer, "{bold}{}", span.name())?;
            let extensions = span.extensions();
            let fields = extensions.get::<tracing_subscriber::fmt::FormattedFields<N>>();
            if let Some(fields) = fields.filter(|fields| !fields.is_empty()) {
                write!(writer, "{{{reset}{fields}{bold}}}")?;
            }
            write!(writer, "{reset}{dim}:{reset}")?;
        }
        write!(writer, " {dim}{}:{reset} ", metadata.target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Everything the formatter wrote.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Written {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Two lines, the first inside a request (its id sent by a client, quote included) and the second outside.
    fn lines(json: bool) -> Vec<String> {
        use tracing_subscriber::layer::SubscriberExt;
        let written = Written::default();
        let sink = written.clone();
        let layer = lines_to(move || sink.clone(), json, false);
        let tag = RequestTag {
            id: HeaderValue::from_static("client \"7\""),
            method: Method::POST,
            uri: "/chains/ethereum/wrap?x=1".parse().unwrap(),
        };
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            // Inside a span of a library's own: the request is still the line's one span.
            let inner = tracing::info_span!("library", step = 1);
            REQUEST.sync_scope(Some(tag), || inner.in_scope(|| tracing::info!(amount = 5, "wrapped")));
            tracing::warn!("outside");
        });
        let text = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_text_line_written_while_serving_names_the_request() {
        let lines = lines(false);
        assert_eq!(lines.len(), 2, "{lines:?}");
        let served = lines[0].split_once(' ').unwrap().1;
        assert_eq!(
            served,
            " INFO request{id=client \"7\" method=POST path=/chains/ethereum/wrap}:library{step=1}: gateway::logging::tests: \
             wrapped amount=5"
        );
        assert!(lines[1].ends_with(" WARN gateway::logging::tests: outside"), "{}", lines[1]);
    }

    #[test]
    fn a_json_line_written_while_serving_carries_the_request_as_its_span() {
        let lines = lines(true);
        assert_eq!(lines[0].matches(r#""span":"#).count(), 1, "{}", lines[0]);
        let served: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            served["span"],
            serde_json::json!({"id": "client \"7\"", "method": "POST", "path": "/chains/ethereum/wrap", "name": "request"})
        );
        assert_eq!(served["fields"], serde_json::json!({"message": "wrapped", "amount": 5}));
        assert_eq!(served["level"], "INFO");
        let outside: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert!(outside.get("span").is_none(), "{outside}");
        assert_eq!(outside["fields"]["message"], "outside");
    }
}
