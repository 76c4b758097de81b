//! The gateway as Hummingbot users deploy it: the compose files beside Hummingbot, the health check,
//! certificates naming the service, and `/restart` in a container. The image itself is built and run in
//! `tests/image`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{self, GatewayProcess, PASSPHRASE, https_client_builder};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the Containerfile's final stage declares with `instruction`, e.g. every path of `VOLUME ["a", "b"]`.
fn declared(containerfile: &str, instruction: &str) -> Vec<String> {
    let last_stage = containerfile.rsplit("\nFROM ").next().unwrap();
    last_stage
        .lines()
        .filter_map(|line| line.strip_prefix(instruction)?.strip_prefix(' '))
        .flat_map(|rest| match serde_json::from_str::<Vec<String>>(rest) {
            Ok(items) => items,
            Err(_) => rest.split_whitespace().map(str::to_string).collect(),
        })
        .collect()
}

/// Every environment variable `gateway start` reads, as its help lists them (`NAME=`, or `[env: NAME]` for one
/// whose value is hidden).
fn variables_start_reads() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO_BIN_EXE_gateway")).args(["start", "--help"]).output().unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let mut names = BTreeSet::new();
    for (end, _) in help.match_indices(['=', ']']) {
        let start = help[..end].rfind(|c: char| !(c.is_ascii_uppercase() || c == '_')).map_or(0, |i| i + 1);
        if end - start > 2 {
            names.insert(help[start..end].to_string());
        }
    }
    names
}

