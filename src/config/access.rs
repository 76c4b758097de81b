//! Who may call beyond the Host and Origin rules, as Gateway v2.16 reads it from the environment at start:
//! `GATEWAY_REQUIRE_AUTH` and its key, `GATEWAY_AUTH_FAIL_MAX` and `GATEWAY_AUTH_FAIL_WINDOW_MS`,
//! `GATEWAY_ENABLE_DOCS`. The HTTP layer (`http::guard`) applies them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where a generated key is kept, in the conf dir (mode 0600).
pub const API_KEY_FILE: &str = "api-key";
const DEFAULT_FAIL_MAX: u32 = 10;
const DEFAULT_FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);

/// What a caller may do; each role may do all the one before it may. A client certificate names its role in its
/// subject's OU (`gateway certs --role`), a bearer key by the variable it is given in; a certificate or key that
/// names none is `Admin`, so the certificates Hummingbot already holds keep every power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Quotes, balances, pool and position info, the config and lists.
    Read,
    /// Also swaps, liquidity, approvals to connector contracts, wrapping, orders, cancel and speed-up.
    Trade,
    /// Also config writes, wallets, token and pool lists, `/wallet/send` and restart.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Read, Role::Trade, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Read => "read",
            Role::Trade => "trade",
            Role::Admin => "admin",
        }
    }

    pub fn named(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The bearer keys of the narrower roles, by the variable each is given in.
pub const ROLE_KEY_VARIABLES: [(&str, Role); 2] =
    [("GATEWAY_READ_API_KEY", Role::Read), ("GATEWAY_TRADE_API_KEY", Role::Trade)];

/// The access settings read at start.
#[derive(Debug, Clone, Default)]
pub struct AccessSettings {
    /// The bearer key every route but `GET /` needs; none: no key is asked for.
    pub api_key: Option<ApiKey>,
    /// Keys that admit with a narrower role, besides `api_key` (which is `admin`).
    pub role_keys: Vec<(ApiKey, Role)>,
    pub fail_max: u32,
    pub fail_window: Duration,
    /// `/docs` and `/openapi.json` for every peer, not only loopback ones.
    pub docs_for_everyone: bool,
}

/// A bearer key: never printed, never logged.
#[derive(Clone)]
pub struct ApiKey(Arc<str>);

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(…)")
    }
}

impl ApiKey {
    pub fn new(key: &str) -> ApiKey {
        ApiKey(key.into())
    }

    /// Whether `offered` is this key, in time that does not depend on where they differ.
    pub fn admits(&self, offered: &[u8]) -> bool {
        let key = self.0.as_bytes();
        if key.len() != offered.len() {
            return false;
        }
        let differing = key.iter().zip(offered).fold(0u8, |acc, (a, b)| std::hint::black_box(acc | (a ^ b)));
        differing == 0
    }
}

/// Where the key came from, for the start message (never the key itself).
#[derive(Debug, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
}

impl AccessSettings {
    /// The settings from `var` (the process environment in `gateway start`); a key generated into `conf_dir` when
    /// one is required and none is given.
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        conf_dir: &Path,
    ) -> Result<(AccessSettings, Option<KeySource>), String> {
        let flag = |name: &str| match var(name).as_deref().map(str::trim) {
            None | Some("") => Ok(false),
            Some(value) if value.eq_ignore_ascii_case("true") || value == "1" => Ok(true),
            Some(value) if value.eq_ignore_ascii_case("false") || value == "0" => Ok(false),
            Some(value) => Err(format!("{name}={value}: must be true or false")),
        };
        let number = |name: &str, default: u64| match var(name).as_deref().map(str::trim) {
            None | Some("") => Ok(default),
            Some(value) => value
                .parse::<u64>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{name}={value}: must be a positive whole number")),
        };
        let fail_max = number("GATEWAY_AUTH_FAIL_MAX", DEFAULT_FAIL_MAX.into())?.min(u32::MAX.into()) as u32;
        let fail_window =
            Duration::from_millis(number("GATEWAY_AUTH_FAIL_WINDOW_MS", DEFAULT_FAIL_WINDOW.as_millis() as u64)?);
        let role_keys: Vec<(ApiKey, Role)> = ROLE_KEY_VARIABLES
            .into_iter()
            .filter_map(|(name, role)| {
                let key = var(name).map(|key| key.trim().to_string()).filter(|key| !key.is_empty())?;
                Some((ApiKey(key.into()), role))
            })
            .collect();
        let (api_key, source) = match flag("GATEWAY_REQUIRE_AUTH")? {
            false if !role_keys.is_empty() => {
                return Err(format!(
                    "{} need GATEWAY_REQUIRE_AUTH=true",
                    ROLE_KEY_VARIABLES.map(|(name, _)| name).join(" and ")
                ));
            }
            false => (None, None),
            true => {
                let (key, source) = key(var("GATEWAY_API_KEY"), conf_dir)?;
                (Some(key), Some(source))
            }
        };
        if let Some(admin) = &api_key
            && role_keys.iter().any(|(key, _)| key.admits(admin.0.as_bytes()))
        {
            return Err("each role's key must differ from GATEWAY_API_KEY".into());
        }
        let docs_for_everyone = flag("GATEWAY_ENABLE_DOCS")?;
        let settings = AccessSettings { api_key, role_keys, fail_max, fail_window, docs_for_everyone };
        Ok((settings, source))
    }
}

