//! The container image, built from the Containerfile as users build it (with buildah, on base images made from
//! Debian's packages and this machine's Rust toolchain, since no registry is reachable here), and run the way
//! Hummingbot runs Gateway's. A test binary of its own: the build runs alone, not beside the integration tests.
//! Skipped where buildah is missing, unless GATEWAY_REQUIRE_BUILDAH is set (CI sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[allow(dead_code)]
#[path = "../it/common/mod.rs"]
mod common;

use common::session::client_session;
use common::{PASSPHRASE, devnet_conf, https_client, https_client_builder};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run(command: &mut Command) -> String {
    let output = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const IMAGE: &str = "localhost/gateway:test";
/// The image holds the binary and what Debian's slim image has: it must stay small to pull.
const IMAGE_MAX_BYTES: u64 = 120_000_000;

/// Builds the image the way users do, from the Containerfile, on base images made from Debian's packages and
/// this machine's Rust toolchain (no registry is reachable here). The dependency layer is cached by buildah
/// between runs, so a source change rebuilds only the workspace's crates.
fn build_image() {
    run(&mut Command::new(root().join("tests/container/base-images.sh")));
    let version = run(Command::new("rustc").arg("--version"));
    let version: Vec<&str> = version.split_whitespace().nth(1).unwrap().split('.').take(2).collect();
    let started = std::time::Instant::now();
    run(Command::new("buildah")
        .args(["bud", "--isolation", "chroot", "--format", "docker", "--layers", "--pull=never", "--quiet"])
        .args(["--build-arg", &format!("RUST_VERSION={}", version.join("."))])
        .args(["-t", IMAGE])
        .arg(root()));
    eprintln!("image built in {:.0} s", started.elapsed().as_secs_f64());
}

/// A container of the image serving with `env` on the host's network, its conf and certs folders mounted from
/// `home`; stopped (killed) when dropped.
struct Served {
    name: String,
    process: std::process::Child,
    url: String,
}

impl Served {
    fn start(home: &Path, env: &[(&str, &str)], port: u16) -> Served {
        let (name, mut command) = in_container(home, env, &["start", "--port", &port.to_string()]);
        let mut process = command.stdout(std::process::Stdio::piped()).spawn().unwrap();
        let (url, _) = common::printed_url(process.stdout.take().unwrap());
        Served { name, process, url: url.replace("127.0.0.1", "localhost") }
    }

    /// Runs `gateway <args>` in another container of the image with the same folders and `env`.
    fn gateway(home: &Path, env: &[(&str, &str)], args: &[&str]) -> std::process::Output {
        let (name, mut command) = in_container(home, env, args);
        let output = command.output().unwrap();
        let _ = Command::new("buildah").args(["rm", &name]).output();
        output
    }
}

/// `gateway <args>` in a new container of the image on the host's network (`buildah run`), with `home`'s conf
/// and certs folders mounted, the passphrase and `env` set: the container's name, and the command.
fn in_container(home: &Path, env: &[(&str, &str)], args: &[&str]) -> (String, Command) {
    let name = run(Command::new("buildah").args(["from", "--pull=never", IMAGE])).trim().to_string();
    // `buildah run` (1.28) also mounts an empty volume at each VOLUME of the image, in no fixed order with the
    // folders given with -v, so one of them can end up hidden; Docker and Podman put the folder in its place.
    // The container (not the image) forgets its volumes, leaving the folders alone.
    run(Command::new("buildah").args([
        "config",
        "--volume",
        "/home/gateway/conf-",
        "--volume",
        "/home/gateway/certs-",
        &name,
    ]));
    let mut command = Command::new("buildah");
    command.args(["run", "--isolation", "chroot"]);
    for folder in ["conf", "certs"] {
        command.args(["-v", &format!("{}:/home/gateway/{folder}", home.join(folder).display())]);
    }
    for (key, value) in env.iter().chain(&[("GATEWAY_PASSPHRASE", PASSPHRASE)]) {
        command.args(["--env", &format!("{key}={value}")]);
    }
    command.args([&name, "--", "gateway"]).args(args);
    (name, command)
}

impl Drop for Served {
    /// SIGTERM, which buildah passes on: a SIGKILL would leave the gateway running in its chroot, holding the
    /// container, and later containers' mounts fail while it lives.
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.process.id().to_string()).status();
        let _ = self.process.wait();
        let _ = Command::new("buildah").args(["rm", &self.name]).output();
    }
}

