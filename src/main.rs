use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gateway::config::access::{AccessSettings, KeySource};
use gateway::config::{CHAIN, Config, install_templates, shown};
use gateway::container;
use gateway::devnet::{self, Devnet, DevnetAssets, Faults};
use gateway::ethereum::Ethereum;
use gateway::logging;
use gateway::passphrase::Passphrase;
use gateway::rehearsal::Profile;
use gateway::server::{self, GatewayOptions, ShutdownSignal};
use gateway::storage::{Storage, default_url};

/// A line on standard output that nobody may be reading any more (`gateway devnet | head`): a closed pipe is not
/// worth a panic, which `println!` would be.
macro_rules! say {
    () => {
        say!("")
    };
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "A self-hosted gateway between trading clients and EVM chains, compatible with Hummingbot Gateway's API."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log lines as text for people, or as one JSON object per line for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: HTTPS with client certificates (made by `gateway certs`), or plain HTTP with --dev.
    #[command(after_help = "Examples:\n  \
        GATEWAY_PASSPHRASE=secret gateway start --dev --conf ./conf\n  \
        GATEWAY_PASSPHRASE=secret gateway certs --conf ./conf && GATEWAY_PASSPHRASE=secret gateway start --conf ./conf\n\n\
        Access, from the environment (Gateway v2.16's):\n  \
        GATEWAY_REQUIRE_AUTH=true       every route but GET / needs Authorization: Bearer <key>\n  \
        GATEWAY_API_KEY=<key>           that key; else one generated into <conf>/api-key\n  \
        GATEWAY_AUTH_FAIL_MAX=10        failed keys from one peer before it is refused (403) ...\n  \
        GATEWAY_AUTH_FAIL_WINDOW_MS=900000  ... for this long\n  \
        GATEWAY_ENABLE_DOCS=true        /docs and /openapi.json for every peer, not only loopback ones")]
    Start {
        #[command(flatten)]
        serve: ServeArgs,
        /// Serve plain HTTP (no TLS, no client certificates): for a gateway only this machine (or, in a container,
        /// only what its published port lets in) can reach.
        #[arg(long, env = "DEV", value_parser = clap::builder::BoolishValueParser::new())]
        dev: bool,
    },
    /// Make the CA, server and client certificates HTTPS needs, in Hummingbot's layout, into server.yml's
    /// certificatePath (relative to the conf dir). Keys are encrypted under the passphrase.
    #[command(after_help = "Example:\n  GATEWAY_PASSPHRASE=secret gateway certs --conf ./conf --host gateway.lan\n  \
        GATEWAY_PASSPHRASE=secret gateway certs --conf ./conf --role read\n\n\
        Hummingbot needs ca_cert.pem, client_cert.pem and client_key.pem in its certs folder, and the same \
        passphrase as its password. The first client certificate may do everything; --role read (quotes, \
        balances, info) or --role trade (also swaps, liquidity, approvals, orders) makes a narrower one, signed by \
        the same CA, in the folder <certs>/<role>/.")]
    Certs {
        #[command(flatten)]
        store: StoreArgs,
        #[command(flatten)]
        certs: CertsDir,
        /// Another name or IP address clients reach the gateway by (localhost and loopback are always in).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// Make one more client certificate, of this role (read, trade or admin), from the CA already made.
        #[arg(long, value_parser = parse_role)]
        role: Option<gateway::config::access::Role>,
    },
    /// Ask the gateway serving from this conf dir whether it is up (GET /), as the container's health check does:
    /// exits 0 when it answers, 1 otherwise. Over HTTPS it presents the client certificate from the certs folder.
    Health {
        #[command(flatten)]
        serve: ServeArgs,
        /// The gateway serves plain HTTP (started with --dev).
        #[arg(long, env = "DEV", value_parser = clap::builder::BoolishValueParser::new())]
        dev: bool,
    },
    /// Start a local devnet (anvil with Uniswap, PancakeSwap and test tokens) and a gateway configured for it.
    #[command(
        after_help = "Example:\n  GATEWAY_PASSPHRASE=devnet gateway devnet\n  curl -s 'http://127.0.0.1:15888/chains/ethereum/status?network=devnet'"
    )]
    Devnet {
        #[command(flatten)]
        serve: ServeArgs,
        /// Port for the devnet's JSON-RPC.
        #[arg(long, default_value_t = 8545)]
        rpc_port: u16,
        /// Behave like this network: its chain id and fee rules (polygon: a 25 gwei tip floor; bsc: legacy at
        /// 0.05 gwei or more; base, optimism, unichain: the L1 data fee; arbitrum, robinhoodchain, avalanche,
        /// celo: chain id).
        #[arg(long, value_parser = devnet_profile)]
        like: Option<Profile>,
        /// Answer through a provider that misbehaves, to try a strategy against one before mainnet:
        /// rate-limit=<share> (HTTP 429), lag=<blocks> (every other answer from a node that far behind),
        /// logs-max-range=<blocks>, logs-max-results=<n>, receipt-delay=<2s>, drop-send-answer=<share> (the
        /// node takes the transaction, its answer is lost), seed=<n>.
        /// E.g. --faults rate-limit=0.2,lag=3,logs-max-range=1000,drop-send-answer=0.1
        #[arg(long)]
        faults: Option<Faults>,
    },
    /// Print the OpenAPI document, or write it to a file.
    #[command(after_help = "Example:\n  gateway openapi --out openapi/openapi.json")]
    Openapi {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Add, list or remove wallets in the conf dir's database, without a running gateway.
    #[command(after_help = "Examples:\n  \
        gateway wallet list --conf ./conf\n  \
        WALLET_PRIVATE_KEY=0x59c6…690d GATEWAY_PASSPHRASE=secret gateway wallet add --conf ./conf\n  \
        GATEWAY_PASSPHRASE=secret gateway wallet remove 0x70997970C51812dc3A010C7d01b50e0d17dc79C8\n\n\
        A running gateway sees the change at its next start.")]
    Wallet {
        #[command(subcommand)]
        action: WalletAction,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Show or validate the configuration in a conf dir.
    #[command(after_help = "Examples:\n  gateway config validate --conf ./conf\n  \
        gateway config show --conf ./conf --namespace ethereum-devnet")]
    Config {
        #[command(subcommand)]
        action: ConfigAction,
        /// Config dir in Gateway's layout.
        #[arg(long, default_value = "./conf", global = true)]
        conf: PathBuf,
    },
}

#[derive(Subcommand)]
enum WalletAction {
    /// Store a private key, encrypted under the passphrase; prints its address.
    Add {
        /// The key as hex; read from standard input when neither this nor WALLET_PRIVATE_KEY is given.
        #[arg(long, env = "WALLET_PRIVATE_KEY", hide_env_values = true)]
        private_key: Option<String>,
    },
    /// Print the address of every stored wallet (needs no passphrase).
    List,
    /// Forget a wallet and its encrypted key.
    Remove {
        /// The wallet's address.
        address: String,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print every namespace (or one) as JSON.
    Show {
        /// One namespace, e.g. `server`, `ethereum-devnet`, `uniswap`.
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Load the config the way `start` does and report the first problem, if any.
    Validate,
}

/// Where the wallets live and the passphrase that opens them.
#[derive(Args)]
struct StoreArgs {
    /// Config dir in Gateway's layout; created from the default templates on first start.
    #[arg(long, default_value = "./conf", global = true)]
    conf: PathBuf,
    /// Passphrase that encrypts the wallets (and the TLS keys). Prefer GATEWAY_PASSPHRASE or --passphrase-file:
    /// a command line shows in `ps` to every user of the machine.
    #[arg(long, env = "GATEWAY_PASSPHRASE", hide_env_values = true, global = true)]
    passphrase: Option<String>,
    /// A file holding the passphrase (its first line), e.g. a secret mounted by the service manager or compose.
    #[arg(long, env = "GATEWAY_PASSPHRASE_FILE", global = true, conflicts_with = "passphrase")]
    passphrase_file: Option<PathBuf>,
    /// PostgreSQL or SQLite URL; a SQLite file in the conf dir when omitted.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
}

impl StoreArgs {
    fn passphrase(&self) -> Result<Passphrase, String> {
        let from_file = match &self.passphrase_file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|e| format!("--passphrase-file {}: {e}", path.display()))?;
                Some(text.lines().next().unwrap_or_default().to_string())
            }
            None => None,
        };
        match from_file.as_deref().or(self.passphrase.as_deref()) {
            Some(p) if !p.is_empty() => Ok(Passphrase::new(p)),
            _ => Err("no passphrase: set GATEWAY_PASSPHRASE or pass --passphrase-file (a --passphrase argument \
                      shows in ps). It encrypts the wallets the gateway keeps; choose one and use the same one every \
                      time."
                .into()),
        }
    }

    async fn storage(&self) -> Result<Storage, String> {
        std::fs::create_dir_all(&self.conf).map_err(|e| format!("{}: {e}", self.conf.display()))?;
        let url = self.database_url.clone().unwrap_or_else(|| default_url(&self.conf));
        Storage::connect(&url).await.map_err(|e| format!("cannot open the database: {e}"))
    }
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Port to listen on; server.yml's `port` (15888) when omitted.
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind: 127.0.0.1 when omitted, 0.0.0.0 inside a container.
    #[arg(long, env = "GATEWAY_BIND_ADDRESS")]
    host: Option<IpAddr>,
    #[command(flatten)]
    certs: CertsDir,
}

