//! How the core reads and writes JSON-like data without a copy layer.
//!
//! Reading goes through [`Json`], implemented by the shell for a JS value
//! (each field read in place with `Reflect.get`) and, in the native tests, by
//! `serde_json::Value`. Writing produces a flat list of [`Field`]s that the
//! shell turns into a JS object. The former `Value` enum copied every JS
//! object into Rust and back; reading in place instead measured −785 B of
//! wasm and −395 B of bundle gzip (issue #12).

/// A JSON-like value, read in place.
pub trait Json: Sized {
    /// The member `key` of an object; `None` when it is absent, `undefined`
    /// or `null`, or when this is not an object.
    fn get(&self, key: &str) -> Option<Self>;
    /// True for an object that is not an array.
    fn is_object(&self) -> bool;
    /// The string, if this is one.
    fn as_str(&self) -> Option<String>;
    /// The number, if this is a finite one.
    fn as_f64(&self) -> Option<f64>;
    /// The boolean, if this is one.
    fn as_bool(&self) -> Option<bool>;
}

/// One field of an object the core writes.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    /// `null`.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (never NaN or infinite: the core writes only checked ones).
    Num(f64),
    /// A string.
    Str(&'a str),
    /// A nested object.
    Obj(Fields<'a>),
}

/// An object the core writes, in key order.
pub type Fields<'a> = Vec<(&'static str, Field<'a>)>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    impl Json for serde_json::Value {
        fn get(&self, key: &str) -> Option<Self> {
            match self.as_object()?.get(key)? {
                serde_json::Value::Null => None,
                v => Some(v.clone()),
            }
        }
        fn is_object(&self) -> bool {
            self.is_object()
        }
        fn as_str(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn as_f64(&self) -> Option<f64> {
            self.as_f64().filter(|n| n.is_finite())
        }
        fn as_bool(&self) -> Option<bool> {
            self.as_bool()
        }
    }

    /// What the shell would build from `fields`, as serde_json.
    pub(crate) fn object(fields: &Fields) -> serde_json::Value {
        fn one(f: &Field) -> serde_json::Value {
            match f {
                Field::Null => serde_json::Value::Null,
                Field::Bool(b) => (*b).into(),
                Field::Num(n) => (*n).into(),
                Field::Str(s) => (*s).into(),
                Field::Obj(o) => object(o),
            }
        }
        serde_json::Value::Object(
            fields
                .iter()
                .map(|(k, f)| ((*k).to_owned(), one(f)))
                .collect(),
        )
    }

    /// Parses JSON text (test inputs).
    pub(crate) fn parse(s: &str) -> serde_json::Value {
        serde_json::from_str(s).expect("test JSON")
    }

    /// Reads a file under the repo's fixtures/.
    pub(crate) fn fixture(name: &str) -> serde_json::Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/").to_owned() + name;
        parse(&std::fs::read_to_string(&path).expect("fixture file"))
    }

    #[test]
    fn null_reads_as_absent() {
        let v = parse(r#"{"a":{"b":{"c":"d"}},"n":1.5,"z":null,"arr":[1]}"#);
        let b = Json::get(&v, "a").and_then(|a| Json::get(&a, "b"));
        assert_eq!(
            b.and_then(|b| Json::get(&b, "c"))
                .and_then(|c| Json::as_str(&c)),
            Some("d".into())
        );
        assert_eq!(Json::get(&v, "x"), None);
        assert_eq!(Json::get(&v, "z"), None);
        assert_eq!(Json::get(&v, "n").and_then(|v| Json::as_f64(&v)), Some(1.5));
        assert!(!Json::is_object(&Json::get(&v, "arr").unwrap_or_default()));
        assert!(Json::is_object(&v));
    }

    #[test]
    fn fields_become_an_object_in_order() {
        let f: Fields = vec![
            ("s", Field::Str("x")),
            ("o", Field::Obj(vec![("b", Field::Bool(true))])),
            ("n", Field::Null),
        ];
        assert_eq!(object(&f), parse(r#"{"s":"x","o":{"b":true},"n":null}"#));
    }
}