/// A folder to mount as the image's home: `conf` holding a devnet's config, `certs` empty, both owned by the
/// image's user (uid 1000), which writes them.
fn home_for(devnet: &gateway::devnet::Devnet) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let conf = devnet_conf(&[devnet.rpc_url()]);
    let copied = home.path().join("conf");
    std::fs::create_dir(&copied).unwrap();
    for entry in walk(conf.path()) {
        let to = copied.join(entry.strip_prefix(conf.path()).unwrap());
        match entry.is_dir() {
            true => std::fs::create_dir_all(&to).unwrap(),
            false => drop(std::fs::copy(&entry, &to).unwrap()),
        }
    }
    std::fs::create_dir(home.path().join("certs")).unwrap();
    for entry in walk(home.path()) {
        std::os::unix::fs::chown(&entry, Some(1000), Some(1000)).unwrap();
    }
    home
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => found.extend(walk(&path)),
            false => found.push(path),
        }
    }
    found
}

/// The image's size, as buildah lists it ("103 MB", decimal units).
fn image_bytes() -> u64 {
    let images: Value = serde_json::from_str(&run(Command::new("buildah").args(["images", "--json", IMAGE]))).unwrap();
    let listed = images[0]["size"].as_str().unwrap_or_else(|| panic!("a size in {images}"));
    let (number, unit) = listed.split_once(' ').unwrap();
    let scale = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        other => panic!("unit {other} in {listed}"),
    };
    (number.parse::<f64>().unwrap() * scale) as u64
}

/// The image, built from the Containerfile, is small and runs as Hummingbot runs Gateway's: in a container on
/// the host's network, plain HTTP with DEV=true, then HTTPS with certificates `gateway certs --host gateway`
/// made into its certs volume; Hummingbot's client drives its whole session both ways, on a devnet of its own.
#[tokio::test]
async fn the_image_builds_small_and_serves_the_clients_whole_session_over_http_and_mtls() {
    if Command::new("buildah").arg("--version").output().is_err() {
        assert!(
            std::env::var("GATEWAY_REQUIRE_BUILDAH").is_err(),
            "GATEWAY_REQUIRE_BUILDAH is set and buildah is missing: apt-get install buildah debootstrap"
        );
        eprintln!("skipped: buildah is not installed (apt-get install buildah debootstrap)");
        return;
    }
    tokio::task::spawn_blocking(build_image).await.unwrap();
    let size = image_bytes();
    assert!(size < IMAGE_MAX_BYTES, "the image is {size} bytes");

    let devnet = common::devnet().await;
    let home = home_for(&devnet);
    let port = common::free_port();
    let served = Served::start(home.path(), &[("DEV", "true")], port);
    assert_eq!(served.url, format!("http://localhost:{port}"));
    let health = Served::gateway(home.path(), &[("DEV", "true")], &["health", "--port", &port.to_string()]);
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));
    client_session(&devnet, &served.url, home.path()).await;
    drop(served);

    let devnet = common::devnet().await;
    let home = home_for(&devnet);
    let made = Served::gateway(home.path(), &[], &["certs", "--host", "gateway"]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let certs = home.path().join("certs");
    let port = common::free_port();
    let served = Served::start(home.path(), &[], port);
    assert_eq!(served.url, format!("https://localhost:{port}"));
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let client = https_client_builder(&certs, Some(&certs)).resolve("gateway", addr).build().unwrap();
    let answer = client.get(format!("https://gateway:{port}/")).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let health = Served::gateway(home.path(), &[], &["health", "--port", &port.to_string()]);
    assert!(health.status.success(), "{}", String::from_utf8_lossy(&health.stderr));
    let without_certificate = https_client(&certs, None).get(format!("{}/", served.url)).send().await;
    assert!(without_certificate.is_err(), "HTTPS asks for the client's certificate");
    // Hummingbot reads its certificates from <root>/certs: the folder mounted as the image's certs volume.
    client_session(&devnet, &served.url, home.path()).await;
}