/// Where the TLS certificates are.
#[derive(Args)]
struct CertsDir {
    /// Folder of the TLS certificates, instead of server.yml's certificatePath (the image sets it to its certs
    /// volume, /home/gateway/certs).
    #[arg(long = "certs-dir", env = "GATEWAY_CERTS_PATH")]
    certs_dir: Option<PathBuf>,
}

impl CertsDir {
    fn of(&self, conf: &std::path::Path, config: &Config) -> PathBuf {
        self.certs_dir
            .clone()
            .unwrap_or_else(|| gateway::config::certificate_dir(conf, &config.server.certificate_path))
    }
}

impl ServeArgs {
    /// The options, the access settings read from the environment (GATEWAY_REQUIRE_AUTH and the rest).
    fn options(&self) -> Result<GatewayOptions, String> {
        let in_container = container::detected();
        let (access, key) = AccessSettings::from_vars(|name| std::env::var(name).ok(), &self.store.conf)?;
        match key {
            Some(KeySource::Environment) => {
                say!("bearer key required (GATEWAY_REQUIRE_AUTH): the one in GATEWAY_API_KEY")
            }
            Some(KeySource::File(path)) => {
                say!("bearer key required (GATEWAY_REQUIRE_AUTH): the one in {}", path.display())
            }
            Some(KeySource::Generated(path)) => say!(
                "bearer key required (GATEWAY_REQUIRE_AUTH): a new one was written to {} (readable by its owner only); \
                 clients send it as Authorization: Bearer <key>",
                path.display()
            ),
            None => {}
        }
        Ok(GatewayOptions {
            conf_dir: self.store.conf.clone(),
            database_url: self.store.database_url.clone(),
            passphrase: self.store.passphrase()?,
            host: container::bind_address(self.host, in_container),
            port: self.port,
            tls: false,
            own_names: container::own_names(in_container),
            access,
            certificate_dir: self.certs.certs_dir.clone(),
            exit_to_restart: in_container,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init_logging(matches!(cli.log_format, LogFormat::Json));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime starts");
    // A health check that fails exits 1, as container engines read it (2 is reserved there).
    let failed = match cli.command {
        Command::Health { .. } => ExitCode::FAILURE,
        _ => ExitCode::from(2),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            failed
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Openapi { out } => {
            let json = serde_json::to_string_pretty(&gateway::http::openapi())
                .expect("the OpenAPI document serializes")
                + "\n";
            match out {
                Some(path) => std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display())),
                None => {
                    print!("{json}");
                    Ok(())
                }
            }
        }
        Command::Start { serve, dev } => {
            let options = GatewayOptions { tls: !dev, ..serve.options()? };
            let in_container = container::detected();
            if dev {
                container::plain_http_allowed(options.host, in_container)?;
            }
            let (host, tls) = (options.host, options.tls);
            let signal = ShutdownSignal::install().map_err(|e| format!("cannot handle signals: {e}"))?;
            let gateway = server::start(options).await.map_err(|error| container::explain(&error, in_container))?;
            let started = format!(
                "gateway listening on {} (API docs at {}/docs)\n  {}\n",
                gateway.url(),
                gateway.url(),
                container::reach(host, tls, in_container)
            );
            // In one write: a supervisor that reads up to the address may stop reading there.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), started.as_bytes());
            gateway.stop_on(signal).await.map_err(|e| e.to_string())
        }
        Command::Devnet { serve, rpc_port, like, faults } => {
            run_devnet(serve, rpc_port, like.unwrap_or(Profile::PLAIN), faults.unwrap_or_default()).await
        }
        Command::Certs { store, certs, hosts, role } => run_certs(&store, &certs, &hosts, role),
        Command::Health { serve, dev } => run_health(&serve, dev).await,
        Command::Wallet { action, store } => run_wallet(action, store).await,
        Command::Config { action, conf } => run_config(action, &conf),
    }
}

async fn run_wallet(action: WalletAction, store: StoreArgs) -> Result<(), String> {
    let storage = store.storage().await?;
    let ethereum = Ethereum::new(storage.clone());
    if let WalletAction::List = action {
        for wallet in storage.wallets(CHAIN).await.map_err(|e| e.to_string())? {
            say!("{}", wallet.address);
        }
        return Ok(());
    }
    let passphrase = store.passphrase()?;
    // Opening every stored wallet first proves the passphrase is the one they were added under.
    ethereum.load_wallets(&storage, &store.conf, &passphrase).await.map_err(|e| e.to_string())?;
    match action {
        WalletAction::List => Ok(()),
        WalletAction::Add { private_key } => {
            let key = match private_key {
                Some(key) => key,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| format!("reading the key from stdin: {e}"))?;
                    line
                }
            };
            let signer = chains::wallet::parse_private_key(&key).map_err(|e| e.to_string())?;
            let address = ethereum.add_signer(&storage, &passphrase, signer).await.map_err(|e| e.to_string())?;
            say!("{address}");
            Ok(())
        }
        WalletAction::Remove { address } => {
            let parsed =
                address.parse().map_err(|_| format!("'{address}' is not an address (0x and 40 hex digits)"))?;
            if !ethereum.remove_wallet(&storage, parsed).await.map_err(|e| e.to_string())? {
                return Err(format!("no wallet {address}; `gateway wallet list` shows the stored ones"));
            }
            say!("removed {address}");
            Ok(())
        }
    }
}

