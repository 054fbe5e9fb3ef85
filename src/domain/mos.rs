//! The MOS summary: parsed from get_mos_score, or built from live SDK samples.

use super::error::Error;
use super::json::{Field, Fields, Json};

/// Samples below this MOS count as poor.
pub const POOR_MOS: f64 = 3.5;

/// Where a summary came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MosSource {
    /// Voice Insights call metrics (`sdk_edge`), via get_mos_score.
    VoiceInsights,
    /// The Voice SDK's live per-second `sample` events.
    Sdk,
}

impl MosSource {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            MosSource::VoiceInsights => "voice-insights",
            MosSource::Sdk => "sdk",
        }
    }
}

/// A validated MOS summary: every number is finite and in range.
#[derive(Debug, Clone, PartialEq)]
pub struct MosSummary {
    /// Mean MOS, 1.0..=5.0.
    pub average: f64,
    /// Lowest MOS, 1.0..=5.0.
    pub minimum: f64,
    /// Share of samples below 3.5, 0.0..=1.0.
    pub poor_share: f64,
    /// Usable samples, at least 1.
    pub samples: u32,
    /// Where it came from.
    pub source: MosSource,
}

fn is_mos(x: f64) -> bool {
    x.is_finite() && (1.0..=5.0).contains(&x)
}

/// True for a whole number (of a range the caller has already checked).
pub fn is_whole(x: f64) -> bool {
    x == x as i64 as f64
}

/// The one rounding rule (docs/contract.md, vectors in fixtures/rounding.json,
/// the same in the Functions): half up to 2 decimals, after snapping float
/// noise to 9 decimals, so that a true tie such as (4.30 + 4.31) / 2, which
/// floats store as 4.30499999…, still rounds up. Returns hundredths.
fn cents(x: f64) -> f64 {
    // Whole nanos are exact in an f64 here, and n / 1e7 is correctly rounded,
    // so a decimal tie stays an exact .5 for the second rounding.
    ((x * 1e9).round() / 1e7).round()
}

/// Rounds to 2 decimals by the one rule (see [`cents`]).
pub fn round2(x: f64) -> f64 {
    cents(x) / 100.0
}

/// Formats a MOS as a string with exactly 2 decimals, e.g. `"4.30"`.
pub fn format2(x: f64) -> String {
    let cents = cents(x) as u32;
    let frac = cents % 100;
    let mut s = String::new();
    super::error::push_u32(&mut s, cents / 100);
    s.push_str(if frac < 10 { ".0" } else { "." });
    super::error::push_u32(&mut s, frac);
    s
}

impl MosSummary {
    /// Builds a summary, rejecting anything that is not a real MOS.
    pub fn new(
        average: f64,
        minimum: f64,
        poor_share: f64,
        samples: u32,
        source: MosSource,
    ) -> Result<Self, Error> {
        if !is_mos(average) {
            return Err(Error::InvalidMos("average is not a number in 1.0-5.0"));
        }
        if !is_mos(minimum) || minimum > average + 1e-9 {
            return Err(Error::InvalidMos("minimum is not a number in 1.0-average"));
        }
        if !(poor_share.is_finite() && (0.0..=1.0).contains(&poor_share)) {
            return Err(Error::InvalidMos("poorShare is not a fraction in 0-1"));
        }
        if samples == 0 {
            return Err(Error::InvalidMos("no samples"));
        }
        Ok(Self {
            average: round2(average),
            minimum: round2(minimum),
            poor_share: round2(poor_share),
            samples,
            source,
        })
    }

    /// Parses a get_mos_score 200 body (see docs/contract.md).
    pub fn read<J: Json>(v: &J) -> Result<Self, Error> {
        let num = |k: &'static str| v.get(k).and_then(|n| n.as_f64());
        let (Some(average), Some(minimum), Some(poor), Some(samples)) = (
            num("average"),
            num("minimum"),
            num("poorShare"),
            num("samples"),
        ) else {
            return Err(Error::BadResponse(
                "MOS summary lacks average, minimum, poorShare or samples".into(),
            ));
        };
        if !(1.0..=4e9).contains(&samples) || !is_whole(samples) {
            return Err(Error::InvalidMos("samples is not a positive integer"));
        }
        let source = match v.get("source").and_then(|s| s.as_str()).as_deref() {
            Some("sdk") => MosSource::Sdk,
            _ => MosSource::VoiceInsights,
        };
        Self::new(average, minimum, poor, samples as u32, source)
    }

    /// The summary as the MOS task's top-level `mos_score` object.
    pub fn fields(&self) -> Fields<'static> {
        vec![
            ("average", Field::Num(self.average)),
            ("minimum", Field::Num(self.minimum)),
            ("poorShare", Field::Num(self.poor_share)),
            ("samples", Field::Num(f64::from(self.samples))),
            ("source", Field::Str(self.source.as_str())),
        ]
    }
}

