//! A small JSON value, so the core can merge task attributes without pulling
//! serde_json into the wasm. Objects keep their key order.

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null` (and JS `undefined`).
    Null,
    /// A boolean.
    Bool(bool),
    /// A number. Never NaN or infinite when built by the core.
    Num(f64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Value>),
    /// An object, in insertion order.
    Obj(Map),
}

/// An insertion-ordered JSON object. Equality ignores key order, as JSON does.
#[derive(Debug, Clone, Default)]
pub struct Map(Vec<(String, Value)>);

impl PartialEq for Map {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Map {
    /// An empty object.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Sets `key`, replacing in place (keeping its position) or appending.
    pub fn insert(&mut self, key: &str, value: Value) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    /// The object under `key`, created (or replacing a non-object) if needed.
    pub fn object_mut(&mut self, key: &str) -> &mut Map {
        if !self.0.iter().any(|(k, _)| k == key) {
            self.0.push((key.to_owned(), Value::Obj(Map::new())));
        }
        let slot = self
            .0
            .iter_mut()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .expect("the key was just ensured");
        if !matches!(slot, Value::Obj(_)) {
            *slot = Value::Obj(Map::new());
        }
        match slot {
            Value::Obj(m) => m,
            _ => unreachable!("just made an object"),
        }
    }

    /// Iterates over the entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        let mut m = Map::new();
        for (k, v) in iter {
            m.insert(&k, v);
        }
        m
    }
}

impl Value {
    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Obj(m) => m.get(key),
            _ => None,
        }
    }

    /// Follows a path of object keys.
    pub fn at(&self, path: &[&str]) -> Option<&Value> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is a finite one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Num(n) if n.is_finite() => Some(*n),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_obj(&self) -> Option<&Map> {
        match self {
            Value::Obj(m) => Some(m),
            _ => None,
        }
    }

    /// A string value.
    pub fn str(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Converts a serde_json value (test-only dependency) into ours.
    pub(crate) fn from_json(v: &serde_json::Value) -> Value {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Num(n.as_f64().unwrap_or(f64::NAN)),
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(a) => Value::Arr(a.iter().map(from_json).collect()),
            serde_json::Value::Object(o) => {
                Value::Obj(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
            }
        }
    }

    /// Parses JSON text into our value.
    pub(crate) fn parse(s: &str) -> Value {
        from_json(&serde_json::from_str(s).expect("test JSON"))
    }

    /// Reads a file under the repo's fixtures/.
    pub(crate) fn fixture(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/").to_owned() + name;
        parse(&std::fs::read_to_string(&path).expect("fixture file"))
    }

    #[test]
    fn insert_keeps_position() {
        let mut m = Map::new();
        m.insert("a", Value::Num(1.0));
        m.insert("b", Value::Num(2.0));
        m.insert("a", Value::Num(3.0));
        let keys: Vec<_> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(m.get("a"), Some(&Value::Num(3.0)));
    }

    #[test]
    fn object_mut_creates_and_replaces() {
        let mut m = Map::new();
        m.insert("x", Value::str("scalar"));
        m.object_mut("x").insert("k", Value::Bool(true));
        m.object_mut("y").insert("k", Value::Null);
        assert_eq!(parse(r#"{"k":true}"#), m.get("x").cloned().unwrap());
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn paths_and_accessors() {
        let v = parse(r#"{"a":{"b":{"c":"d"}},"n":1.5}"#);
        assert_eq!(v.at(&["a", "b", "c"]).and_then(Value::as_str), Some("d"));
        assert_eq!(v.at(&["a", "x"]), None);
        assert_eq!(v.get("n").and_then(Value::as_f64), Some(1.5));
        assert_eq!(Value::Num(f64::NAN).as_f64(), None);
    }
}
