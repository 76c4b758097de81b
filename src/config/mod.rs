//! Configuration in Hummingbot Gateway's layout: YAML files in a conf dir, one namespace per file
//! (`server`, `ethereum`, `ethereum-<network>`, `uniswap`, ...), seeded from the templates in `config/`.
//!
//! A [`Config`] is an immutable snapshot; an update validates the new value against the typed section,
//! writes it back to its file and produces the next snapshot, which the server swaps in without a restart.

pub mod access;
mod lists;
mod sections;
mod templates;
mod yaml_edit;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use connectors::dex::{DexSpec, Registry};
use serde_json::Value;

pub use lists::{ListedPool, ListedToken};
pub use sections::{
    ChainConfig, ClobConfig, ClobNetworkConfig, ConnectorConfig, DEFAULT_DATABASE_MAX_CONNECTIONS, DecimalText,
    MarketConfig, NetworkConfig, NodeUrls, ServerConfig,
};
use sections::{Invalid, Section};
pub use templates::{install_templates, template};

/// The only chain this gateway serves; its networks are `ethereum-<network>` namespaces.
pub const CHAIN: &str = "ethereum";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid YAML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{namespace}.{path}: {reason}")]
    Invalid { namespace: String, path: String, reason: String },
    #[error("namespace {} does not exist; known namespaces: {known}", chains::quoted(namespace))]
    UnknownNamespace { namespace: String, known: String },
    #[error(
        "{} is not a setting of namespace {}; its settings are: {known}",
        chains::quoted(path),
        chains::quoted(namespace)
    )]
    UnknownPath { namespace: String, path: String, known: String },
    #[error("no config for the {CHAIN} chain: {0} is missing")]
    MissingFile(PathBuf),
}

impl ConfigError {
    /// Whether a request's input is at fault (a value or a name it gave), not the files on disk.
    pub fn is_invalid_input(&self) -> bool {
        matches!(
            self,
            ConfigError::Invalid { .. } | ConfigError::UnknownPath { .. } | ConfigError::UnknownNamespace { .. }
        )
    }
}

/// What kind of file a namespace is, which decides its typed form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Server,
    Chain,
    Network,
    Connector,
    Clob,
}

#[derive(Debug, Clone)]
struct Namespace {
    kind: Kind,
    /// Relative to the conf dir.
    file: PathBuf,
    raw: Value,
}

/// One consistent view of every namespace.
#[derive(Debug, Clone)]
pub struct Config {
    /// Different for every config built, so what is derived from one can be kept until it is replaced.
    generation: u64,
    dir: PathBuf,
    namespaces: BTreeMap<String, Namespace>,
    pub server: ServerConfig,
    pub chain: ChainConfig,
    pub networks: BTreeMap<String, NetworkConfig>,
    pub connectors: BTreeMap<String, ConnectorConfig>,
    /// Order-book connectors (`connectors/zeroex.yml`), by name.
    pub clob: BTreeMap<String, ClobConfig>,
    /// The DEX descriptions: the built-in ones plus `connectors/<name>.json` in the conf dir.
    pub dexes: Registry,
    /// `tokens/ethereum/<network>.json`, by network.
    pub token_lists: BTreeMap<String, Vec<ListedToken>>,
    /// `pools/<connector>.json`, by connector.
    pub pool_lists: BTreeMap<String, Vec<ListedPool>>,
    /// The networks a network rehearses, by name: see [`rehearsals`].
    rehearsals: BTreeMap<String, String>,
}