fn compose(name: &str) -> Value {
    let text = std::fs::read_to_string(root().join("deploy").join(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} parses: {e}"))
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().map(|items| items.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// `host:container` of a volume or `address:host:container` of a port: the container side.
fn inside(mapping: &str) -> &str {
    mapping.rsplit(':').next().unwrap()
}

fn outside(mapping: &str) -> &str {
    mapping.rsplit_once(':').unwrap().0
}

/// The compose files run only what the image holds: the gateway services build this Containerfile and mount
/// only the volumes it declares, publish only the port it exposes (on loopback), set only variables the binary
/// reads, and restart always; Hummingbot shares the gateway's certificates and reaches its published port;
/// the PostgreSQL variant runs two gateways on one database.
#[test]
fn the_compose_files_name_only_the_images_paths_ports_and_variables_the_image_uses() {
    let containerfile = std::fs::read_to_string(root().join("Containerfile")).unwrap();
    let volumes = declared(&containerfile, "VOLUME");
    let exposed = declared(&containerfile, "EXPOSE");
    assert_eq!(volumes, ["/home/gateway/conf", "/home/gateway/certs"]);
    assert_eq!(exposed, ["15888"]);
    assert_eq!(declared(&containerfile, "WORKDIR"), ["/home/gateway"]);
    assert_eq!(declared(&containerfile, "ENV"), ["GATEWAY_CERTS_PATH=/home/gateway/certs"]);
    let variables = variables_start_reads();
    for name in ["GATEWAY_PASSPHRASE", "DEV", "DATABASE_URL", "GATEWAY_CERTS_PATH", "GATEWAY_REQUIRE_AUTH"] {
        assert!(variables.contains(name), "{name} in `gateway start --help`: {variables:?}");
    }

    let mut gateways_per_file = Vec::new();
    for file in ["compose.yml", "compose.hummingbot.yml", "compose.postgres.yml"] {
        let services = compose(file)["services"].as_object().unwrap().clone();
        let gateways: Vec<(&String, &Value)> =
            services.iter().filter(|(_, service)| service["build"]["dockerfile"] == "Containerfile").collect();
        for (name, service) in &gateways {
            let at = format!("{file}: {name}");
            assert_eq!(service["image"], "gateway:latest", "{at}");
            assert!(
                root()
                    .join("deploy")
                    .join(service["build"]["context"].as_str().unwrap())
                    .join("Containerfile")
                    .exists()
            );
            assert_eq!(service["restart"], "always", "{at}");
            for volume in strings(&service["volumes"]) {
                assert!(volumes.iter().any(|v| v == inside(volume)), "{at}: {volume} is not a volume of the image");
            }
            for port in strings(&service["ports"]) {
                assert_eq!(inside(port), exposed[0], "{at}: {port}");
                assert!(port.starts_with("127.0.0.1:"), "{at}: {port} is published on loopback only");
            }
            for variable in service["environment"].as_object().unwrap().keys() {
                assert!(variables.contains(variable), "{at}: {variable} is read by no one");
            }
        }
        gateways_per_file.push((file, services.clone(), gateways.len()));
    }
    assert_eq!(gateways_per_file.iter().map(|(_, _, count)| *count).collect::<Vec<_>>(), [1, 1, 2]);

    let beside = &gateways_per_file[1].1;
    let (client, gateway) = (&beside["hummingbot"], &beside["gateway"]);
    assert!(client["image"].as_str().unwrap().starts_with("hummingbot/hummingbot:"));
    assert_eq!(strings(&gateway["profiles"]), ["gateway"]);
    // On the host's network, the client's default gateway_api_host (localhost:15888) is the published port.
    assert_eq!(client["network_mode"], "host");
    assert_eq!(strings(&gateway["ports"]), ["127.0.0.1:15888:15888"]);
    let certs_of = |service: &Value, at: &str| {
        strings(&service["volumes"]).into_iter().find(|v| inside(v) == at).map(|v| outside(v).to_string())
    };
    assert_eq!(certs_of(client, "/home/hummingbot/certs"), certs_of(gateway, "/home/gateway/certs"));
    assert!(certs_of(gateway, "/home/gateway/certs").is_some());

    let scaled = &gateways_per_file[2].1;
    let (one, two) = (&scaled["gateway-1"], &scaled["gateway-2"]);
    assert_eq!(one["environment"]["DATABASE_URL"], two["environment"]["DATABASE_URL"]);
    let url = one["environment"]["DATABASE_URL"].as_str().unwrap();
    assert!(url.starts_with("postgres://") && url.contains("@postgres:5432/"), "{url}");
    assert!(scaled["postgres"]["image"].as_str().unwrap().starts_with("postgres:"));
    assert_ne!(strings(&one["ports"]), strings(&two["ports"]));
    assert_ne!(certs_of(one, "/home/gateway/conf"), certs_of(two, "/home/gateway/conf"), "each its own conf");
    assert_eq!(one["depends_on"]["postgres"]["condition"], "service_healthy");
}

/// `gateway certs --host gateway` names the service in the server certificate: a client reaching
/// `https://gateway:<port>` is accepted, a name not in it is not. GATEWAY_CERTS_PATH puts the certificates
/// outside the conf dir (the image's certs volume), and start and the health check read them there.
#[tokio::test]
async fn certificates_name_the_service_and_the_health_check_reaches_the_gateway_with_them() {
    let home = tempfile::tempdir().unwrap();
    let (conf, certs) = (home.path().join("conf"), home.path().join("certs"));
    let gateway = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gateway"))
            .args(args)
            .args(["--conf", conf.to_str().unwrap()])
            .env("GATEWAY_PASSPHRASE", PASSPHRASE)
            .env("GATEWAY_CERTS_PATH", &certs)
            .env("GATEWAY_BIND_ADDRESS", common::LOOPBACK)
            .output()
            .unwrap()
    };
    let made = gateway(&["certs", "--host", "gateway"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    assert!(certs.join(gateway::tls::SERVER_CERT).exists() && !conf.join("certs").exists());

    let certs_path = certs.to_str().unwrap();
    let served = GatewayProcess::start_with(&[], &conf, &[("GATEWAY_CERTS_PATH", certs_path)]);
    let addr: std::net::SocketAddr = served.url.trim_start_matches("https://").parse().unwrap();
    let by_name = |name: &str| https_client_builder(&certs, Some(&certs)).resolve(name, addr).build().unwrap();
    let answer = by_name("gateway").get(format!("https://gateway:{}/", addr.port())).send().await.unwrap();
    assert_eq!(answer.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    let refused = by_name("elsewhere").get(format!("https://elsewhere:{}/", addr.port())).send().await;
    assert!(refused.is_err(), "a name the certificate does not hold is refused");

    let port = addr.port().to_string();
    let health = gateway(&["health", "--port", &port]);
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));
    assert!(String::from_utf8_lossy(&health.stdout).contains(": ok"));
    let (stopped, _) = served.terminate();
    assert!(stopped);
    let down = gateway(&["health", "--port", &port]);
    assert_eq!(down.status.code(), Some(1), "a health check that fails exits 1, as container engines read it");
    assert!(String::from_utf8_lossy(&down.stderr).contains(&port));
}

/// `POST /restart` reloads in place; when a setting read only at start changed, it names it, and in a container
/// (this machine may be one) answers and then exits 0, for the restart policy to start it with the new value.
#[tokio::test]
async fn restart_names_settings_read_at_start_and_in_a_container_exits_0_after_answering() {
    let conf = tempfile::tempdir().unwrap();
    let gw = GatewayProcess::start(conf.path(), &[]);
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(format!("{}{path}", gw.url)).json(&body).send();
    let unchanged = post("/restart", json!({})).await.unwrap();
    assert_eq!(unchanged.status(), 200);
    assert_eq!(unchanged.json::<Value>().await.unwrap()["message"], "configuration reloaded");
    let update = json!({"namespace": "server", "path": "corsOrigins", "value": ["https://app.example"]});
    assert_eq!(post("/config/update", update).await.unwrap().status(), 200);
    let restarted = post("/restart", json!({})).await.unwrap();
    assert_eq!(restarted.status(), 200);
    let message = restarted.json::<Value>().await.unwrap()["message"].as_str().unwrap().to_string();
    assert!(message.contains("corsOrigins"), "{message}");
    assert!(!message.contains(conf.path().to_str().unwrap()), "no path of the machine in an answer: {message}");
    match gateway::container::detected() {
        true => {
            assert!(message.contains("exits"), "{message}");
            let (clean, logs) = gw.exit_within(Duration::from_secs(20)).expect("the gateway exits after answering");
            assert!(clean, "exit code 0, as a restart policy expects:\n{logs}");
            assert!(logs.contains("corsOrigins"), "{logs}");
        }
        false => {
            assert!(message.contains("next start"), "{message}");
            assert_eq!(client.get(format!("{}/", gw.url)).send().await.unwrap().status(), 200);
            assert!(gw.terminate().0);
        }
    }
}
