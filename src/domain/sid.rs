//! Twilio SIDs that validate themselves when parsed.

use super::error::Error;

fn is_sid(prefix: &str, s: &str) -> bool {
    s.len() == 34 && s.starts_with(prefix) && s.bytes().skip(2).all(|b| b.is_ascii_hexdigit())
}

/// At most the first 64 bytes of `s`, cut on a char boundary.
fn prefix64(s: &str) -> &str {
    let mut n = s.len().min(64);
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    s.get(..n).unwrap_or_default()
}

macro_rules! sid_type {
    ($name:ident, $prefix:literal, $expected:literal, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates (`^
            #[doc = $prefix]
            /// [0-9a-fA-F]{32}$`).
            pub fn parse(s: &str) -> Result<Self, Error> {
                if is_sid($prefix, s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err(Error::InvalidSid {
                        expected: $expected,
                        got: prefix64(s).to_owned(),
                    })
                }
            }

            /// The SID as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

sid_type!(
    CallSid,
    "CA",
    "a CallSid (CA + 32 hex digits)",
    "A Programmable Voice call SID (`CA…`)."
);
sid_type!(
    TaskSid,
    "WT",
    "a TaskSid (WT + 32 hex digits)",
    "A TaskRouter task SID (`WT…`); not the reservation (`WR…`)."
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_sids() {
        assert!(CallSid::parse("CA0123456789abcdefABCDEF0123456789").is_ok());
        for bad in [
            "",
            "CA",
            "CA0123456789abcdef0123456789abcde",   // 33
            "CA0123456789abcdef0123456789abcdef0", // 35
            "WT0123456789abcdef0123456789abcdef",
            "CA0123456789abcdef0123456789abcdeg",
            "ca0123456789abcdef0123456789abcdef",
            "CA0123456789abcdef0123456789abcdé",
        ] {
            let err = CallSid::parse(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidSid { .. }), "{bad}");
        }
    }

    #[test]
    fn task_sids_are_not_reservations() {
        assert!(TaskSid::parse("WT0123456789abcdef0123456789abcdef").is_ok());
        assert!(TaskSid::parse("WR0123456789abcdef0123456789abcdef").is_err());
    }

    #[test]
    fn error_names_what_was_wrong() {
        let e = TaskSid::parse("WRnope").unwrap_err().to_string();
        assert!(e.contains("WRnope") && e.contains("TaskSid"), "{e}");
        // A long input is cut to 64 bytes, on a char boundary.
        let long = "é".repeat(40);
        let Err(Error::InvalidSid { got, .. }) = CallSid::parse(&long) else {
            panic!("invalid")
        };
        assert_eq!(got, "é".repeat(32));
    }
}
