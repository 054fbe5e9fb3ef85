//! Settings, with documented defaults, validated once at start-up.
//!
//! Sources, highest first: `manager.serviceConfiguration.ui_attributes
//! .custom_data.mos_score.<key>`, then the plugin's build-time
//! `FLEX_APP_FUNCTIONS_BASE_URL` (base URL only), then the defaults below.

use super::error::Error;
use super::json::Json;
use super::mos::is_whole;

/// Voice Insights needs about 100 s after a call ends to process it.
pub const DEFAULT_DELAY_MS: u32 = 100_000;
/// `conversation_attribute_5` / `conversation_measure_5`.
pub const DEFAULT_SLOT: u8 = 5;
/// Give up (or fall back to the SDK MOS) 15 min after the due time.
pub const DEFAULT_DEADLINE_MS: u32 = 900_000;
/// The largest `delaySeconds` accepted.
pub const MAX_DELAY_S: f64 = 3600.0;
/// The largest `deadlineSeconds` accepted.
pub const MAX_DEADLINE_S: f64 = 86_400.0;
/// First retry after 10 s, doubling.
pub const DEFAULT_RETRY_BASE_MS: u32 = 10_000;

/// Log verbosity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Everything, including skipped tasks.
    Debug,
    /// One line per completed MOS task (default).
    Info,
    /// Problems that lost nothing.
    Warn,
    /// Problems that did.
    Error,
}

impl LogLevel {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "debug" => Some(LogLevel::Debug),
            "info" => Some(LogLevel::Info),
            "warn" => Some(LogLevel::Warn),
            "error" => Some(LogLevel::Error),
            _ => None,
        }
    }
}

/// Where the MOS comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Voice Insights (needs Advanced Features); falls back to the SDK.
    Insights,
    /// The Voice SDK's live samples only; no 100 s wait.
    Sdk,
    /// Server-side mode (docs/server-mode.md): the `mos_events` Function
    /// writes the MOS from Event Streams; the plugin only links the
    /// conversation, with no timer and no request.
    Server,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The Functions service base URL, without a trailing slash.
    pub base_url: String,
    /// Wait after wrap-up before asking for the MOS.
    pub delay_ms: u32,
    /// Which `conversation_attribute_N` / `conversation_measure_N` to write.
    pub slot: u8,
    /// Lowest level that is logged.
    pub log_level: LogLevel,
    /// Where the MOS comes from.
    pub source: Source,
    /// Retries stop this long after the due time.
    pub deadline_ms: u32,
    /// The first retry delay; later ones double, capped.
    pub retry_base_ms: u32,
}

fn bad(key: &'static str, reason: &'static str) -> Error {
    Error::Config { key, reason }
}

fn seconds<J: Json>(
    custom: Option<&J>,
    key: &'static str,
    max_s: f64,
    default: u32,
) -> Result<u32, Error> {
    match custom.and_then(|c| c.get(key)) {
        None => Ok(default),
        Some(v) => match v.as_f64() {
            Some(s) if (0.0..=max_s).contains(&s) => Ok((s * 1000.0).round() as u32),
            _ => Err(bad(key, "must be a number of seconds in range")),
        },
    }
}

fn valid_base_url(url: &str) -> bool {
    let (rest, loopback_only) = if let Some(r) = url.strip_prefix("https://") {
        (r, false)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, true)
    } else {
        return false;
    };
    // Printable ASCII only (an international host is written in punycode).
    // Bytes, not chars: no Unicode tables in the wasm, and nothing can panic.
    let rest = rest.as_bytes();
    if rest.iter().any(|b| !b.is_ascii_graphic()) {
        return false;
    }
    // Host and port, up to the first '/', '?' or '#'.
    let end = rest.iter().position(|b| matches!(b, b'/' | b'?' | b'#'));
    let authority = rest.get(..end.unwrap_or(rest.len())).unwrap_or_default();
    if authority.is_empty() {
        return false;
    }
    if !loopback_only {
        return true;
    }
    let host_end = if authority.first() == Some(&b'[') {
        authority.iter().position(|b| *b == b']').map(|i| i + 1)
    } else {
        authority.iter().position(|b| *b == b':')
    };
    // Nothing but a port may follow the host.
    let (host, port) = authority.split_at(host_end.unwrap_or(authority.len()));
    matches!(host, b"localhost" | b"127.0.0.1" | b"[::1]")
        && matches!(port.first(), None | Some(b':'))
}

