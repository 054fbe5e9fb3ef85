//! `[mos-score]` levelled logging to the browser console. Never give it a token.

use crate::domain::config::LogLevel;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(module = "/src/host.js")]
extern "C" {
    /// `console.debug/info/warn/error(line)` by level (one import, not four).
    fn log(level: u8, line: &str);
}

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
        log(level as u8, &line);
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
