//! Persistence of pending jobs in localStorage, so a reload loses nothing.
//! Where localStorage is unavailable (blocked, private mode quota), jobs live
//! in memory for the life of the page instead.

use crate::domain::job::PendingJob;
use crate::js;
use std::cell::RefCell;
use wasm_bindgen::JsCast;
use web_sys::Storage;

thread_local! {
    /// Jobs kept here when localStorage refuses them (key, JSON).
    static MEMORY: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
}

fn storage() -> Option<Storage> {
    js::get(&js::global(), "localStorage")
        .dyn_into::<Storage>()
        .ok()
}

fn get(key: &str) -> Option<String> {
    storage()
        .and_then(|s| s.get_item(key).ok().flatten())
        .or_else(|| {
            MEMORY.with(|m| {
                m.borrow()
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
            })
        })
}

/// Saves (or replaces) a job. False when it could only be kept in memory.
pub fn save(key: &str, job: &PendingJob) -> bool {
    let key = key.to_owned();
    let text = js_sys::JSON::stringify(&js::object(&job.fields()))
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default();
    if let Some(s) = storage() {
        if s.set_item(&key, &text).is_ok() {
            return true;
        }
    }
    MEMORY.with(|m| {
        let mut memory = m.borrow_mut();
        memory.retain(|(k, _)| *k != key);
        memory.push((key, text));
    });
    false
}

/// Removes a job.
pub fn remove(key: &str) {
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
    MEMORY.with(|m| m.borrow_mut().retain(|(k, _)| k != key));
}

/// Loads the job stored under `key`: `None` when absent, `Some(Err)` when corrupted.
pub fn load(key: &str) -> Option<Result<PendingJob, &'static str>> {
    let text = get(key)?;
    Some(
        js::parse(&text)
            .ok_or("not JSON")
            .and_then(|v| PendingJob::read(&v)),
    )
}

/// Every job key that starts with `prefix`.
pub fn keys(prefix: &str) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(s) = storage() {
        for i in 0..s.length().unwrap_or(0) {
            if let Ok(Some(k)) = s.key(i) {
                if k.starts_with(prefix) {
                    keys.push(k);
                }
            }
        }
    }
    MEMORY.with(|m| {
        for (k, _) in m.borrow().iter() {
            if k.starts_with(prefix) {
                keys.push(k.clone());
            }
        }
    });
    keys
}