impl Config {
    /// Reads every namespace file in `dir` (install the templates first on a fresh dir).
    pub fn load(dir: &Path) -> Result<Config, ConfigError> {
        let mut namespaces = BTreeMap::new();
        let mut add = |name: String, kind: Kind, file: PathBuf| -> Result<(), ConfigError> {
            let raw = read_yaml(&dir.join(&file))?;
            namespaces.insert(name, Namespace { kind, file, raw });
            Ok(())
        };
        for (name, kind, file) in [
            ("server", Kind::Server, PathBuf::from("server.yml")),
            (CHAIN, Kind::Chain, PathBuf::from(format!("chains/{CHAIN}.yml"))),
        ] {
            if !dir.join(&file).is_file() {
                return Err(ConfigError::MissingFile(dir.join(file)));
            }
            add(name.to_string(), kind, file)?;
        }
        for network in yaml_stems(&dir.join("chains").join(CHAIN))? {
            add(format!("{CHAIN}-{network}"), Kind::Network, PathBuf::from(format!("chains/{CHAIN}/{network}.yml")))?;
        }
        for connector in connectors::clob::VENUES {
            let file = PathBuf::from(format!("connectors/{connector}.yml"));
            if dir.join(&file).is_file() {
                add(connector.to_string(), Kind::Clob, file)?;
            }
        }
        let dexes = load_dexes(dir)?;
        for connector in dexes.names() {
            let file = PathBuf::from(format!("connectors/{connector}.yml"));
            if dir.join(&file).is_file() {
                add(connector.to_string(), Kind::Connector, file)?;
            }
        }
        Config::from_namespaces(dir.to_path_buf(), namespaces, dexes)
    }

