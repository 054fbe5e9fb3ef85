//! Linking the original task's conversation. The MOS task's attributes are
//! the server's to build (docs/contract.md), so the plugin sends none.

use super::sid::TaskSid;
use super::value::{Map, Value};

fn as_object(v: &Value) -> Map {
    match v {
        Value::Obj(m) => m.clone(),
        _ => Map::new(),
    }
}

/// Every existing attribute and `conversations` key, plus
/// `conversations.conversation_id` = the task SID.
pub fn link_conversation(original: &Value, task: &TaskSid) -> Value {
    let mut attrs = as_object(original);
    attrs
        .object_mut("conversations")
        .insert("conversation_id", Value::str(task.as_str()));
    Value::Obj(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::value::tests::parse;

    const WT: &str = "WT0123456789abcdef0123456789abcdef";

    fn sid() -> TaskSid {
        TaskSid::parse(WT).unwrap()
    }

    #[test]
    fn link_keeps_every_key() {
        let original = parse(
            r#"{"from":"+15550100","conversations":{"abandoned":"No","conversation_attribute_1":"vip"},"conference":{"sid":"CF1"}}"#,
        );
        let linked = link_conversation(&original, &sid());
        let expected = parse(&format!(
            r#"{{"from":"+15550100","conversations":{{"abandoned":"No","conversation_attribute_1":"vip","conversation_id":"{WT}"}},"conference":{{"sid":"CF1"}}}}"#
        ));
        assert_eq!(linked, expected);
    }

    #[test]
    fn link_creates_conversations() {
        let linked = link_conversation(&parse(r#"{"a":1}"#), &sid());
        assert_eq!(
            linked.at(&["conversations", "conversation_id"]),
            Some(&Value::str(WT))
        );
        assert_eq!(linked.get("a"), Some(&Value::Num(1.0)));
        // Attributes that are not an object (null from a broken host) still link.
        assert!(link_conversation(&Value::Null, &sid())
            .get("conversations")
            .is_some());
    }
}