fn parse_role(name: &str) -> Result<gateway::config::access::Role, String> {
    gateway::config::access::Role::named(name).ok_or_else(|| "must be read, trade or admin".into())
}

fn run_certs(
    store: &StoreArgs,
    certs: &CertsDir,
    hosts: &[String],
    role: Option<gateway::config::access::Role>,
) -> Result<(), String> {
    let passphrase = store.passphrase()?;
    std::fs::create_dir_all(&store.conf).map_err(|e| format!("{}: {e}", store.conf.display()))?;
    install_templates(&store.conf).map_err(|e| format!("{}: {e}", store.conf.display()))?;
    let config = Config::load(&store.conf).map_err(|e| format!("{}: {e}", store.conf.display()))?;
    let dir = certs.of(&store.conf, &config);
    if let Some(role) = role {
        if !dir.join(gateway::tls::CA_KEY).exists() {
            return Err(format!(
                "{} holds no CA to sign a {role} certificate with; run `gateway certs` without --role first",
                dir.display()
            ));
        }
        for path in gateway::tls::issue_client(&dir, &passphrase, role).map_err(|e| e.to_string())? {
            say!("wrote {}", path.display());
        }
        say!("A client holding these may act as {role}: hand it this folder as its certs folder.");
        return Ok(());
    }
    for path in gateway::tls::generate(&dir, &passphrase, hosts).map_err(|e| e.to_string())? {
        say!("wrote {}", path.display());
    }
    say!(
        "Start the gateway without --dev to serve HTTPS. Clients need {}, {} and {} (Hummingbot: its certs \
         folder, with the same passphrase as its password).",
        gateway::tls::CA_CERT,
        gateway::tls::CLIENT_CERT,
        gateway::tls::CLIENT_KEY
    );
    Ok(())
}