/// A bounded running summary of live SDK samples: constant memory per call.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LiveMos {
    count: u32,
    sum: f64,
    min: f64,
    poor: u32,
}

impl LiveMos {
    /// Adds one `sample.mos`; anything that is not a MOS is ignored.
    pub fn add(&mut self, mos: f64) {
        if !is_mos(mos) {
            return;
        }
        if self.count == 0 || mos < self.min {
            self.min = mos;
        }
        self.count = self.count.saturating_add(1);
        self.sum += mos;
        if mos < POOR_MOS {
            self.poor += 1;
        }
    }

    /// The summary, once there is at least one sample.
    pub fn summary(&self) -> Option<MosSummary> {
        if self.count == 0 {
            return None;
        }
        let n = f64::from(self.count);
        MosSummary::new(
            self.sum / n,
            self.min,
            f64::from(self.poor) / n,
            self.count,
            MosSource::Sdk,
        )
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::json::tests::{fixture, object, parse};

    #[test]
    fn rounding_follows_the_shared_vectors() {
        let vectors = fixture("rounding.json");
        let Some(list) = vectors["vectors"].as_array() else {
            panic!("fixtures/rounding.json has no vectors");
        };
        assert!(list.len() >= 10);
        for v in list {
            let x = v["x"].as_f64().unwrap();
            let want = v["round2"].as_f64().unwrap();
            let text = v["text"].as_str().unwrap();
            assert_eq!(round2(x), want, "round2({x})");
            assert_eq!(format2(x), text, "format2({x})");
        }
        // The live-SDK path and the Function agree on the issue's 3.815 case.
        assert_eq!(format2((3.81 + 3.82) / 2.0), "3.82");
    }

    #[test]
    fn parses_the_shared_fixture() {
        let s = MosSummary::read(&fixture("mos_summary.json")).unwrap();
        assert_eq!(s.average, 4.31);
        assert_eq!(s.minimum, 3.02);
        assert_eq!(s.poor_share, 0.05);
        assert_eq!(s.samples, 360);
        assert_eq!(s.source, MosSource::VoiceInsights);
    }

    #[test]
    fn rejects_nan_null_and_out_of_range() {
        for body in [
            r#"{"average":null,"minimum":3,"poorShare":0,"samples":1}"#,
            r#"{"average":5.5,"minimum":3,"poorShare":0,"samples":1}"#,
            r#"{"average":0.5,"minimum":0.5,"poorShare":0,"samples":1}"#,
            r#"{"average":4,"minimum":4.5,"poorShare":0,"samples":1}"#,
            r#"{"average":4,"minimum":3,"poorShare":2,"samples":1}"#,
            r#"{"average":4,"minimum":3,"poorShare":0,"samples":0}"#,
            r#"{"average":4,"minimum":3,"poorShare":0,"samples":1.5}"#,
            r#"{"average":"4","minimum":3,"poorShare":0,"samples":1}"#,
            r#"{"error":{"code":"not_ready"}}"#,
            r#"[]"#,
        ] {
            assert!(MosSummary::read(&parse(body)).is_err(), "{body}");
        }
        assert!(MosSummary::new(f64::NAN, 3.0, 0.0, 1, MosSource::Sdk).is_err());
        assert!(MosSummary::new(4.0, f64::INFINITY, 0.0, 1, MosSource::Sdk).is_err());
    }

    #[test]
    fn whole_numbers() {
        assert!(is_whole(5.0) && !is_whole(5.5) && is_whole(-3.0));
    }

    #[test]
    fn two_decimals() {
        assert_eq!(format2(4.3), "4.30");
        assert_eq!(format2(4.305), "4.31");
        assert_eq!(format2(1.0), "1.00");
        assert_eq!(format2(4.999), "5.00");
        assert_eq!(round2(4.30499), 4.3);
    }

    #[test]
    fn live_summary_is_bounded_and_correct() {
        let mut live = LiveMos::default();
        assert_eq!(live.summary(), None);
        for m in [4.4, 4.2, f64::NAN, 0.0, 3.0, 9.9, 4.4] {
            live.add(m);
        }
        let s = live.summary().unwrap();
        assert_eq!(s.samples, 4);
        assert_eq!(s.average, 4.0);
        assert_eq!(s.minimum, 3.0);
        assert_eq!(s.poor_share, 0.25);
        assert_eq!(s.source, MosSource::Sdk);
        assert_eq!(core::mem::size_of::<LiveMos>(), 24);
    }

    #[test]
    fn fields_round_trip() {
        let s = MosSummary::new(4.123, 3.456, 0.1234, 10, MosSource::VoiceInsights).unwrap();
        assert_eq!(MosSummary::read(&object(&s.fields())).unwrap(), s);
    }
}