impl Config {
    /// Resolves and validates the configuration.
    ///
    /// `env_base_url` is the build-time `FLEX_APP_FUNCTIONS_BASE_URL`;
    /// `custom` is `custom_data.mos_score` (absent or `null` is fine).
    pub fn resolve<J: Json>(
        env_base_url: Option<&str>,
        custom: Option<&J>,
    ) -> Result<Config, Error> {
        if custom.is_some_and(|c| !c.is_object()) {
            return Err(bad("custom_data.mos_score", "must be an object"));
        }
        let get = |key| custom.and_then(|c| c.get(key));
        let source = match get("source").map(|v| v.as_str()) {
            None => Source::Insights,
            Some(Some(s)) if s == "insights" => Source::Insights,
            Some(Some(s)) if s == "sdk" => Source::Sdk,
            Some(Some(s)) if s == "server" => Source::Server,
            Some(_) => return Err(bad("source", "must be \"insights\", \"sdk\" or \"server\"")),
        };
        let base = match get("functionsBaseUrl") {
            None => env_base_url.unwrap_or("").to_owned(),
            Some(v) => v
                .as_str()
                .ok_or_else(|| bad("functionsBaseUrl", "must be a string"))?,
        };
        let mut base = base.trim_ascii();
        while let Some(b) = base.strip_suffix('/') {
            base = b;
        }
        if base.is_empty() && source == Source::Server {
            // Server mode sends no request: no Functions URL needed.
        } else if base.is_empty() {
            return Err(bad(
                "functionsBaseUrl",
                "is not set (FLEX_APP_FUNCTIONS_BASE_URL or custom_data.mos_score.functionsBaseUrl)",
            ));
        }
        if !base.is_empty() && !valid_base_url(base) {
            return Err(bad(
                "functionsBaseUrl",
                "must be an https:// URL (or http://localhost for local runs)",
            ));
        }
        let slot = match get("attributeSlot") {
            None => DEFAULT_SLOT,
            Some(v) => match v.as_f64() {
                Some(n) if (1.0..=10.0).contains(&n) && is_whole(n) => n as u8,
                _ => return Err(bad("attributeSlot", "must be an integer from 1 to 10")),
            },
        };
        let log_level = match get("logLevel") {
            None => LogLevel::Info,
            Some(v) => v
                .as_str()
                .as_deref()
                .and_then(LogLevel::parse)
                .ok_or_else(|| bad("logLevel", "must be one of debug, info, warn, error"))?,
        };
        let retry_base_ms = seconds(custom, "retryBaseSeconds", 600.0, DEFAULT_RETRY_BASE_MS)?;
        if retry_base_ms == 0 {
            return Err(bad("retryBaseSeconds", "must be more than 0"));
        }
        Ok(Config {
            base_url: base.to_owned(),
            delay_ms: seconds(custom, "delaySeconds", MAX_DELAY_S, DEFAULT_DELAY_MS)?,
            slot,
            log_level,
            source,
            deadline_ms: seconds(
                custom,
                "deadlineSeconds",
                MAX_DEADLINE_S,
                DEFAULT_DEADLINE_MS,
            )?,
            retry_base_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::json::tests::parse;

    const URL: &str = "https://mos-1234-dev.twil.io";

    /// No `custom_data.mos_score` at all.
    fn env_only(url: Option<&str>) -> Result<Config, Error> {
        Config::resolve::<serde_json::Value>(url, None)
    }

    #[test]
    fn defaults_need_only_the_env_url() {
        let c = env_only(Some(URL)).unwrap();
        assert_eq!(c.delay_ms, 100_000, "the default delay is 100 s");
        assert_eq!(c.slot, 5);
        assert_eq!(c.log_level, LogLevel::Info);
        assert_eq!(c.source, Source::Insights);
        assert_eq!(c.deadline_ms, 15 * 60 * 1000);
        assert_eq!(c.base_url, URL);
        assert_eq!(DEFAULT_DELAY_MS, 100_000);
    }

    #[test]
    fn custom_data_overrides_everything() {
        let custom = parse(
            r#"{"functionsBaseUrl":"http://localhost:3000/","delaySeconds":0.25,
                "attributeSlot":7,"logLevel":"debug","source":"sdk","deadlineSeconds":60,
                "retryBaseSeconds":0.01}"#,
        );
        let c = Config::resolve(Some(URL), Some(&custom)).unwrap();
        assert_eq!(c.base_url, "http://localhost:3000");
        assert_eq!(c.delay_ms, 250);
        assert_eq!(c.slot, 7);
        assert_eq!(c.log_level, LogLevel::Debug);
        assert_eq!(c.source, Source::Sdk);
        assert_eq!(c.deadline_ms, 60_000);
        assert_eq!(c.retry_base_ms, 10);
    }

    #[test]
    fn server_mode_needs_no_functions_url() {
        let custom = parse(r#"{"source":"server"}"#);
        let c = Config::resolve(None, Some(&custom)).unwrap();
        assert_eq!(c.source, Source::Server);
        assert_eq!(c.base_url, "");
        // Every other source still needs it.
        assert!(Config::resolve(None, Some(&parse(r#"{"source":"sdk"}"#))).is_err());
    }

    #[test]
    fn rejects_bad_values_naming_the_key() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("{}", None, "functionsBaseUrl"),
            ("{}", Some("   "), "functionsBaseUrl"),
            ("{}", Some("http://mos.example.com"), "functionsBaseUrl"),
            ("{}", Some("ftp://x"), "functionsBaseUrl"),
            ("{}", Some("https://"), "functionsBaseUrl"),
            (r#"{"functionsBaseUrl":5}"#, Some(URL), "functionsBaseUrl"),
            (r#"{"delaySeconds":-1}"#, Some(URL), "delaySeconds"),
            (r#"{"delaySeconds":"100"}"#, Some(URL), "delaySeconds"),
            (r#"{"delaySeconds":3601}"#, Some(URL), "delaySeconds"),
            (r#"{"attributeSlot":0}"#, Some(URL), "attributeSlot"),
            (r#"{"attributeSlot":11}"#, Some(URL), "attributeSlot"),
            (r#"{"attributeSlot":2.5}"#, Some(URL), "attributeSlot"),
            (r#"{"logLevel":"loud"}"#, Some(URL), "logLevel"),
            (r#"{"source":"pstn"}"#, Some(URL), "source"),
            (r#"{"retryBaseSeconds":0}"#, Some(URL), "retryBaseSeconds"),
            (r#""text""#, Some(URL), "custom_data.mos_score"),
        ];
        for (custom, env, key) in cases {
            let custom = parse(custom);
            match Config::resolve(*env, Some(&custom)) {
                Err(Error::Config { key: k, .. }) => assert_eq!(k, *key, "{custom:?} {env:?}"),
                other => panic!("{custom:?} {env:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn loopback_http_is_allowed_for_local_runs() {
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1:41234/",
            "http://[::1]:8080",
        ] {
            assert!(env_only(Some(ok)).is_ok(), "{ok}");
        }
        assert!(env_only(Some("http://localhost.evil.com")).is_err());
        assert!(env_only(Some("http://localhost:3000/")).is_ok());
        assert!(env_only(Some("http://[::1]x")).is_err());
        for bad in [
            "https://a b.twil.io",
            "https://mös.twil.io",
            "https://x.twil.io/\u{a0}",
        ] {
            assert!(env_only(Some(bad)).is_err(), "{bad}");
        }
    }
}