/// The longest the health check waits for the answer.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

async fn run_health(serve: &ServeArgs, dev: bool) -> Result<(), String> {
    let conf = &serve.store.conf;
    let config = Config::load(conf).map_err(|e| format!("{}: {e}", conf.display()))?;
    let port = serve.port.unwrap_or(config.server.port);
    let host = match container::bind_address(serve.host, container::detected()) {
        host if host.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        host => host,
    };
    let client = reqwest::Client::builder().timeout(HEALTH_TIMEOUT);
    let (scheme, client) = match dev {
        true => ("http", client),
        false => {
            let tls = gateway::tls::client_config(&serve.certs.of(conf, &config), &serve.store.passphrase()?)
                .map_err(|e| e.to_string())?;
            ("https", client.use_preconfigured_tls(tls))
        }
    };
    let url = format!("{scheme}://{}/", std::net::SocketAddr::new(host, port));
    let client = client.build().map_err(|e| e.to_string())?;
    let answer = client.get(&url).send().await.map_err(|e| format!("{url}: {e}"))?;
    match answer.status().is_success() {
        true => {
            say!("{url}: ok");
            Ok(())
        }
        false => Err(format!("{url}: answered {}", answer.status())),
    }
}

fn run_config(action: ConfigAction, conf: &std::path::Path) -> Result<(), String> {
    let config = Config::load(conf).map_err(|e| format!("{}: {e}", conf.display()))?;
    match action {
        ConfigAction::Validate => {
            say!("{}: valid ({} namespaces)", conf.display(), config.namespace_names().len());
        }
        ConfigAction::Show { namespace: None } => {
            let all = serde_json::to_value(config.all()).expect("config is JSON");
            say!("{}", serde_json::to_string_pretty(&shown(&all)).expect("config is JSON"));
        }
        ConfigAction::Show { namespace: Some(name) } => {
            let value = config.namespace(&name).map_err(|e| e.to_string())?;
            say!("{}", serde_json::to_string_pretty(&shown(value)).expect("config is JSON"));
        }
    }
    Ok(())
}

