//! Persistence of pending jobs in localStorage, so a reload loses nothing.
//! Where localStorage is unavailable (blocked, private mode, quota), jobs
//! live in memory for the life of the page instead (both in src/host.js).

use crate::domain::job::PendingJob;
use crate::js;
use js_sys::Array;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(module = "/src/host.js")]
extern "C" {
    #[wasm_bindgen(js_name = storeGet)]
    fn store_get(key: &str) -> Option<String>;
    #[wasm_bindgen(js_name = storeSet)]
    fn store_set(key: &str, value: &str) -> bool;
    #[wasm_bindgen(js_name = storeRemove)]
    fn store_remove(key: &str);
    #[wasm_bindgen(js_name = storeKeys)]
    fn store_keys(prefix: &str) -> Array;
}

/// Saves (or replaces) a job. False when it could only be kept in memory.
pub fn save(key: &str, job: &PendingJob) -> bool {
    let text = js_sys::JSON::stringify(&js::object(&job.fields()))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    store_set(key, &text)
}

/// Removes a job.
pub fn remove(key: &str) {
    store_remove(key);
}

/// Loads the job stored under `key`: `None` when absent, `Some(Err)` when corrupted.
pub fn load(key: &str) -> Option<Result<PendingJob, &'static str>> {
    let text = store_get(key)?;
    Some(
        js::parse(&text)
            .ok_or("not JSON")
            .and_then(|v| PendingJob::read(&v)),
    )
}

/// Every job key that starts with `prefix`.
pub fn keys(prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    for k in store_keys(prefix).iter() {
        if let Some(k) = k.as_string() {
            keys.push(k);
        }
    }
    keys
}
