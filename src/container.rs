//! Where the gateway runs decides where it listens, as Gateway v2.16 has it: on this machine only (127.0.0.1) on
//! bare metal, on every interface (0.0.0.0) inside a container, where only the ports the user publishes reach it;
//! `GATEWAY_BIND_ADDRESS` overrides both.

use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::server::StartError;

/// The name Hummingbot's compose files and hummingbot-api give the gateway's container, which its clients reach
/// it by (`https://gateway:15888`).
pub const SERVICE_NAME: &str = "gateway";

/// Whether this process runs in a container: Docker leaves `/.dockerenv`, Podman and Buildah
/// `/run/.containerenv`.
pub fn detected() -> bool {
    in_container_at(Path::new("/"))
}

fn in_container_at(root: &Path) -> bool {
    root.join(".dockerenv").exists() || root.join("run/.containerenv").exists()
}

/// The address to listen on: the one asked for, else every interface in a container and loopback elsewhere.
pub fn bind_address(asked: Option<IpAddr>, in_container: bool) -> IpAddr {
    asked.unwrap_or(match in_container {
        true => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        false => IpAddr::V4(Ipv4Addr::LOCALHOST),
    })
}

/// Host names a plain-HTTP gateway answers besides loopback ones: in a container, its service name.
pub fn own_names(in_container: bool) -> Vec<String> {
    match in_container {
        true => vec![SERVICE_NAME.to_string()],
        false => Vec::new(),
    }
}

/// Plain HTTP has no client certificates: whoever reaches it can sign with the wallets. Outside a container it
/// binds loopback only; inside one, only what publishes its port reaches it, and the start says so.
pub fn plain_http_allowed(host: IpAddr, in_container: bool) -> Result<(), String> {
    if host.is_loopback() || in_container {
        return Ok(());
    }
    Err(format!(
        "{host}: plain HTTP (--dev, DEV=true, devnet) binds only loopback addresses outside a container, since anyone \
         who reaches it can sign with the wallets. To serve other machines, make certificates (`gateway certs`) and \
         start without --dev."
    ))
}

/// Who can reach a gateway listening on `host`, said at start.
pub fn reach(host: IpAddr, tls: bool, in_container: bool) -> &'static str {
    match (host.is_loopback(), tls, in_container) {
        (true, _, _) => "reachable from this machine only",
        (false, true, _) => "reachable from other machines, by clients holding a certificate signed by its CA",
        (false, false, true) => {
            "plain HTTP on every interface of the container: anyone who reaches the port it publishes can sign with \
             its wallets; publish it on 127.0.0.1 (e.g. 127.0.0.1:15888:15888) or share a network only with \
             Hummingbot"
        }
        (false, false, false) => "plain HTTP beyond this machine",
    }
}

/// A start's failure as the user needs it: in a container, a folder it cannot write is most often a host folder
/// mounted there that the image's user does not own.
pub fn explain(error: &StartError, in_container: bool) -> String {
    match error {
        StartError::ConfDir { source, .. } if in_container && source.kind() == std::io::ErrorKind::PermissionDenied => {
            let owner = match std::fs::metadata("/proc/self") {
                Ok(process) => format!("uid {0}): on the host, `sudo chown -R {0} <folder>`", process.uid()),
                Err(_) => "the image's user): on the host, chown the folder to that user".into(),
            };
            format!("{error}. The folder mounted there must be writable by the user the gateway runs as ({owner}")
        }
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_container_is_told_by_the_file_its_engine_leaves() {
        let root = tempfile::tempdir().unwrap();
        assert!(!in_container_at(root.path()));
        std::fs::write(root.path().join(".dockerenv"), "").unwrap();
        assert!(in_container_at(root.path()));
        let podman = tempfile::tempdir().unwrap();
        std::fs::create_dir(podman.path().join("run")).unwrap();
        std::fs::write(podman.path().join("run/.containerenv"), "engine=\"buildah\"\n").unwrap();
        assert!(in_container_at(podman.path()));
    }

    #[test]
    fn it_binds_loopback_on_bare_metal_every_interface_in_a_container_and_what_is_asked_for_either_way() {
        let asked: IpAddr = "192.168.1.5".parse().unwrap();
        assert_eq!(bind_address(None, false), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(bind_address(None, true), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(bind_address(Some(asked), false), asked);
        assert_eq!(bind_address(Some("127.0.0.1".parse().unwrap()), true), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(own_names(true), ["gateway"]);
        assert!(own_names(false).is_empty());
    }

    #[test]
    fn a_conf_dir_the_containers_user_cannot_write_is_explained_with_its_uid() {
        let denied = || StartError::ConfDir {
            path: "/home/gateway/conf".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        let uid = std::fs::metadata("/proc/self").unwrap().uid();
        assert!(
            explain(&denied(), true).ends_with(&format!("(uid {uid}): on the host, `sudo chown -R {uid} <folder>`"))
        );
        assert_eq!(explain(&denied(), false), denied().to_string());
        let missing = StartError::ConfDir {
            path: "/home/gateway/conf".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(explain(&missing, true), missing.to_string());
    }

    #[test]
    fn plain_http_beyond_loopback_only_in_a_container_and_the_start_says_who_reaches_it() {
        let every: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(plain_http_allowed("127.0.0.1".parse().unwrap(), false).is_ok());
        assert!(plain_http_allowed("::1".parse().unwrap(), false).is_ok());
        assert!(plain_http_allowed(every, false).unwrap_err().contains("gateway certs"));
        assert!(plain_http_allowed(every, true).is_ok());
        assert!(reach(every, false, true).contains("publish it on 127.0.0.1"));
        assert!(reach("127.0.0.1".parse().unwrap(), false, false).contains("this machine only"));
        assert!(reach(every, true, true).contains("certificate"));
    }
}