    fn from_namespaces(
        dir: PathBuf,
        namespaces: BTreeMap<String, Namespace>,
        dexes: Registry,
    ) -> Result<Config, ConfigError> {
        let mut server = None;
        let mut chain = None;
        let mut networks = BTreeMap::new();
        let mut connectors = BTreeMap::new();
        let mut clob = BTreeMap::new();
        for (name, ns) in &namespaces {
            match ns.kind {
                Kind::Server => server = Some(typed::<ServerConfig>(name, &ns.raw)?),
                Kind::Chain => chain = Some(typed::<ChainConfig>(name, &ns.raw)?),
                Kind::Network => {
                    let network = name.trim_start_matches(CHAIN).trim_start_matches('-').to_string();
                    networks.insert(network, typed::<NetworkConfig>(name, &ns.raw)?);
                }
                Kind::Connector => {
                    connectors.insert(name.clone(), typed::<ConnectorConfig>(name, &ns.raw)?);
                }
                Kind::Clob => {
                    clob.insert(name.clone(), typed::<ClobConfig>(name, &ns.raw)?);
                }
            }
        }
        let (Some(server), Some(chain)) = (server, chain) else {
            unreachable!("load() inserts the server and chain namespaces before building");
        };
        if !networks.contains_key(&chain.default_network) {
            return Err(ConfigError::Invalid {
                namespace: CHAIN.into(),
                path: "defaultNetwork".into(),
                reason: format!(
                    "network '{}' has no chains/{CHAIN}/{}.yml; known networks: {}",
                    chain.default_network,
                    chain.default_network,
                    networks.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        for (network, config) in &networks {
            let (connector, _) = config.swap_provider.split_once('/').unwrap_or_default();
            if !dexes.contains(connector) {
                return Err(ConfigError::Invalid {
                    namespace: format!("{CHAIN}-{network}"),
                    path: "swapProvider".into(),
                    reason: format!("unknown connector '{connector}'; known: {}", dexes.names().join(", ")),
                });
            }
        }
        let mut token_lists = lists::load(&dir, networks.keys())?;
        let mut pool_lists = lists::load_pools(&dir, &dexes.names())?;
        let rehearsals = rehearsals(&networks);
        for (network, rehearsed) in &rehearsals {
            let (_, list) = network_template(rehearsed).expect("every devnet profile has a network template");
            token_lists.insert(network.clone(), list);
        }
        for pools in pool_lists.values_mut() {
            pools.retain(|pool| !rehearsals.contains_key(&pool.network));
        }
        static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let generation = GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Config {
            generation,
            dir,
            namespaces,
            server,
            chain,
            networks,
            connectors,
            clob,
            dexes,
            token_lists,
            pool_lists,
            rehearsals,
        })
    }

    /// The contracts of `connector` on `network`: those of the network it rehearses, if it does.
    pub fn dex(&self, connector: &str, network: &str) -> Option<connectors::dex::Dex> {
        self.dexes.find(connector, self.rehearsals.get(network).map_or(network, String::as_str))
    }

    /// The network `network` rehearses (`gateway devnet --like`), if it does.
    pub fn rehearsed(&self, network: &str) -> Option<&str> {
        self.rehearsals.get(network).map(String::as_str)
    }

    /// The name tokens and pools added through the API are saved under for `network`: a rehearsal's are apart
    /// from the plain devnet's and from each other's, since each is a chain with other contracts.
    pub fn saved_under<'a>(&self, network: &'a str) -> std::borrow::Cow<'a, str> {
        match self.rehearsed(network) {
            Some(rehearsed) => format!("{network}@{rehearsed}").into(),
            None => network.into(),
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn namespace_names(&self) -> Vec<String> {
        self.namespaces.keys().cloned().collect()
    }

    /// The namespace as written in its file, including keys this gateway does not use.
    pub fn namespace(&self, name: &str) -> Result<&Value, ConfigError> {
        self.namespaces.get(name).map(|ns| &ns.raw).ok_or_else(|| self.unknown_namespace(name))
    }

    /// Every namespace, keyed by name.
    pub fn all(&self) -> BTreeMap<String, Value> {
        self.namespaces.iter().map(|(name, ns)| (name.clone(), ns.raw.clone())).collect()
    }

    pub fn network(&self, name: &str) -> Option<&NetworkConfig> {
        self.networks.get(name)
    }

    /// Sets `path` (dot-separated) in `namespace` to `value`, validates the result, writes it to the
    /// namespace's file, and returns the new snapshot. Nothing is written when validation fails.
    pub fn update(&self, namespace: &str, path: &str, value: Value) -> Result<Config, ConfigError> {
        let ns = self.namespaces.get(namespace).ok_or_else(|| self.unknown_namespace(namespace))?;
        // Bounded before any work: each segment nests one value, and 100,000 of them overflowed the stack.
        if path.len() > UPDATE_PATH_MAX_CHARS || path.split('.').nth(UPDATE_PATH_MAX_SEGMENTS).is_some() {
            return Err(ConfigError::Invalid {
                namespace: namespace.into(),
                path: chains::quoted(path),
                reason: format!(
                    "a path has at most {UPDATE_PATH_MAX_SEGMENTS} dot-separated parts and {UPDATE_PATH_MAX_CHARS} \
                     characters; no setting is deeper"
                ),
            });
        }
        let known = known_keys(ns.kind, namespace, &ns.raw)?;
        let segments: Vec<&str> = path.split('.').collect();
        if segments.iter().any(|s| s.is_empty()) || !known.iter().any(|k| k == segments[0]) {
            return Err(ConfigError::UnknownPath {
                namespace: namespace.into(),
                path: path.into(),
                known: known.join(", "),
            });
        }
        let updated = with_value(&ns.raw, &segments, value.clone());
        let result = self.replaced(namespace, updated).or_else(|first_error| match value {
            // Values typed on a command line arrive as strings: "2" for a number, "true" for a flag.
            Value::String(text) => match serde_json::from_str::<Value>(&text) {
                Ok(parsed) if !parsed.is_string() => {
                    self.replaced(namespace, with_value(&ns.raw, &segments, parsed)).map_err(|_| first_error)
                }
                _ => Err(first_error),
            },
            _ => Err(first_error),
        })?;
        if ns.kind == Kind::Server && segments[0] == "certificatePath" {
            self.check_certificate_dir(&result.server.certificate_path)?;
        }
        let new_raw = &result.namespaces[namespace].raw;
        let file = self.dir.join(&ns.file);
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read { path: file.clone(), source })?;
        let new_text = yaml_edit::set(&text, &segments, new_raw);
        crate::files::write_atomically(&file, new_text.as_bytes())
            .map_err(|source| ConfigError::Write { path: file, source })?;
        Ok(result)
    }

    /// A certificate folder set through the API must be an existing, readable folder inside the conf dir: the
    /// API must not point the next start at `/etc/` or at another user's keys. A folder elsewhere is for whoever
    /// edits server.yml on the machine.
    fn check_certificate_dir(&self, path: &str) -> Result<(), ConfigError> {
        let inside = |dir: &Path| {
            let conf = self.dir.canonicalize().ok()?;
            let resolved = dir.canonicalize().ok()?;
            (resolved.starts_with(&conf) && std::fs::read_dir(&resolved).is_ok()).then_some(())
        };
        inside(&certificate_dir(&self.dir, path)).ok_or_else(|| ConfigError::Invalid {
            namespace: "server".into(),
            path: "certificatePath".into(),
            reason: format!(
                "must be an existing, readable folder inside the conf dir, such as ./certs/, and {} is not; a folder \
                 elsewhere can only be set by editing server.yml",
                chains::quoted(path)
            ),
        })
    }

    fn replaced(&self, namespace: &str, raw: Value) -> Result<Config, ConfigError> {
        let mut namespaces = self.namespaces.clone();
        namespaces.get_mut(namespace).expect("checked by the caller").raw = raw;
        Config::from_namespaces(self.dir.clone(), namespaces, self.dexes.clone())
    }

    fn unknown_namespace(&self, name: &str) -> ConfigError {
        ConfigError::UnknownNamespace { namespace: name.into(), known: self.namespace_names().join(", ") }
    }
}

/// Where the certificates live: server.yml's `certificatePath`, relative to the conf dir unless absolute.
pub fn certificate_dir(conf_dir: &Path, certificate_path: &str) -> PathBuf {
    conf_dir.join(certificate_path)
}

/// A network as the templates describe it: its settings and its token list.
pub fn network_template(network: &str) -> Option<(NetworkConfig, Vec<ListedToken>)> {
    let namespace = format!("{CHAIN}-{network}");
    let settings = parse_yaml(templates::template(&format!("chains/{CHAIN}/{network}.yml"))?).ok()?;
    let settings = typed::<NetworkConfig>(&namespace, &settings).ok()?;
    let tokens = serde_json::from_str(templates::template(&format!("tokens/{CHAIN}/{network}.json"))?).ok()?;
    Some((settings, tokens))
}

/// The devnet given the chain id of a network it can behave like (`gateway devnet --like base`) rehearses that
/// network: its contracts and tokens are at that network's addresses, so it takes that network's deployments
/// and the token list the devnet deployed (the built-in one: a conf's copy may be older or edited). The pools
/// listed for the devnet are at the plain devnet's addresses and are not used: pools are found through the
/// factories, as on a network that lists none.
fn rehearsals(networks: &BTreeMap<String, NetworkConfig>) -> BTreeMap<String, String> {
    let devnet = crate::rehearsal::NETWORK;
    networks
        .get(devnet)
        .and_then(|network| {
            crate::rehearsal::Profile::ALL.into_iter().find(|p| !p.is_plain() && p.chain_id == network.chain_id)
        })
        .map(|profile| BTreeMap::from([(devnet.to_string(), profile.name.to_string())]))
        .unwrap_or_default()
}

/// The longest `path` a config update takes, in dot-separated parts and in characters: the deepest setting
/// (zeroex's `networks.<network>.…`) has 5 parts.
pub const UPDATE_PATH_MAX_SEGMENTS: usize = 16;
pub const UPDATE_PATH_MAX_CHARS: usize = 256;

/// Settings of `server.yml` read only when the gateway starts, and whether two configs differ in each; the
/// others apply as soon as they are updated.
type Differs = fn(&ServerConfig, &ServerConfig) -> bool;
const READ_AT_START: [(&str, Differs); 4] = [
    ("port", |a, b| a.port != b.port),
    ("certificatePath", |a, b| a.certificate_path != b.certificate_path),
    ("databaseMaxConnections", |a, b| a.database_max_connections != b.database_max_connections),
    ("corsOrigins", |a, b| a.cors_origins != b.cors_origins),
];

/// Whether an update of `path` in `namespace` waits for the next start to take effect.
pub fn applies_at_next_start(namespace: &str, path: &str) -> bool {
    let setting = path.split('.').next().unwrap_or_default();
    namespace == "server" && READ_AT_START.iter().any(|(name, _)| *name == setting)
}

/// The settings read only at start whose value in `now` differs from the one the gateway `started` with.
pub fn changed_since_start(started: &ServerConfig, now: &ServerConfig) -> Vec<&'static str> {
    READ_AT_START.iter().filter(|(_, differs)| differs(started, now)).map(|(name, _)| *name).collect()
}

/// A config value as answers and printouts show it: every URL in it with its credentials masked (node URLs carry
/// API keys in their paths, users and queries).
pub fn shown(value: &Value) -> Value {
    match value {
        Value::String(text)
            if ["http://", "https://", "ws://", "wss://"].iter().any(|scheme| {
                let text = text.trim_start();
                text.get(..scheme.len()).is_some_and(|start| start.eq_ignore_ascii_case(scheme))
            }) =>
        {
            Value::String(chains::rpc::masked(text))
        }
        Value::Array(items) => Value::Array(items.iter().map(shown).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(key, value)| (key.clone(), shown(value))).collect()),
        other => other.clone(),
    }
}