/// The key from the environment, else from `<conf>/api-key`, else a new one written there readable by the owner
/// alone.
fn key(from_env: Option<String>, conf_dir: &Path) -> Result<(ApiKey, KeySource), String> {
    if let Some(key) = from_env.map(|key| key.trim().to_string()).filter(|key| !key.is_empty()) {
        return Ok((ApiKey(key.into()), KeySource::Environment));
    }
    let path = conf_dir.join(API_KEY_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok((ApiKey(text.trim().into()), KeySource::File(path))),
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("{}: {error}", path.display())),
    }
    let key = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    // A new file is made as a temporary one, readable by its owner alone (0600), and renamed into place.
    crate::files::write_atomically(&path, key.as_bytes()).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok((ApiKey(key.into()), KeySource::Generated(path)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)], conf: &Path) -> Result<(AccessSettings, Option<KeySource>), String> {
        let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        AccessSettings::from_vars(|name| vars.get(name).cloned(), conf)
    }

    #[test]
    fn no_key_is_asked_for_unless_required_and_a_required_one_comes_from_the_environment_or_the_conf_dir() {
        let conf = tempfile::tempdir().unwrap();
        let (plain, source) = settings(&[], conf.path()).unwrap();
        assert!(plain.api_key.is_none() && source.is_none() && !plain.docs_for_everyone);
        assert_eq!((plain.fail_max, plain.fail_window), (10, Duration::from_secs(900)));
        let (given, source) =
            settings(&[("GATEWAY_REQUIRE_AUTH", "true"), ("GATEWAY_API_KEY", "k3y")], conf.path()).unwrap();
        assert!(given.api_key.unwrap().admits(b"k3y"));
        assert_eq!(source, Some(KeySource::Environment));
        assert!(!conf.path().join(API_KEY_FILE).exists(), "nothing written when the key is given");
        let (generated, source) = settings(&[("GATEWAY_REQUIRE_AUTH", "TRUE")], conf.path()).unwrap();
        let path = conf.path().join(API_KEY_FILE);
        assert_eq!(source, Some(KeySource::Generated(path.clone())));
        let written = std::fs::read_to_string(&path).unwrap();
        assert_eq!(written.len(), 64);
        assert!(generated.api_key.unwrap().admits(written.as_bytes()));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let (again, source) = settings(&[("GATEWAY_REQUIRE_AUTH", "1")], conf.path()).unwrap();
        assert_eq!(source, Some(KeySource::File(path)));
        let key = again.api_key.unwrap();
        assert!(key.admits(written.as_bytes()), "the same key at the next start");
        assert!(!format!("{key:?}").contains(&written), "a key never prints");
    }

    #[test]
    fn bad_settings_are_refused_naming_the_variable() {
        let conf = tempfile::tempdir().unwrap();
        for (vars, named) in [
            (vec![("GATEWAY_REQUIRE_AUTH", "yes please")], "GATEWAY_REQUIRE_AUTH"),
            (vec![("GATEWAY_AUTH_FAIL_MAX", "0")], "GATEWAY_AUTH_FAIL_MAX"),
            (vec![("GATEWAY_AUTH_FAIL_WINDOW_MS", "soon")], "GATEWAY_AUTH_FAIL_WINDOW_MS"),
            (vec![("GATEWAY_ENABLE_DOCS", "maybe")], "GATEWAY_ENABLE_DOCS"),
        ] {
            let refused = settings(&vars, conf.path()).expect_err(named);
            assert!(refused.starts_with(named), "{refused}");
        }
    }

    #[test]
    fn keys_are_compared_whole() {
        let key = ApiKey("abcdef".into());
        assert!(key.admits(b"abcdef"));
        for offered in [&b"abcdeg"[..], b"bbcdef", b"abcde", b"abcdefg", b""] {
            assert!(!key.admits(offered));
        }
    }
}
