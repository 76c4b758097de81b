//! Who may call: a plain-HTTP gateway (`--dev`) answers only the Host names of this machine (and those the config
//! lists), so a web page cannot reach it by pointing its own name at 127.0.0.1 (DNS rebinding); and a browser may
//! call only from the gateway's own pages or an origin the config allows (`corsOrigins`).

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};

use crate::config::Config;
use crate::http::error::{ApiError, ErrorCode};

/// Why a request is refused, if it is. `config` (for `allowedHosts`, applied at once) is read only when the request
/// is not plainly fine (a loopback Host and no Origin, as every bot and curl call is); `cors_origins` are those
/// read at start, lowercased, as the CORS answers use them.
pub fn refusal(
    headers: &HeaderMap,
    authority: Option<&str>,
    plain_http: bool,
    own_names: &[String],
    cors_origins: &[String],
    config: impl FnOnce() -> Arc<Config>,
) -> Option<ApiError> {
    let host = headers.get(header::HOST).and_then(|host| host.to_str().ok()).or(authority);
    let name = host.map(host_name).unwrap_or_default();
    let loopback = matches!(name.as_str(), "localhost" | "127.0.0.1" | "[::1]")
        || own_names.iter().any(|own| own.eq_ignore_ascii_case(&name));
    let origin = headers.get(header::ORIGIN);
    // Browsers mark every request a page on another site makes, a GET without an Origin (an image, a link) too.
    let cross_site = headers.get(SEC_FETCH_SITE).is_some_and(|site| site == "cross-site");
    if (loopback || !plain_http) && origin.is_none() && !cross_site {
        return None;
    }
    if plain_http {
        let config = config();
        let allowed = loopback || config.server.allowed_hosts.iter().any(|allowed| allowed.eq_ignore_ascii_case(&name));
        if !allowed {
            let answered: Vec<&str> =
                ["localhost", "127.0.0.1", "[::1]"].into_iter().chain(own_names.iter().map(String::as_str)).collect();
            return Some(
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Host {} is not one this gateway answers over plain HTTP ({}, and server.yml allowedHosts); \
                         if you reach it by that name on this machine, add it there",
                        chains::quoted(&name),
                        answered.join(", ")
                    ),
                )
                .with_code(ErrorCode::HostNotAllowed),
            );
        }
    }
    let Some(origin) = origin else {
        return cross_site.then(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "a page on another site made this request (Sec-Fetch-Site: cross-site); pages may call the gateway \
                 only from an origin server.yml corsOrigins lists",
            )
            .with_code(ErrorCode::OriginNotAllowed)
        });
    };
    let origin = origin.to_str().unwrap_or("null");
    let same = host.is_some_and(|host| {
        origin.split_once("://").is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
    });
    if same || cors_origins.iter().any(|allowed| allowed.eq_ignore_ascii_case(origin)) {
        return None;
    }
    Some(
        ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "requests from the web page at {} are refused; allow that origin in server.yml corsOrigins",
                chains::quoted(origin)
            ),
        )
        .with_code(ErrorCode::OriginNotAllowed),
    )
}

const SEC_FETCH_SITE: header::HeaderName = header::HeaderName::from_static("sec-fetch-site");

/// A Host header's name, without the port, lowercased.
fn host_name(host: &str) -> String {
    let host = host.trim();
    let name = match host.strip_prefix('[') {
        Some(bracketed) => match bracketed.split_once(']') {
            Some((inside, rest))
                if rest.is_empty() || rest.strip_prefix(':').is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())) =>
            {
                format!("[{inside}]")
            }
            _ => host.to_string(),
        },
        None => host
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
            .to_string(),
    };
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(allowed_hosts: &[&str]) -> Arc<Config> {
        let dir = tempfile::TempDir::new().unwrap();
        crate::config::install_templates(dir.path()).unwrap();
        let config = Config::load(dir.path()).unwrap();
        Arc::new(config.update("server", "allowedHosts", serde_json::json!(allowed_hosts)).unwrap())
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap())).collect()
    }

    #[test]
    fn plain_http_answers_loopback_names_and_listed_ones_only() {
        let config = server(&["gateway"]);
        for host in ["localhost", "localhost:15888", "127.0.0.1:15888", "[::1]:15888", "LOCALHOST", "gateway:15888"] {
            assert!(refusal(&headers(&[("host", host)]), None, true, &[], &[], || config.clone()).is_none(), "{host}");
        }
        for host in ["evil.example", "evil.example:15888", "127.0.0.1.evil.example", "localhost.evil", "", "[::1]evil"]
        {
            let refused = refusal(&headers(&[("host", host)]), None, true, &[], &[], || config.clone()).expect(host);
            assert_eq!(refused.status(), StatusCode::FORBIDDEN);
            assert!(refused.message().contains("allowedHosts"), "{}", refused.message());
        }
        assert!(
            refusal(&headers(&[("host", "evil.example")]), None, false, &[], &[], || config.clone()).is_none(),
            "TLS: certificates decide"
        );
        // In a container, its service name is its own: answered without being listed.
        let unlisted = server(&[]);
        let service = headers(&[("host", "gateway:15888")]);
        assert!(refusal(&service, None, true, &[], &[], || unlisted.clone()).is_some());
        assert!(refusal(&service, None, true, &["gateway".into()], &[], || unlisted.clone()).is_none());
    }

    #[test]
    fn browsers_may_call_from_the_gateways_own_pages_and_listed_origins() {
        let config = server(&[]);
        let origins = ["https://dashboard.example".to_string()];
        let same = headers(&[("host", "127.0.0.1:15888"), ("origin", "http://127.0.0.1:15888")]);
        assert!(refusal(&same, None, true, &[], &origins, || config.clone()).is_none());
        let listed = headers(&[("host", "127.0.0.1:15888"), ("origin", "https://dashboard.example")]);
        assert!(refusal(&listed, None, true, &[], &origins, || config.clone()).is_none());
        for origin in ["http://evil.example", "null", "http://127.0.0.1:9999"] {
            let foreign = headers(&[("host", "127.0.0.1:15888"), ("origin", origin)]);
            let refused = refusal(&foreign, None, true, &[], &origins, || config.clone()).expect(origin);
            assert!(refused.message().contains("corsOrigins"), "{}", refused.message());
        }
        assert!(
            refusal(&headers(&[("host", "localhost")]), None, true, &[], &origins, || config.clone()).is_none(),
            "no Origin: not a browser"
        );
    }
}