fn devnet_profile(name: &str) -> Result<Profile, String> {
    Profile::named(name).ok_or_else(|| {
        let known: Vec<&str> = Profile::ALL.iter().map(|profile| profile.name).collect();
        format!("no devnet profile '{name}'; known: {}", known.join(", "))
    })
}

async fn run_devnet(serve: ServeArgs, rpc_port: u16, like: Profile, faults: Faults) -> Result<(), String> {
    let options = serve.options()?;
    container::plain_http_allowed(options.host, container::detected())?;
    let signal = ShutdownSignal::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let progress = |step: &str| say!("devnet: {step}");
    let rehearsed = faults.any().then(|| faults.to_string());
    let devnet = Devnet::start_with(&DevnetAssets::locate(), rpc_port, like, faults, &progress)
        .await
        .map_err(|e| e.to_string())?;
    say!("devnet: anvil running at {} (chain id {}, like {})", devnet.rpc_url(), like.chain_id, like.name);
    if let Some(faults) = rehearsed {
        say!("devnet: its node answers as a misbehaving provider: {faults}");
    }
    if let Some(raised) = devnet::point_network_at(&options.conf_dir, &devnet.rpc_url(), like, devnet.accounts())? {
        say!("devnet: {raised}");
    }
    let gateway = server::start(options).await.map_err(|e| e.to_string())?;
    let url = gateway.url();
    say!();
    say!("Gateway: {url}   (Swagger UI: {url}/docs)");
    say!("Network: devnet  (network=devnet, chainNetwork=ethereum-devnet)");
    say!();
    say!("Funded test accounts (anvil's well-known keys: never use them on a real network):");
    for index in 0..devnet.accounts().len().min(4) {
        say!("  {}  {}", devnet.accounts()[index], devnet.private_key(index));
    }
    say!();
    say!("Try:");
    say!("  curl -s {url}/");
    say!("  curl -s '{url}/config?namespace=ethereum-devnet'");
    let wrapped = &devnet.deployment().wrapped_native().symbol;
    say!(
        "  curl -s '{url}/trading/router/quote-swap?chainNetwork=ethereum-devnet&connector=uniswap&baseToken={wrapped}&quoteToken=USDC&amount=1&side=SELL'"
    );
    if like.is_plain() {
        say!("  curl -s '{url}/clob/markets?network=devnet&connector=zeroex'");
        say!("Or the scripts in examples/ (add a wallet, balances, approve, swap, V3 position, limit order):");
        say!("  GATEWAY={url} examples/01-add-wallet.sh && GATEWAY={url} examples/04-swap.sh 0.5");
    } else {
        say!(
            "{}'s tokens are at its own addresses ({} of them, `GET /tokens?network=devnet`); no pool is listed: the \
             router finds the {wrapped}/USDC pools through the factories.",
            like.name,
            devnet.deployment().tokens.len()
        );
    }
    say!();
    say!("Ctrl-C stops the gateway and the devnet.");
    gateway.stop_on(signal).await.map_err(|e| e.to_string())?;
    drop(devnet);
    Ok(())
}
