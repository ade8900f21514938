//! Stream replies read straight from Redis values: entries keep the bytes Redis sent (moved, not
//! copied), without the nested maps of the client library's reply types.

use redis::Value;

/// A stream entry as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub id: String,
    /// `None`: the entry was deleted from the stream while it was pending.
    pub fields: Option<Vec<(Vec<u8>, Vec<u8>)>>,
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(s) => Some(s.into_bytes()),
        _ => None,
    }
}

fn items(value: Value) -> Option<Vec<Value>> {
    match value {
        Value::Array(items) | Value::Set(items) => Some(items),
        _ => None,
    }
}

/// `[[id, [field, value, ...]], ...]`.
fn entries(value: Value) -> Result<Vec<Entry>, String> {
    let Some(list) = items(value) else {
        return Err("a list of entries was expected".into());
    };
    let mut out = Vec::with_capacity(list.len());
    for entry in list {
        let mut parts = items(entry).ok_or("an entry is not a list")?.into_iter();
        let id = parts.next().and_then(text).ok_or("an entry has no id")?;
        let fields = match parts.next() {
            None | Some(Value::Nil) => None,
            Some(flat) => {
                let flat = items(flat).ok_or("an entry's fields are not a list")?;
                let mut fields = Vec::with_capacity(flat.len() / 2);
                let mut flat = flat.into_iter();
                while let (Some(k), Some(v)) = (flat.next(), flat.next()) {
                    fields.push((
                        bytes(k).ok_or("a field name is not a string")?,
                        bytes(v).ok_or("a field value is not a string")?,
                    ));
                }
                Some(fields)
            }
        };
        out.push(Entry { id, fields });
    }
    Ok(out)
}

/// The entries of an `XREADGROUP` reply over one stream (nothing: `Nil`).
pub(crate) fn read(value: Value) -> Result<Vec<Entry>, String> {
    match value {
        Value::Nil => Ok(Vec::new()),
        // RESP3: {stream: entries}
        Value::Map(streams) => {
            let mut out = Vec::new();
            for (_, list) in streams {
                out.extend(entries(list)?);
            }
            Ok(out)
        }
        // RESP2: [[stream, entries], ...]
        other => {
            let mut out = Vec::new();
            for stream in items(other).ok_or("a list of streams was expected")? {
                let mut parts = items(stream).ok_or("a stream is not a list")?.into_iter();
                let _key = parts.next();
                if let Some(list) = parts.next() {
                    out.extend(entries(list)?);
                }
            }
            Ok(out)
        }
    }
}

/// The claimed entries and the ids found deleted, of an `XAUTOCLAIM` reply.
pub(crate) fn autoclaim(value: Value) -> Result<(Vec<Entry>, Vec<String>), String> {
    let mut parts = items(value)
        .ok_or("XAUTOCLAIM answered no list")?
        .into_iter();
    let _next = parts.next();
    let claimed = entries(parts.next().ok_or("XAUTOCLAIM answered no entries")?)?;
    let deleted = match parts.next() {
        Some(list) => items(list)
            .ok_or("XAUTOCLAIM's deleted ids are not a list")?
            .into_iter()
            .filter_map(text)
            .collect(),
        None => Vec::new(),
    };
    Ok((claimed, deleted))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn entry(id: &str, fields: &[(&str, &str)]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(
                fields
                    .iter()
                    .flat_map(|(k, v)| [bulk(k), bulk(v)])
                    .collect(),
            ),
        ])
    }

    #[test]
    fn a_read_reply_gives_its_entries_in_order() {
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("events:{ev0}"),
            Value::Array(vec![
                entry("1-0", &[("id", "a:1"), ("kind", "imp")]),
                Value::Array(vec![bulk("2-0"), Value::Nil]),
            ]),
        ])]);
        let got = read(reply).expect("entries");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].id, "1-0");
        assert_eq!(
            got[0].fields,
            Some(vec![
                (b"id".to_vec(), b"a:1".to_vec()),
                (b"kind".to_vec(), b"imp".to_vec())
            ])
        );
        assert_eq!(
            got[1],
            Entry {
                id: "2-0".into(),
                fields: None
            }
        );
        assert_eq!(read(Value::Nil), Ok(Vec::new()));
        let resp3 = Value::Map(vec![(
            bulk("events:{ev0}"),
            Value::Array(vec![entry("3-0", &[("id", "b:1")])]),
        )]);
        assert_eq!(read(resp3).expect("entries")[0].id, "3-0");
        assert!(read(Value::Int(3)).is_err());
    }

    #[test]
    fn an_autoclaim_reply_gives_the_claimed_and_the_deleted() {
        let reply = Value::Array(vec![
            bulk("0-0"),
            Value::Array(vec![entry("5-0", &[("id", "c:1")])]),
            Value::Array(vec![bulk("4-0")]),
        ]);
        let (claimed, deleted) = autoclaim(reply).expect("reply");
        assert_eq!(claimed[0].id, "5-0");
        assert_eq!(deleted, vec!["4-0".to_owned()]);
    }
}
