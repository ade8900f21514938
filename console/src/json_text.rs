//! The API's JSON values as the pages write them.

use serde_json::Value;

/// `value` as text: a string as it is, nothing for `null`, anything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}
