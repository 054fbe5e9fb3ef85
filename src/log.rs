//! `[mos-score]` levelled logging to the browser console. Never give it a token.

use crate::domain::config::LogLevel;
use wasm_bindgen::JsValue;
use web_sys::console;

/// Logs at or above a level.
#[derive(Debug, Clone, Copy)]
pub struct Logger(pub LogLevel);

impl Logger {
    fn emit(&self, level: LogLevel, task: Option<&str>, msg: &str) {
        if level < self.0 {
            return;
        }
        let mut line = String::from("[mos-score] ");
        if let Some(t) = task {
            line.push_str(t);
            line.push_str(": ");
        }
        line.push_str(msg);
        let line = JsValue::from_str(&line);
        match level {
            LogLevel::Debug => console::debug_1(&line),
            LogLevel::Info => console::info_1(&line),
            LogLevel::Warn => console::warn_1(&line),
            LogLevel::Error => console::error_1(&line),
        }
    }

    /// Debug line, off by default.
    pub fn debug(&self, task: Option<&str>, msg: &str) {
        self.emit(LogLevel::Debug, task, msg)
    }

    /// Info line.
    pub fn info(&self, task: Option<&str>, msg: &str) {
        self.emit(LogLevel::Info, task, msg)
    }

    /// Warning line.
    pub fn warn(&self, task: Option<&str>, msg: &str) {
        self.emit(LogLevel::Warn, task, msg)
    }

    /// Error line.
    pub fn error(&self, task: Option<&str>, msg: &str) {
        self.emit(LogLevel::Error, task, msg)
    }
}