/// The built-in DEX descriptions plus each `connectors/<name>.json` in the conf dir: a Uniswap fork is added
/// by describing where its contracts are, with no code.
fn load_dexes(dir: &Path) -> Result<Registry, ConfigError> {
    let mut registry = Registry::builtin();
    let folder = dir.join("connectors");
    let Ok(entries) = std::fs::read_dir(&folder) else { return Ok(registry) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let relative = format!("connectors/{}", path.file_name().unwrap_or_default().to_string_lossy());
        let invalid =
            |reason: String| ConfigError::Invalid { namespace: relative.clone(), path: "(file)".into(), reason };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read { path: path.clone(), source })?;
        let spec = DexSpec::parse(&text).map_err(|e| invalid(e.to_string()))?;
        registry = registry.with(spec).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(registry)
}

fn typed<T: Section>(namespace: &str, raw: &Value) -> Result<T, ConfigError> {
    let invalid = |path: String, reason: String| ConfigError::Invalid { namespace: namespace.into(), path, reason };
    let value: T = serde_path_to_error::deserialize(raw).map_err(|e| {
        let path = e.path().to_string();
        invalid(if path == "." { "(root)".into() } else { path }, plain_serde_message(&e.into_inner().to_string()))
    })?;
    value.validate().map_err(|Invalid { path, reason }| invalid(path, reason))?;
    Ok(value)
}

