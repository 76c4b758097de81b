use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use gateway::config::{Config, install_templates};
use gateway::devnet::{self, Devnet, DevnetAssets};
use gateway::server::{self, GatewayOptions, ShutdownSignal};
use gateway::state::Passphrase;

#[derive(Parser)]
#[command(
    name = "gateway",
    version,
    about = "A self-hosted gateway between trading clients and EVM chains, compatible with Hummingbot Gateway's API."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    #[command(after_help = "Example:\n  GATEWAY_PASSPHRASE=secret gateway start --dev --conf ./conf")]
    Start {
        #[command(flatten)]
        serve: ServeArgs,
        /// Serve plain HTTP (no TLS). Binds to 127.0.0.1 unless --host says otherwise.
        #[arg(long)]
        dev: bool,
    },
    /// Start a local devnet (anvil with Uniswap, PancakeSwap and test tokens) and a gateway configured for it.
    #[command(
        after_help = "Example:\n  gateway devnet --passphrase devnet\n  curl -s 'http://127.0.0.1:15888/chains/ethereum/status?network=devnet'"
    )]
    Devnet {
        #[command(flatten)]
        serve: ServeArgs,
        /// Port for the devnet's JSON-RPC.
        #[arg(long, default_value_t = 8545)]
        rpc_port: u16,
    },
    /// Print the OpenAPI document, or write it to a file.
    #[command(after_help = "Example:\n  gateway openapi --out openapi/openapi.json")]
    Openapi {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Config dir in Gateway's layout; created from the default templates on first start.
    #[arg(long, default_value = "./conf")]
    conf: PathBuf,
    /// Passphrase that encrypts the wallets.
    #[arg(long, env = "GATEWAY_PASSPHRASE", hide_env_values = true)]
    passphrase: Option<String>,
    /// Port to listen on; server.yml's `port` (15888) when omitted.
    #[arg(long)]
    port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// PostgreSQL or SQLite URL; a SQLite file in the conf dir when omitted.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl ServeArgs {
    fn options(&self) -> Result<GatewayOptions, String> {
        let passphrase = match self.passphrase.as_deref() {
            Some(p) if !p.is_empty() => Passphrase::new(p),
            _ => {
                return Err("no passphrase: pass --passphrase or set GATEWAY_PASSPHRASE. It encrypts the wallets \
                            the gateway keeps; choose one and use the same one at every start."
                    .into());
            }
        };
        Ok(GatewayOptions {
            conf_dir: self.conf.clone(),
            database_url: self.database_url.clone(),
            passphrase,
            host: self.host,
            port: self.port,
        })
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
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
            let options = serve.options()?;
            if !dev {
                return Err("HTTPS is not configured: this version serves plain HTTP only with --dev \
                            (bound to 127.0.0.1 unless --host says otherwise)."
                    .into());
            }
            let signal = ShutdownSignal::install().map_err(|e| format!("cannot handle signals: {e}"))?;
            let gateway = server::start(options).await.map_err(|e| e.to_string())?;
            println!("gateway listening on {} (API docs at {}/docs)", gateway.url(), gateway.url());
            gateway.stop_on(signal).await.map_err(|e| e.to_string())
        }
        Command::Devnet { serve, rpc_port } => run_devnet(serve, rpc_port).await,
    }
}

async fn run_devnet(serve: ServeArgs, rpc_port: u16) -> Result<(), String> {
    let options = serve.options()?;
    let signal = ShutdownSignal::install().map_err(|e| format!("cannot handle signals: {e}"))?;
    let progress = |step: &str| println!("devnet: {step}");
    let devnet = Devnet::start(&DevnetAssets::locate(), rpc_port, &progress).await.map_err(|e| e.to_string())?;
    println!("devnet: anvil running at {} (chain id {})", devnet.rpc_url(), devnet::CHAIN_ID);
    point_devnet_network_at(&options.conf_dir, &devnet.rpc_url())?;
    let gateway = server::start(options).await.map_err(|e| e.to_string())?;
    let url = gateway.url();
    println!();
    println!("Gateway: {url}   (Swagger UI: {url}/docs)");
    println!("Network: devnet  (network=devnet, chainNetwork=ethereum-devnet)");
    println!();
    println!("Funded test accounts (anvil's well-known keys: never use them on a real network):");
    for index in 0..devnet.accounts().len().min(4) {
        println!("  {}  {}", devnet.accounts()[index], devnet.private_key(index));
    }
    println!();
    println!("Try:");
    println!("  curl -s {url}/");
    println!("  curl -s '{url}/config?namespace=ethereum-devnet'");
    println!();
    println!("Ctrl-C stops the gateway and the devnet.");
    gateway.stop_on(signal).await.map_err(|e| e.to_string())?;
    drop(devnet);
    Ok(())
}

/// The devnet template points at port 8545; follow anvil if it runs elsewhere.
fn point_devnet_network_at(conf_dir: &std::path::Path, rpc_url: &str) -> Result<(), String> {
    std::fs::create_dir_all(conf_dir).map_err(|e| format!("{}: {e}", conf_dir.display()))?;
    install_templates(conf_dir).map_err(|e| format!("{}: {e}", conf_dir.display()))?;
    let config = Config::load(conf_dir).map_err(|e| e.to_string())?;
    let namespace = format!("ethereum-{}", devnet::NETWORK);
    let current = config.namespace(&namespace).map_err(|e| e.to_string())?;
    if current["nodeURL"] != serde_json::json!(rpc_url) {
        config.update(&namespace, "nodeURL", serde_json::json!(rpc_url)).map_err(|e| e.to_string())?;
    }
    Ok(())
}
