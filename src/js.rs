//! The core's [`Json`] read in place on JS values, its [`Fields`] written as
//! JS objects, and small Reflect helpers.

use crate::domain::json::{Field, Fields, Json};
use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// `obj[key]`, or `undefined` when `obj` is not an object or the getter throws.
pub fn get(obj: &JsValue, key: &str) -> JsValue {
    if !obj.is_object() && !obj.is_function() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// Follows a path of keys.
pub fn at(obj: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(obj.clone(), |v, k| get(&v, k))
}

/// Calls `obj[method](args…)` with `this = obj`.
pub fn call(obj: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let f: js_sys::Function = get(obj, method)
        .dyn_into()
        .map_err(|_| JsValue::from_str(&(method.to_owned() + " is not a function")))?;
    let list = Array::new();
    for a in args {
        list.push(a);
    }
    f.apply(obj, &list)
}

/// A short, token-free description of a thrown JS value.
pub fn describe(e: &JsValue) -> String {
    if let Some(s) = e.as_string() {
        return s;
    }
    let msg = get(e, "message");
    msg.as_string()
        .unwrap_or_else(|| String::from("unknown JS error"))
}

impl Json for JsValue {
    fn get(&self, key: &str) -> Option<Self> {
        let v = get(self, key);
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }
    fn is_object(&self) -> bool {
        self.is_object() && !Array::is_array(self)
    }
    fn as_str(&self) -> Option<String> {
        self.as_string()
    }
    fn as_f64(&self) -> Option<f64> {
        self.as_f64().filter(|n| n.is_finite())
    }
    fn as_bool(&self) -> Option<bool> {
        self.as_bool()
    }
}

/// A fresh JS object with `fields`, in order.
pub fn object(fields: &Fields) -> JsValue {
    let obj = Object::new();
    for (k, f) in fields {
        let v = match f {
            Field::Null => JsValue::NULL,
            Field::Bool(b) => JsValue::from_bool(*b),
            Field::Num(n) => JsValue::from_f64(*n),
            Field::Str(s) => JsValue::from_str(s),
            Field::Obj(o) => object(o),
        };
        // Setting a plain data property on a fresh object cannot fail.
        let _ = Reflect::set(&obj, &JsValue::from_str(k), &v);
    }
    obj.into()
}

/// What to do with a settled promise: its value, or what it rejected with.
pub type Settled = Box<dyn FnOnce(Result<JsValue, JsValue>)>;

/// Calls `done` exactly once when `promise` settles. One closure per promise
/// (through `Promise.allSettled`, which never rejects), so nothing leaks
/// whichever way it settles; and one non-generic function for every caller.
pub fn settle(promise: &Promise, done: Settled) {
    let all = Promise::all_settled(&Array::of1(promise));
    let cb = Closure::once_into_js(move |results: JsValue| {
        let first = Reflect::get_u32(&results, 0).unwrap_or(JsValue::UNDEFINED);
        if get(&first, "status").as_string().as_deref() == Some("fulfilled") {
            done(Ok(get(&first, "value")))
        } else {
            done(Err(get(&first, "reason")))
        }
    });
    let _ = call(&all, "then", &[&cb]);
}

/// `JSON.parse`, or `None` when `text` is not JSON.
pub fn parse(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}