/// serde names Rust types ("expected f64"); say what a user would. serde also repeats a string value whole;
/// it is quoted short and sanitized, as every error quotes input.
fn plain_serde_message(message: &str) -> String {
    let requoted = [
        ("invalid type: string \"", "\", expected"),
        ("invalid value: string \"", "\", expected"),
        ("unknown variant `", "`, expected"),
    ]
    .into_iter()
    .find_map(|(opening, closing)| {
        let start = message.find(opening)? + opening.len();
        let end = start + message[start..].rfind(closing)?;
        Some(format!("{}{}{}", &message[..start - 1], chains::quoted(&message[start..end]), &message[end + 1..]))
    });
    requoted
        .as_deref()
        .unwrap_or(message)
        .replace("expected f64", "expected a number")
        .replace("expected u64", "expected a whole number")
        .replace("expected u32", "expected a whole number")
        .replace("expected u16", "expected a whole number from 1 to 65535")
        .replace("data did not match any variant of untagged enum NodeUrls", "expected a URL or a list of URLs")
}

/// The settings a namespace's typed form declares (what `config/update` may change).
fn known_keys(kind: Kind, namespace: &str, raw: &Value) -> Result<Vec<String>, ConfigError> {
    let serialized = match kind {
        Kind::Server => serde_json::to_value(typed::<ServerConfig>(namespace, raw)?),
        Kind::Chain => serde_json::to_value(typed::<ChainConfig>(namespace, raw)?),
        Kind::Network => serde_json::to_value(typed::<NetworkConfig>(namespace, raw)?),
        Kind::Connector => serde_json::to_value(typed::<ConnectorConfig>(namespace, raw)?),
        Kind::Clob => serde_json::to_value(typed::<ClobConfig>(namespace, raw)?),
    }
    .expect("config sections serialize to JSON");
    Ok(serialized.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default())
}

fn with_value(raw: &Value, segments: &[&str], value: Value) -> Value {
    let mut root = if raw.is_object() { raw.clone() } else { Value::Object(Default::default()) };
    let mut node = &mut root;
    for segment in &segments[..segments.len() - 1] {
        let map = node.as_object_mut().expect("every node on the path is made an object");
        let child = map.entry(segment.to_string()).or_insert_with(|| Value::Object(Default::default()));
        if !child.is_object() {
            *child = Value::Object(Default::default());
        }
        node = child;
    }
    node.as_object_mut().expect("parent is an object").insert(segments[segments.len() - 1].to_string(), value);
    root
}

fn read_yaml(path: &Path) -> Result<Value, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    parse_yaml(&text).map_err(|message| ConfigError::Syntax { path: path.into(), message })
}

