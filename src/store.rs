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

/// Every job key under `scope` (this account's and worker's).
pub fn keys(scope: &str) -> Vec<String> {
    let mut keys: Vec<String> = match storage() {
        Some(s) => (0..s.length().unwrap_or(0))
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with(scope))
            .collect(),
        None => Vec::new(),
    };
    MEMORY.with(|m| {
        keys.extend(
            m.borrow()
                .iter()
                .map(|(k, _)| k.clone())
                .filter(|k| k.starts_with(scope)),
        )
    });
    keys
}
