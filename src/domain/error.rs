//! One error type for the whole flow. It becomes a `JsError` (or a log line)
//! only at the wasm boundary.

use std::fmt;

/// Everything that can go wrong between a wrap-up and the MOS task.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A SID did not match its documented pattern.
    InvalidSid {
        /// What was expected, e.g. `CallSid (CA + 32 hex)`.
        expected: &'static str,
        /// What was found (SIDs are not secrets).
        got: String,
    },
    /// A configuration value is missing or out of range.
    Config {
        /// The `custom_data.mos_score` key (or env var) concerned.
        key: &'static str,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The backend answered with a non-2xx status.
    Backend {
        /// HTTP status.
        status: u16,
        /// `error.code` from the JSON body (empty when absent).
        code: String,
        /// `error.message` from the JSON body.
        message: String,
    },
    /// The request never got an HTTP answer.
    Network(String),
    /// A 2xx answer whose body was not what the contract says.
    BadResponse(String),
    /// Flex had no token to send.
    NoToken,
    /// Flex's `setAttributes` rejected.
    SetAttributes(String),
    /// A MOS value was not a finite number in 1.0..=5.0, or there was none.
    InvalidMos(&'static str),
}

/// How the job should react to an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Worth another attempt later (not ready, 429, 5xx, network, token).
    Transient,
    /// Voice Insights cannot answer for this account: use the live SDK MOS.
    NeedsFallback,
    /// Retrying cannot help (400, unknown call, another worker's task).
    Permanent,
    /// create_mos_score_task refused get_mos_score's proof: fetch again.
    Refetch,
}

impl Error {
    /// Classifies the error for the retry policy.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Backend { status, code, .. } => match (*status, code.as_str()) {
                (403, "advanced_features_required") => ErrorClass::NeedsFallback,
                (403, "not_your_task") => ErrorClass::Permanent,
                (400, "invalid_proof") => ErrorClass::Refetch,
                (403, _) | (404, "not_ready") | (408, _) | (429, _) => ErrorClass::Transient,
                (s, _) if s >= 500 => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            Error::Network(_) | Error::NoToken => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        }
    }

    /// True for the backend's "no usable sample yet" answer.
    pub fn is_not_ready(&self) -> bool {
        matches!(self, Error::Backend { code, .. } if code == "not_ready")
    }
}

/// Appends a decimal integer without `core::fmt` (keeps the wasm small).
pub fn push_u32(out: &mut String, n: u32) {
    if n >= 10 {
        push_u32(out, n / 10);
    }
    // A &str per digit: `push(char)` would link UTF-8 encoding.
    let d = (n % 10) as usize;
    out.push_str("0123456789".get(d..=d).unwrap_or_default());
}

impl Error {
    /// The human-readable message, built without `core::fmt`.
    pub fn message(&self) -> String {
        let mut m = String::new();
        let mut put = |parts: &[&str]| parts.iter().for_each(|p| m.push_str(p));
        match self {
            Error::InvalidSid { expected, got } => {
                put(&["invalid SID \"", got, "\": expected ", expected])
            }
            Error::Config { key, reason } => put(&["invalid config ", key, ": ", reason]),
            Error::Backend {
                status,
                code,
                message,
            } => {
                put(&["backend answered "]);
                push_u32(&mut m, u32::from(*status));
                for p in [" ", code.as_str(), ": ", message.as_str()] {
                    m.push_str(p);
                }
            }
            Error::Network(e) => put(&["network error: ", e]),
            Error::BadResponse(e) => put(&["unexpected backend response: ", e]),
            Error::NoToken => put(&["no Flex token available (manager.user.token)"]),
            Error::SetAttributes(e) => put(&["task.setAttributes failed: ", e]),
            Error::InvalidMos(e) => put(&["invalid MOS: ", e]),
        }
        m
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(status: u16, code: &str) -> Error {
        Error::Backend {
            status,
            code: code.into(),
            message: String::new(),
        }
    }

    #[test]
    fn classes_follow_the_contract() {
        assert_eq!(backend(404, "not_ready").class(), ErrorClass::Transient);
        assert_eq!(backend(429, "rate_limited").class(), ErrorClass::Transient);
        assert_eq!(backend(502, "twilio_error").class(), ErrorClass::Transient);
        assert_eq!(backend(500, "").class(), ErrorClass::Transient);
        assert_eq!(backend(403, "invalid_token").class(), ErrorClass::Transient);
        assert_eq!(
            backend(403, "advanced_features_required").class(),
            ErrorClass::NeedsFallback
        );
        assert_eq!(
            backend(400, "invalid_parameter").class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            backend(404, "call_not_found").class(),
            ErrorClass::Permanent
        );
        assert_eq!(
            backend(503, "auth_unavailable").class(),
            ErrorClass::Transient
        );
        assert_eq!(backend(403, "not_your_task").class(), ErrorClass::Permanent);
        assert_eq!(backend(400, "invalid_proof").class(), ErrorClass::Refetch);
        assert_eq!(Error::Network("x".into()).class(), ErrorClass::Transient);
        assert_eq!(
            Error::BadResponse("x".into()).class(),
            ErrorClass::Permanent
        );
        assert!(backend(404, "not_ready").is_not_ready());
        assert!(!backend(404, "call_not_found").is_not_ready());
    }

    #[test]
    fn integers_without_fmt() {
        for n in [0, 7, 10, 404, 4_294_967_295] {
            let mut s = String::new();
            push_u32(&mut s, n);
            assert_eq!(s, n.to_string());
        }
    }

    #[test]
    fn messages_are_readable() {
        let e = backend(502, "twilio_error");
        assert_eq!(e.to_string(), "backend answered 502 twilio_error: ");
    }
}