fn parse_yaml(text: &str) -> Result<Value, String> {
    if text.lines().all(|line| line.trim().is_empty() || line.trim_start().starts_with('#')) {
        return Ok(Value::Object(Default::default()));
    }
    serde_saphyr::from_str::<Value>(text).map_err(|e| e.to_string())
}

fn yaml_stems(dir: &Path) -> Result<Vec<String>, ConfigError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
        Err(source) => {
            return Err(ConfigError::Read { path: dir.into(), source });
        }
    };
    let mut stems: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_suffix(".yml").map(str::to_string)
        })
        .collect();
    stems.sort();
    Ok(stems)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_update_path_is_bounded_in_parts_and_characters_before_any_work() {
        use super::{UPDATE_PATH_MAX_CHARS as CHARS, UPDATE_PATH_MAX_SEGMENTS as PARTS};
        let conf = tempfile::TempDir::new().unwrap();
        super::install_templates(conf.path()).unwrap();
        let config = super::Config::load(conf.path()).unwrap();
        let bounded = |path: &str| match config.update("server", path, serde_json::json!(1)) {
            Err(super::ConfigError::Invalid { reason, .. }) => !reason.contains("at most"),
            _ => true,
        };
        assert!(bounded(&vec!["a"; PARTS].join(".")), "the largest accepted: {PARTS} parts");
        assert!(!bounded(&vec!["a"; PARTS + 1].join(".")), "the first refused");
        let long = |chars: usize| format!("port.{}", "b".repeat(chars - 5));
        assert!(bounded(&long(CHARS)));
        assert!(!bounded(&long(CHARS + 1)));
        assert!(!bounded(&vec!["a"; 100_000].join(".")));
        assert!(!bounded(&".".repeat(100_000)));
        // The deepest setting of every template fits.
        let zeroex = config.update("zeroex", "networks.devnet.apiUrl.x.y", serde_json::json!(1));
        assert!(!matches!(zeroex, Err(super::ConfigError::Invalid { reason, .. }) if reason.contains("at most")));
    }

    #[test]
    fn a_url_or_symbol_with_a_control_character_is_refused_rather_than_used_as_another() {
        let conf = tempfile::TempDir::new().unwrap();
        super::install_templates(conf.path()).unwrap();
        let config = super::Config::load(conf.path()).unwrap();
        for url in ["http://node.example\n.com", "http://node\t.example", "https://a.example/\r", "http://x\u{0}y"] {
            let refused = config.update("ethereum-devnet", "nodeURL", serde_json::json!(url));
            assert!(
                matches!(&refused, Err(super::ConfigError::Invalid { path, reason, .. })
                    if path == "nodeURL" && reason.contains("control character")),
                "{url:?}: {refused:?}"
            );
            let in_a_list = config.update("ethereum-devnet", "nodeURL", serde_json::json!(["http://ok.example", url]));
            assert!(matches!(in_a_list, Err(super::ConfigError::Invalid { .. })), "{url:?} in a list");
        }
        assert!(config.update("ethereum-devnet", "nodeURL", serde_json::json!("http://127.0.0.1:8545")).is_ok());
        let origin = config.update("server", "corsOrigins", serde_json::json!(["https://app.example\nb"]));
        assert!(
            matches!(&origin, Err(super::ConfigError::Invalid { path, .. }) if path == "corsOrigins"),
            "{origin:?}"
        );
        assert!(config.update("server", "corsOrigins", serde_json::json!(["https://app.example"])).is_ok());
        let symbol = config.update("ethereum-devnet", "nativeCurrencySymbol", serde_json::json!("ET\nH"));
        assert!(matches!(symbol, Err(super::ConfigError::Invalid { path, .. }) if path == "nativeCurrencySymbol"));
    }

    #[test]
    fn each_setting_read_at_start_is_named_when_it_changed_and_no_other_is() {
        let conf = tempfile::TempDir::new().unwrap();
        super::install_templates(conf.path()).unwrap();
        let started = super::Config::load(conf.path()).unwrap().server;
        assert!(super::changed_since_start(&started, &started.clone()).is_empty());
        let mut now = started.clone();
        now.log_level = "debug".into();
        now.request_timeout_seconds += 1;
        now.wallet_send = !now.wallet_send;
        assert!(super::changed_since_start(&started, &now).is_empty(), "applied at once, not at start");
        now.port += 1;
        now.certificate_path = "./elsewhere/".into();
        now.database_max_connections += 1;
        now.cors_origins.push("https://app.example".into());
        assert_eq!(
            super::changed_since_start(&started, &now),
            ["port", "certificatePath", "databaseMaxConnections", "corsOrigins"]
        );
        assert!(super::applies_at_next_start("server", "corsOrigins"));
        assert!(!super::applies_at_next_start("server", "logLevel"));
        assert!(!super::applies_at_next_start("ethereum", "port"));
    }

    #[test]
    fn serde_messages_quote_values_short_and_sanitized() {
        let long = "x".repeat(5000);
        let message =
            super::plain_serde_message(&format!("unknown variant `{long}\u{0}`, expected `eip1559` or `legacy`"));
        assert_eq!(message, format!("unknown variant '{}…', expected `eip1559` or `legacy`", "x".repeat(24)));
        let message = super::plain_serde_message("invalid type: string \"y\u{7}s\", expected a boolean");
        assert_eq!(message, "invalid type: string 'y?s', expected a boolean");
        assert_eq!(
            super::plain_serde_message("invalid type: integer `1`, expected f64"),
            "invalid type: integer `1`, expected a number"
        );
    }

    #[test]
    fn the_devnet_given_another_networks_chain_id_takes_its_contracts_and_tokens_and_lists_no_pools() {
        let conf = tempfile::TempDir::new().unwrap();
        super::install_templates(conf.path()).unwrap();
        let plain = super::Config::load(conf.path()).unwrap();
        let devnet_pools = |config: &super::Config| {
            config.pool_lists.values().flatten().filter(|pool| pool.network == "devnet").count()
        };
        assert_eq!(plain.rehearsed("devnet"), None);
        assert!(devnet_pools(&plain) > 0);
        let rehearsal = plain.update("ethereum-devnet", "chainID", serde_json::json!(8453)).unwrap();
        assert_eq!(rehearsal.rehearsed("devnet"), Some("base"));
        let (base, devnet) = (rehearsal.dex("uniswap", "base").unwrap(), rehearsal.dex("uniswap", "devnet").unwrap());
        assert_eq!(devnet.v3.unwrap().swap_router, base.v3.unwrap().swap_router);
        assert_ne!(devnet.v2.unwrap().factory, plain.dex("uniswap", "devnet").unwrap().v2.unwrap().factory);
        assert_eq!(rehearsal.token_lists["devnet"], super::network_template("base").unwrap().1);
        assert_eq!(rehearsal.saved_under("devnet"), "devnet@base");
        assert_eq!(devnet_pools(&rehearsal), 0);
        assert!(rehearsal.pool_lists.values().flatten().any(|pool| pool.network == "base"), "base keeps its own");
        for profile in crate::rehearsal::Profile::ALL.into_iter().filter(|profile| !profile.is_plain()) {
            let (settings, _) = super::network_template(profile.name).unwrap();
            assert_eq!(settings.chain_id, profile.chain_id, "{}", profile.name);
        }
        // A chain id no profile has: the devnet's own contracts, tokens and pools again.
        let own = rehearsal.update("ethereum-devnet", "chainID", serde_json::json!(999)).unwrap();
        assert_eq!(own.rehearsed("devnet"), None);
        assert_eq!(own.token_lists["devnet"], plain.token_lists["devnet"]);
        assert_eq!(devnet_pools(&own), devnet_pools(&plain));
        assert_eq!(own.saved_under("devnet"), "devnet");
    }

    #[test]
    fn shown_masks_urls_whatever_the_case_of_their_scheme() {
        let config = serde_json::json!({
            "nodeURL": "HTTPS://user:pass@node.example/v3/9aa3d95b3bc440fa88ea12eaa4456161",
            "nodeURLs": ["wss://node.example/?key=SECRET"],
            "chainID": 1,
            "name": "https is not a URL here",
        });
        let shown = super::shown(&config).to_string();
        for secret in ["user", "pass", "9aa3d95b3bc440fa88ea12eaa4456161", "SECRET"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("https is not a URL here") && shown.contains("\"chainID\":1"), "{shown}");
    }
}
