//! Attribute merging: linking the conversation, and the MOS task's attributes.

use super::error::push_u32;
use super::mos::{format2, MosSummary};
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

/// `conversation_attribute_N` for a slot 1..=10.
pub fn attribute_key(slot: u8) -> String {
    let mut k = String::from("conversation_attribute_");
    push_u32(&mut k, u32::from(slot));
    k
}

/// `conversation_measure_N` for a slot 1..=10.
pub fn measure_key(slot: u8) -> String {
    let mut k = String::from("conversation_measure_");
    push_u32(&mut k, u32::from(slot));
    k
}

/// The MOS task's attributes: the original ones, linked to the original
/// conversation, with the MOS in slot `slot` and a `mos_score` summary.
///
/// `summary` is validated by construction, so no NaN or out-of-range value
/// can be written.
pub fn mos_task_attributes(
    original: &Value,
    task: &TaskSid,
    summary: &MosSummary,
    slot: u8,
) -> Value {
    let mut attrs = as_object(original);
    let conv = attrs.object_mut("conversations");
    conv.insert("conversation_id", Value::str(task.as_str()));
    conv.insert(&attribute_key(slot), Value::Str(format2(summary.average)));
    conv.insert(&measure_key(slot), Value::Num(summary.average));
    conv.insert("virtual", Value::str("Yes"));
    conv.insert("channel", Value::str("mos_score"));
    attrs.insert("mos_score", summary.to_value());
    Value::Obj(attrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::mos::MosSource;
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

    #[test]
    fn mos_task_attributes_match_the_spec() {
        let original = parse(r#"{"from":"+1","conversations":{"abandoned":"No"}}"#);
        let s = MosSummary::new(4.305, 2.9, 0.1, 12, MosSource::VoiceInsights).unwrap();
        let attrs = mos_task_attributes(&original, &sid(), &s, 5);
        let expected = parse(&format!(
            r#"{{"from":"+1","conversations":{{"abandoned":"No","conversation_id":"{WT}",
            "conversation_attribute_5":"4.31","conversation_measure_5":4.31,
            "virtual":"Yes","channel":"mos_score"}},
            "mos_score":{{"average":4.31,"minimum":2.9,"poorShare":0.1,"samples":12,"source":"voice-insights"}}}}"#
        ));
        assert_eq!(attrs, expected);
    }

    #[test]
    fn slot_is_configurable() {
        let s = MosSummary::new(3.0, 3.0, 1.0, 1, MosSource::Sdk).unwrap();
        let attrs = mos_task_attributes(&parse("{}"), &sid(), &s, 10);
        let conv = attrs.get("conversations").unwrap();
        assert_eq!(
            conv.get("conversation_attribute_10"),
            Some(&Value::str("3.00"))
        );
        assert_eq!(conv.get("conversation_measure_10"), Some(&Value::Num(3.0)));
        assert_eq!(conv.get("conversation_attribute_5"), None);
        assert_eq!(attrs.at(&["mos_score", "source"]), Some(&Value::str("sdk")));
    }
}
