//! JsValue ⇄ core `Value`, and small Reflect helpers.

use crate::domain::value::{Map, Value};
use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// Objects nested deeper than this are cut (cycles, hostile input).
const MAX_DEPTH: u32 = 32;

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
    let args: Array = args.iter().map(|a| (*a).clone()).collect();
    f.apply(obj, &args)
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

/// Copies a JS value into a core `Value` (functions and symbols are dropped).
pub fn to_value(js: &JsValue) -> Value {
    to_value_at(js, 0)
}

fn to_value_at(js: &JsValue, depth: u32) -> Value {
    if let Some(b) = js.as_bool() {
        Value::Bool(b)
    } else if let Some(n) = js.as_f64() {
        Value::Num(n)
    } else if let Some(s) = js.as_string() {
        Value::Str(s)
    } else if depth >= MAX_DEPTH || !js.is_object() {
        Value::Null
    } else if Array::is_array(js) {
        let arr: &Array = js.unchecked_ref();
        Value::Arr(arr.iter().map(|v| to_value_at(&v, depth + 1)).collect())
    } else {
        let obj: &Object = js.unchecked_ref();
        let mut m = Map::new();
        for key in Object::keys(obj).iter() {
            let Some(k) = key.as_string() else { continue };
            let v = Reflect::get(obj, &key).unwrap_or(JsValue::UNDEFINED);
            if v.is_function() || v.is_undefined() {
                continue;
            }
            m.insert(&k, to_value_at(&v, depth + 1));
        }
        Value::Obj(m)
    }
}

/// Builds a fresh JS value from a core `Value`.
pub fn from_value(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Num(n) => JsValue::from_f64(*n),
        Value::Str(s) => JsValue::from_str(s),
        Value::Arr(a) => a.iter().map(from_value).collect::<Array>().into(),
        Value::Obj(m) => {
            let obj = Object::new();
            for (k, v) in m.iter() {
                // Setting a plain data property on a fresh object cannot fail.
                let _ = Reflect::set(&obj, &JsValue::from_str(k), &from_value(v));
            }
            obj.into()
        }
    }
}

/// `JSON.stringify` of a core value.
pub fn stringify(v: &Value) -> String {
    js_sys::JSON::stringify(&from_value(v))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
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

/// `JSON.parse` into a core value.
pub fn parse(text: &str) -> Option<Value> {
    js_sys::JSON::parse(text).ok().map(|v| to_value(&v))
}
