//! Feast's Redis online-store layout: entity keys, field names, values and timestamps.
//!
//! Feast (`online_store: redis`, `entity_key_serialization_version: 3`) stores one Redis hash
//! per entity key and per set of join keys. This module computes the names Feast uses and
//! decodes the bytes it writes, so skewaudit can read the online values without Feast:
//!
//! * **Key**: [`serialize_entity_key`] — the v3 entity-key serialization followed directly by
//!   the project name in UTF-8 (no separator, no length). [`parse_entity_key`] is its inverse.
//! * **Field of a feature**: [`field_name`] — murmur3 x86 32-bit (seed 0) of
//!   `"<feature_view>:<feature>"`, as a little-endian `u32` (4 raw bytes).
//! * **Field of a view's event timestamp**: [`ts_field_name`] — plain ASCII `_ts:<feature_view>`.
//! * **Value**: [`decode_value`] — a serialized `feast.types.Value` protobuf (a oneof).
//!   Feast writes a null (and a NaN, which it cannot tell from null) as an *empty* value:
//!   the field exists with 0 bytes. Zeros and empty strings are written explicitly
//!   (`2000`, `1200`), so empty bytes always mean null, never zero.
//! * **Timestamp**: [`decode_timestamp`] — a serialized `google.protobuf.Timestamp`.
//!
//! The protobuf messages are derived by hand with `prost` (no `protoc`/build script); the
//! field numbers follow Feast's `protos/feast/types/Value.proto`. Oneof members that newer
//! Feast versions added after `null_val = 19` (maps, sets, UUIDs, ...) changed numbering between
//! releases, so they decode to [`FeastValue::Unsupported`] with their field number instead
//! of being guessed.
//!
//! Nothing here panics on malformed input: every decoder returns [`FeastError`].

use prost::Message;

/// Feast `ValueType` tags used inside the entity-key serialization.
mod value_type {
    pub const BYTES: u32 = 1;
    pub const STRING: u32 = 2;
    pub const INT32: u32 = 3;
    pub const INT64: u32 = 4;
    pub const UNIX_TIMESTAMP: u32 = 8;
}

/// Prefix of the per-view event-timestamp field.
const TS_FIELD_PREFIX: &[u8] = b"_ts:";

/// Why Feast bytes could not be decoded. Messages are one line and end with a short hex
/// preview of the offending bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeastError {
    /// The bytes are not a valid serialized `feast.types.Value`.
    #[error("invalid feast.types.Value: {0}")]
    Value(String),
    /// The bytes are not a valid serialized `google.protobuf.Timestamp`.
    #[error("invalid google.protobuf.Timestamp: {0}")]
    Timestamp(String),
    /// The bytes are not a v3 entity key of the expected project.
    #[error("invalid Feast entity key: {0}")]
    EntityKey(String),
}

/// One entity (join-key) value, typed as the entity column is *declared* in Feast
/// (`Field(name=..., dtype=...)` / `Entity(value_type=...)`): the type decides the tag and the
/// width in the key, so an `Int32` and an `Int64` with the same number are different keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    /// `STRING` (tag 2): UTF-8 bytes.
    Str(String),
    /// `BYTES` (tag 1): raw bytes.
    Bytes(Vec<u8>),
    /// `INT32` (tag 3): 4 bytes, little-endian.
    Int32(i32),
    /// `INT64` (tag 4): 8 bytes, little-endian.
    Int64(i64),
    /// `UNIX_TIMESTAMP` (tag 8): seconds since the epoch, 8 bytes, little-endian.
    UnixTimestamp(i64),
}

impl KeyValue {
    /// The Feast `ValueType` tag and the payload bytes of this value.
    fn tag_and_payload(&self) -> (u32, Vec<u8>) {
        match self {
            KeyValue::Str(s) => (value_type::STRING, s.as_bytes().to_vec()),
            KeyValue::Bytes(b) => (value_type::BYTES, b.clone()),
            KeyValue::Int32(v) => (value_type::INT32, v.to_le_bytes().to_vec()),
            KeyValue::Int64(v) => (value_type::INT64, v.to_le_bytes().to_vec()),
            KeyValue::UnixTimestamp(v) => (value_type::UNIX_TIMESTAMP, v.to_le_bytes().to_vec()),
        }
    }
}

/// The Redis key Feast uses for one entity: entity-key serialization v3 followed by the
/// project name.
///
/// Layout (all integers `u32` little-endian), with the join keys **sorted by name** (this
/// function sorts; the caller's order does not matter):
///
/// ```text
/// n_join_keys
/// n x { 2 (STRING) ; name_len ; name utf8 }
/// n x { value_type ; byte_len ; payload }      // same order as the names
/// project utf8                                  // no separator
/// ```
///
/// `name_len` is what Feast's Python writer computes, `len(name)` on a `str`: the number of
/// Unicode code points, which equals the UTF-8 byte length only for ASCII names. Value
/// lengths are byte lengths ("Zürich" is 7).
pub fn serialize_entity_key(join_keys: &[(&str, KeyValue)], project: &str) -> Vec<u8> {
    let mut sorted: Vec<&(&str, KeyValue)> = join_keys.iter().collect();
    // Python sorts `(name, value)` pairs; names are unique, so sorting by name is the same.
    // `str` ordering is byte order of UTF-8, which is code-point order, as in Python.
    sorted.sort_by(|a, b| a.0.cmp(b.0));

    let mut out = Vec::with_capacity(4 + 32 * sorted.len() + project.len());
    // Redis keys are at most 512 MB, so every count and length below fits in a u32.
    put_u32(&mut out, sorted.len() as u32);
    for (name, _) in &sorted {
        put_u32(&mut out, value_type::STRING);
        put_u32(&mut out, name.chars().count() as u32);
        out.extend_from_slice(name.as_bytes());
    }
    for (_, value) in &sorted {
        let (tag, payload) = value.tag_and_payload();
        put_u32(&mut out, tag);
        put_u32(&mut out, payload.len() as u32);
        out.extend_from_slice(&payload);
    }
    out.extend_from_slice(project.as_bytes());
    out
}

/// Parses a Redis key written by Feast for `project` back into its join keys, in the stored
/// (name-sorted) order. The inverse of [`serialize_entity_key`]: a name's length is read as a
/// count of UTF-8 characters, the way Feast writes it.
///
/// Errors on truncated or trailing bytes, a non-STRING name tag, an unknown value tag, a
/// fixed-width value of the wrong width, invalid UTF-8, or a key that does not end in exactly
/// `project`.
pub fn parse_entity_key(key: &[u8], project: &str) -> Result<Vec<(String, KeyValue)>, FeastError> {
    let err = |msg: String| FeastError::EntityKey(format!("{msg} ({})", hex_preview(key)));
    let mut rest = key;
    let n = take_u32(&mut rest).ok_or_else(|| err("truncated join-key count".into()))? as usize;
    // Each join key takes at least 16 bytes (two tags, two lengths): reject absurd counts
    // before allocating.
    if n.saturating_mul(16) > rest.len() {
        return Err(err(format!(
            "{n} join keys cannot fit in {} bytes",
            rest.len()
        )));
    }
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let tag = take_u32(&mut rest).ok_or_else(|| err(format!("truncated name {i}")))?;
        if tag != value_type::STRING {
            return Err(err(format!(
                "name {i} has type tag {tag}, expected 2 (STRING)"
            )));
        }
        let chars = take_u32(&mut rest).ok_or_else(|| err(format!("truncated name {i}")))?;
        let name = take_chars(&mut rest, chars as usize)
            .ok_or_else(|| err(format!("name {i} is truncated or not UTF-8")))?;
        names.push(name.to_owned());
    }
    let mut out = Vec::with_capacity(n);
    for (i, name) in names.into_iter().enumerate() {
        let (tag, len) = match (take_u32(&mut rest), take_u32(&mut rest)) {
            (Some(t), Some(l)) => (t, l as usize),
            _ => return Err(err(format!("truncated value {i} ('{name}')"))),
        };
        if len > rest.len() {
            return Err(err(format!(
                "value {i} ('{name}') needs {len} bytes, {} left",
                rest.len()
            )));
        }
        let (payload, tail) = rest.split_at(len);
        rest = tail;
        let wrong_width = |w: usize| {
            err(format!(
                "value {i} ('{name}') with type tag {tag} has {len} bytes, expected {w}"
            ))
        };
        let value = match tag {
            value_type::STRING => KeyValue::Str(
                std::str::from_utf8(payload)
                    .map_err(|_| err(format!("value {i} ('{name}') is not UTF-8")))?
                    .to_owned(),
            ),
            value_type::BYTES => KeyValue::Bytes(payload.to_vec()),
            value_type::INT32 => KeyValue::Int32(i32::from_le_bytes(
                payload.try_into().map_err(|_| wrong_width(4))?,
            )),
            value_type::INT64 => KeyValue::Int64(i64::from_le_bytes(
                payload.try_into().map_err(|_| wrong_width(8))?,
            )),
            value_type::UNIX_TIMESTAMP => KeyValue::UnixTimestamp(i64::from_le_bytes(
                payload.try_into().map_err(|_| wrong_width(8))?,
            )),
            other => {
                return Err(err(format!(
                    "value {i} ('{name}') has unsupported type tag {other}"
                )))
            }
        };
        out.push((name, value));
    }
    if rest != project.as_bytes() {
        return Err(err(format!("key does not end with project '{project}'")));
    }
    Ok(out)
}

/// The 4-byte hash field under which Feast stores `feature` of `feature_view`:
/// murmur3 x86 32-bit, seed 0, of the UTF-8 string `"<feature_view>:<feature>"`, as a
/// little-endian `u32` (Python: `struct.pack("<I", mmh3.hash(s, 0, signed=False))`).
pub fn field_name(feature_view: &str, feature: &str) -> [u8; 4] {
    let s = format!("{feature_view}:{feature}");
    // Reading from an in-memory slice cannot fail.
    let hash = murmur3::murmur3_32(&mut s.as_bytes(), 0)
        .expect("murmur3 over an in-memory slice cannot fail");
    hash.to_le_bytes()
}

/// The hash field holding a view's event timestamp: ASCII `_ts:<feature_view>`.
pub fn ts_field_name(feature_view: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(TS_FIELD_PREFIX.len() + feature_view.len());
    out.extend_from_slice(TS_FIELD_PREFIX);
    out.extend_from_slice(feature_view.as_bytes());
    out
}

/// A decoded `feast.types.Value`.
///
/// `Null` covers both encodings of "no value": empty bytes (what Feast writes for null and
/// NaN) and an explicit `null_val`. Floats are kept as `f32`; widening with `as f64` gives
/// exactly the double Feast's Python client returns.
#[derive(Debug, Clone, PartialEq)]
pub enum FeastValue {
    /// No value (empty bytes, an empty message, or `null_val`).
    Null,
    /// `bytes_val` (1).
    Bytes(Vec<u8>),
    /// `string_val` (2).
    Str(String),
    /// `int32_val` (3).
    Int32(i32),
    /// `int64_val` (4).
    Int64(i64),
    /// `double_val` (5).
    Double(f64),
    /// `float_val` (6).
    Float(f32),
    /// `bool_val` (7).
    Bool(bool),
    /// `unix_timestamp_val` (8): seconds since the epoch.
    UnixTimestamp(i64),
    /// `bytes_list_val` (11).
    BytesList(Vec<Vec<u8>>),
    /// `string_list_val` (12).
    StringList(Vec<String>),
    /// `int32_list_val` (13).
    Int32List(Vec<i32>),
    /// `int64_list_val` (14).
    Int64List(Vec<i64>),
    /// `double_list_val` (15).
    DoubleList(Vec<f64>),
    /// `float_list_val` (16).
    FloatList(Vec<f32>),
    /// `bool_list_val` (17).
    BoolList(Vec<bool>),
    /// `unix_timestamp_list_val` (18): seconds since the epoch.
    UnixTimestampList(Vec<i64>),
    /// A well-formed value whose oneof member (this field number) is not decoded here, e.g.
    /// the maps, sets and UUIDs of newer Feast versions.
    Unsupported(u32),
}

impl FeastValue {
    /// The name of the `Value.val` oneof member (`"float_val"`, `"string_list_val"`, ...),
    /// as Feast reports it; `None` for [`FeastValue::Null`] and `"unsupported"` for
    /// [`FeastValue::Unsupported`].
    pub fn kind(&self) -> Option<&'static str> {
        Some(match self {
            FeastValue::Null => return None,
            FeastValue::Bytes(_) => "bytes_val",
            FeastValue::Str(_) => "string_val",
            FeastValue::Int32(_) => "int32_val",
            FeastValue::Int64(_) => "int64_val",
            FeastValue::Double(_) => "double_val",
            FeastValue::Float(_) => "float_val",
            FeastValue::Bool(_) => "bool_val",
            FeastValue::UnixTimestamp(_) => "unix_timestamp_val",
            FeastValue::BytesList(_) => "bytes_list_val",
            FeastValue::StringList(_) => "string_list_val",
            FeastValue::Int32List(_) => "int32_list_val",
            FeastValue::Int64List(_) => "int64_list_val",
            FeastValue::DoubleList(_) => "double_list_val",
            FeastValue::FloatList(_) => "float_list_val",
            FeastValue::BoolList(_) => "bool_list_val",
            FeastValue::UnixTimestampList(_) => "unix_timestamp_list_val",
            FeastValue::Unsupported(_) => "unsupported",
        })
    }

    /// True for [`FeastValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, FeastValue::Null)
    }

    /// A numeric scalar as `f64`: floats widen exactly, integers convert (exactly up to
    /// 2^53 in magnitude), bools are 0/1, unix timestamps are seconds. `None` for null,
    /// strings, bytes, lists and unsupported values.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            FeastValue::Double(v) => Some(v),
            FeastValue::Float(v) => Some(f64::from(v)),
            FeastValue::Int32(v) => Some(f64::from(v)),
            FeastValue::Int64(v) | FeastValue::UnixTimestamp(v) => Some(v as f64),
            FeastValue::Bool(v) => Some(if v { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
}

/// Decodes a hash value written by Feast.
///
/// Empty bytes are [`FeastValue::Null`] (Feast's null, and its NaN). As in protobuf, when
/// several oneof members are on the wire the last one wins. A well-formed value whose last
/// member is not one of fields 1–8 and 11–19 is [`FeastValue::Unsupported`]. Anything that is
/// not a well-formed message (truncated varint or length, wrong wire type for a known field,
/// invalid UTF-8 in a string, field number 0, groups, ...) is an error.
pub fn decode_value(bytes: &[u8]) -> Result<FeastValue, FeastError> {
    let err = |msg: String| FeastError::Value(format!("{msg} ({})", hex_preview(bytes)));
    if bytes.is_empty() {
        return Ok(FeastValue::Null);
    }
    let last = last_field_number(bytes).map_err(err)?;
    let proto = proto::Value::decode(bytes).map_err(|e| err(one_line(&e.to_string())))?;
    if !proto::is_known_value_field(last) {
        return Ok(FeastValue::Unsupported(last));
    }
    use proto::Val;
    Ok(match proto.val {
        None | Some(Val::Null(_)) => FeastValue::Null,
        Some(Val::Bytes(v)) => FeastValue::Bytes(v),
        Some(Val::String(v)) => FeastValue::Str(v),
        Some(Val::Int32(v)) => FeastValue::Int32(v),
        Some(Val::Int64(v)) => FeastValue::Int64(v),
        Some(Val::Double(v)) => FeastValue::Double(v),
        Some(Val::Float(v)) => FeastValue::Float(v),
        Some(Val::Bool(v)) => FeastValue::Bool(v),
        Some(Val::UnixTimestamp(v)) => FeastValue::UnixTimestamp(v),
        Some(Val::BytesList(l)) => FeastValue::BytesList(l.val),
        Some(Val::StringList(l)) => FeastValue::StringList(l.val),
        Some(Val::Int32List(l)) => FeastValue::Int32List(l.val),
        Some(Val::Int64List(l)) => FeastValue::Int64List(l.val),
        Some(Val::DoubleList(l)) => FeastValue::DoubleList(l.val),
        Some(Val::FloatList(l)) => FeastValue::FloatList(l.val),
        Some(Val::BoolList(l)) => FeastValue::BoolList(l.val),
        Some(Val::UnixTimestampList(l)) => FeastValue::UnixTimestampList(l.val),
    })
}

/// Decodes a `_ts:<view>` value: a `google.protobuf.Timestamp` as `(seconds, nanos)`.
///
/// Empty bytes are `None` (no timestamp stored). Note that protobuf writes nothing for the
/// epoch itself (`seconds = 0, nanos = 0`), so an empty value is indistinguishable from
/// 1970-01-01T00:00:00Z; Feast itself reports epoch 0 for keys that do not exist.
/// Errors on malformed bytes and on `nanos` outside `0..=999_999_999`.
pub fn decode_timestamp(bytes: &[u8]) -> Result<Option<(i64, i32)>, FeastError> {
    let err = |msg: String| FeastError::Timestamp(format!("{msg} ({})", hex_preview(bytes)));
    if bytes.is_empty() {
        return Ok(None);
    }
    let ts = proto::Timestamp::decode(bytes).map_err(|e| err(one_line(&e.to_string())))?;
    if !(0..=999_999_999).contains(&ts.nanos) {
        return Err(err(format!("nanos {} outside 0..=999999999", ts.nanos)));
    }
    Ok(Some((ts.seconds, ts.nanos)))
}

/// `(seconds, nanos)` as microseconds since the epoch (the unit of skewaudit's as-of
/// column), truncating sub-microsecond nanos toward the past. `None` on overflow.
pub fn timestamp_to_micros(seconds: i64, nanos: i32) -> Option<i64> {
    seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(nanos.div_euclid(1_000)))
}

// ------------------------------------------------------------------------------ helpers

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn take_u32(rest: &mut &[u8]) -> Option<u32> {
    let (head, tail) = rest.split_first_chunk::<4>()?;
    *rest = tail;
    Some(u32::from_le_bytes(*head))
}

/// Takes `count` UTF-8 characters from the front of `rest`.
fn take_chars<'a>(rest: &mut &'a [u8], count: usize) -> Option<&'a str> {
    let mut end = 0;
    for _ in 0..count {
        let lead = *rest.get(end)?;
        end += match lead {
            0x00..=0x7f => 1,
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => return None,
        };
    }
    let bytes = rest.get(..end)?;
    let s = std::str::from_utf8(bytes).ok()?;
    *rest = rest.get(end..)?;
    Some(s)
}

/// Reads a base-128 varint; `None` if truncated or longer than 10 bytes / 64 bits.
fn read_varint(rest: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&b, tail) = rest.split_first()?;
        *rest = tail;
        if i == 9 && b > 1 {
            return None;
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Walks the top level of a protobuf message and returns the number of its last field.
/// Checks framing only (keys, varints, lengths); groups are rejected, as proto3 `Value`
/// never contains them.
fn last_field_number(bytes: &[u8]) -> Result<u32, String> {
    let mut rest = bytes;
    let mut last = None;
    while !rest.is_empty() {
        let key = read_varint(&mut rest).ok_or("truncated or overlong field key")?;
        let field = key >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(format!("invalid field number {field}"));
        }
        let ok = match key & 7 {
            0 => read_varint(&mut rest).is_some(),
            1 => skip(&mut rest, 8),
            2 => match read_varint(&mut rest) {
                Some(len) => usize::try_from(len).is_ok_and(|len| skip(&mut rest, len)),
                None => false,
            },
            5 => skip(&mut rest, 4),
            wt => return Err(format!("field {field} has unsupported wire type {wt}")),
        };
        if !ok {
            return Err(format!("field {field} is truncated"));
        }
        last = Some(field as u32);
    }
    last.ok_or_else(|| "empty message".to_owned())
}

fn skip(rest: &mut &[u8], n: usize) -> bool {
    match rest.get(n..) {
        Some(tail) => {
            *rest = tail;
            true
        }
        None => false,
    }
}

/// At most 32 bytes of hex, for error messages.
fn hex_preview(bytes: &[u8]) -> String {
    let mut s: String = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
    if bytes.is_empty() {
        s.push_str("empty");
    } else if bytes.len() > 32 {
        s.push_str(&format!("… {} bytes", bytes.len()));
    }
    format!("bytes: {s}")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Hand-derived prost messages mirroring `feast/types/Value.proto` (fields 1–19) and
/// `google/protobuf/timestamp.proto`.
mod proto {
    /// `feast.types.Value`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Value {
        #[prost(
            oneof = "Val",
            tags = "1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 16, 17, 18, 19"
        )]
        pub val: Option<Val>,
    }

    /// Whether `field` is a `Value.val` member this module decodes.
    pub fn is_known_value_field(field: u32) -> bool {
        matches!(field, 1..=8 | 11..=19)
    }

    /// `feast.types.Value.val`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Val {
        #[prost(bytes = "vec", tag = "1")]
        Bytes(Vec<u8>),
        #[prost(string, tag = "2")]
        String(String),
        #[prost(int32, tag = "3")]
        Int32(i32),
        #[prost(int64, tag = "4")]
        Int64(i64),
        #[prost(double, tag = "5")]
        Double(f64),
        #[prost(float, tag = "6")]
        Float(f32),
        #[prost(bool, tag = "7")]
        Bool(bool),
        #[prost(int64, tag = "8")]
        UnixTimestamp(i64),
        #[prost(message, tag = "11")]
        BytesList(BytesList),
        #[prost(message, tag = "12")]
        StringList(StringList),
        #[prost(message, tag = "13")]
        Int32List(Int32List),
        #[prost(message, tag = "14")]
        Int64List(Int64List),
        #[prost(message, tag = "15")]
        DoubleList(DoubleList),
        #[prost(message, tag = "16")]
        FloatList(FloatList),
        #[prost(message, tag = "17")]
        BoolList(BoolList),
        /// Feast reuses `Int64List` for timestamp lists.
        #[prost(message, tag = "18")]
        UnixTimestampList(Int64List),
        /// `Null null_val = 19`: an enum (varint), not a message.
        #[prost(enumeration = "Null", tag = "19")]
        Null(i32),
    }

    /// `feast.types.Null`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Null {
        Null = 0,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BytesList {
        #[prost(bytes = "vec", repeated, tag = "1")]
        pub val: Vec<Vec<u8>>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringList {
        #[prost(string, repeated, tag = "1")]
        pub val: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Int32List {
        #[prost(int32, repeated, tag = "1")]
        pub val: Vec<i32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Int64List {
        #[prost(int64, repeated, tag = "1")]
        pub val: Vec<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DoubleList {
        #[prost(double, repeated, tag = "1")]
        pub val: Vec<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FloatList {
        #[prost(float, repeated, tag = "1")]
        pub val: Vec<f32>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BoolList {
        #[prost(bool, repeated, tag = "1")]
        pub val: Vec<bool>,
    }

    /// `google.protobuf.Timestamp`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Timestamp {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::proto::{self, Val};
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(s).expect("test hex")
    }

    fn encode(val: Option<Val>) -> Vec<u8> {
        proto::Value { val }.encode_to_vec()
    }

    // ---------------------------------------------------------------- golden vectors

    #[test]
    fn entity_key_golden_feast_test_vector() {
        // Feast's own test: keys ["entity"], int32 1, project "test".
        let key = serialize_entity_key(&[("entity", KeyValue::Int32(1))], "test");
        assert_eq!(
            key,
            unhex("01000000 02000000 06000000 656e74697479 03000000 04000000 01000000 74657374")
        );
    }

    #[test]
    fn entity_key_golden_observed_int64() {
        let key = serialize_entity_key(&[("driver_id", KeyValue::Int64(1001))], "demo");
        assert_eq!(
            key,
            unhex("01000000 02000000 09000000 6472697665725f6964 04000000 08000000 e903000000000000 64656d6f")
        );
        let key = serialize_entity_key(&[("driver_id", KeyValue::Int64(5001))], "skewdemo");
        assert_eq!(
            key,
            unhex("01000000 02000000 09000000 6472697665725f6964 04000000 08000000 8913000000000000 736b657764656d6f")
        );
    }

    #[test]
    fn entity_key_golden_composite_sorted_by_name() {
        let expected = unhex(
            "02000000 02000000 04000000 63697479 02000000 09000000 6472697665725f6964 \
             02000000 07000000 5ac3bc72696368 04000000 08000000 0714000000000000 736b657764656d6f",
        );
        // Declared order [driver, city]; the key sorts by join-key name.
        let key = serialize_entity_key(
            &[
                ("driver_id", KeyValue::Int64(5127)),
                ("city", KeyValue::Str("Zürich".into())),
            ],
            "skewdemo",
        );
        assert_eq!(key, expected);
        let key = serialize_entity_key(
            &[
                ("city", KeyValue::Str("Zürich".into())),
                ("driver_id", KeyValue::Int64(5127)),
            ],
            "skewdemo",
        );
        assert_eq!(key, expected);
    }

    #[test]
    fn entity_key_declared_type_changes_the_key() {
        let a = serialize_entity_key(&[("driver_id", KeyValue::Int64(5001))], "p");
        let b = serialize_entity_key(&[("driver_id", KeyValue::Int32(5001))], "p");
        assert_ne!(a, b);
        assert_eq!(
            b,
            unhex("01000000 02000000 09000000 6472697665725f6964 03000000 04000000 89130000 70")
        );
    }

    #[test]
    fn entity_key_other_value_types() {
        let key = serialize_entity_key(
            &[
                ("ts", KeyValue::UnixTimestamp(-1)),
                ("b", KeyValue::Bytes(vec![0, 0xff])),
            ],
            "p",
        );
        assert_eq!(
            key,
            unhex("02000000 02000000 01000000 62 02000000 02000000 7473 01000000 02000000 00ff 08000000 08000000 ffffffffffffffff 70")
        );
    }

    #[test]
    fn entity_key_non_ascii_name_length_counts_code_points() {
        // Feast writes `len(name)` of a Python str: code points, not bytes.
        let key = serialize_entity_key(&[("städt", KeyValue::Int32(7))], "p");
        assert_eq!(
            key,
            unhex("01000000 02000000 05000000 7374c3a46474 03000000 04000000 07000000 70")
        );
        assert_eq!(
            parse_entity_key(&key, "p").expect("parse"),
            vec![("städt".to_owned(), KeyValue::Int32(7))]
        );
    }

    #[test]
    fn entity_key_parse_roundtrip_and_errors() {
        let join_keys = [
            ("driver_id", KeyValue::Int64(-5)),
            ("city", KeyValue::Str("Kraków".into())),
            ("blob", KeyValue::Bytes(vec![])),
            ("day", KeyValue::UnixTimestamp(1_795_996_800)),
            ("n", KeyValue::Int32(i32::MIN)),
        ];
        let key = serialize_entity_key(&join_keys, "skewdemo");
        let parsed = parse_entity_key(&key, "skewdemo").expect("parse");
        let mut sorted: Vec<(String, KeyValue)> = join_keys
            .iter()
            .map(|(n, v)| (n.to_string(), v.clone()))
            .collect();
        sorted.sort();
        assert_eq!(parsed, sorted);

        assert!(parse_entity_key(&key, "other").is_err());
        assert!(parse_entity_key(&key[..key.len() - 9], "skewdemo").is_err());
        for cut in 0..key.len() - "skewdemo".len() {
            let mut k = key[..cut].to_vec();
            k.extend_from_slice(b"skewdemo");
            assert!(parse_entity_key(&k, "skewdemo").is_err(), "cut at {cut}");
        }
        // INT64 tag with a 4-byte payload.
        let bad = unhex("01000000 02000000 01000000 61 04000000 04000000 01000000 70");
        let e = parse_entity_key(&bad, "p").expect_err("width");
        assert!(e.to_string().contains("expected 8"), "{e}");
        // Absurd join-key count.
        assert!(parse_entity_key(&unhex("ffffffff 70"), "p").is_err());
    }

    #[test]
    fn field_names_golden() {
        let cases = [
            ("driver_hourly_stats", "conv_rate", "6160e3da"),
            ("feature_view_1", "feature_10", "266d5f39"),
            ("driver_hourly_stats", "acc_rate", "fa5e58ad"),
            ("driver_hourly_stats", "avg_daily_trips", "18a5e5a3"),
            ("driver_hourly_stats", "rating", "2e429734"),
            ("driver_hourly_stats", "city", "154078e7"),
            ("driver_city_stats", "trips_today", "e7dde13f"),
            ("driver_city_stats", "surge", "d12d6bdd"),
        ];
        for (view, feature, hex) in cases {
            assert_eq!(
                field_name(view, feature).to_vec(),
                unhex(hex),
                "{view}:{feature}"
            );
        }
        assert_eq!(
            u32::from_le_bytes(field_name("driver_hourly_stats", "conv_rate")),
            0xdae3_6061
        );
        assert_eq!(
            ts_field_name("driver_hourly_stats"),
            b"_ts:driver_hourly_stats".to_vec()
        );
        assert_eq!(
            ts_field_name("driver_city_stats"),
            unhex("5f74733a6472697665725f636974795f7374617473")
        );
    }

    #[test]
    fn values_golden() {
        assert_eq!(
            decode_value(&unhex("35aaa5393f")),
            Ok(FeastValue::Float(f32::from_bits(0x3f39_a5aa)))
        );
        match decode_value(&unhex("35aaa5393f")) {
            Ok(FeastValue::Float(f)) => assert!((f - 0.725_184_1).abs() < 1e-7),
            other => panic!("{other:?}"),
        }
        assert_eq!(decode_value(&unhex("2003")), Ok(FeastValue::Int64(3)));
        assert_eq!(decode_value(&unhex("20c802")), Ok(FeastValue::Int64(328)));
        assert_eq!(
            decode_value(&unhex("293333333333330f40")),
            Ok(FeastValue::Double(3.9))
        );
        assert_eq!(decode_value(&unhex("1800")), Ok(FeastValue::Int32(0)));
        assert_eq!(decode_value(&unhex("2000")), Ok(FeastValue::Int64(0)));
        assert_eq!(
            decode_value(&unhex("12075ac3bc72696368")),
            Ok(FeastValue::Str("Zürich".into()))
        );
        assert_eq!(
            decode_value(&unhex("1200")),
            Ok(FeastValue::Str(String::new()))
        );
        assert_eq!(decode_value(b""), Ok(FeastValue::Null));
        // Widening the stored f32 gives the double Feast's client returns, bit for bit.
        let f = match decode_value(&unhex("35db8a3d3f")) {
            Ok(FeastValue::Float(f)) => f,
            other => panic!("{other:?}"),
        };
        assert_eq!(FeastValue::Float(f).as_f64(), Some(0.7404000163078308));
    }

    #[test]
    fn timestamps_golden() {
        assert_eq!(
            decode_timestamp(&unhex("08e08ecbd806")),
            Ok(Some((1_796_392_800, 0)))
        );
        assert_eq!(
            decode_timestamp(&unhex("0880f9b2d806")),
            Ok(Some((1_795_996_800, 0)))
        );
        assert_eq!(decode_timestamp(b""), Ok(None));
        let with_nanos = proto::Timestamp {
            seconds: 1_795_996_800,
            nanos: 123_456_789,
        }
        .encode_to_vec();
        assert_eq!(
            decode_timestamp(&with_nanos),
            Ok(Some((1_795_996_800, 123_456_789)))
        );
        let negative = proto::Timestamp {
            seconds: -1,
            nanos: 999_999_999,
        }
        .encode_to_vec();
        assert_eq!(decode_timestamp(&negative), Ok(Some((-1, 999_999_999))));
        // nanos = 1e9 and nanos = -1 are out of range.
        let bad = proto::Timestamp {
            seconds: 0,
            nanos: 1_000_000_000,
        }
        .encode_to_vec();
        assert!(decode_timestamp(&bad).is_err());
        let bad = proto::Timestamp {
            seconds: 0,
            nanos: -1,
        }
        .encode_to_vec();
        assert!(decode_timestamp(&bad).is_err());

        assert_eq!(
            timestamp_to_micros(1_795_996_800, 0),
            Some(1_795_996_800_000_000)
        );
        assert_eq!(timestamp_to_micros(1, 123_456_789), Some(1_123_456));
        assert_eq!(timestamp_to_micros(-1, 999_999_999), Some(-1));
        assert_eq!(timestamp_to_micros(i64::MAX, 0), None);
    }

    // ------------------------------------------------------------ every value type

    #[test]
    fn every_scalar_type_roundtrips() {
        let cases: Vec<(Val, FeastValue)> = vec![
            (
                Val::Bytes(vec![0, 1, 0xff]),
                FeastValue::Bytes(vec![0, 1, 0xff]),
            ),
            (Val::Bytes(vec![]), FeastValue::Bytes(vec![])),
            (
                Val::String("Kraków".into()),
                FeastValue::Str("Kraków".into()),
            ),
            (Val::String(String::new()), FeastValue::Str(String::new())),
            (Val::Int32(0), FeastValue::Int32(0)),
            (Val::Int32(-1), FeastValue::Int32(-1)),
            (Val::Int32(i32::MIN), FeastValue::Int32(i32::MIN)),
            (Val::Int32(i32::MAX), FeastValue::Int32(i32::MAX)),
            (Val::Int64(i64::MIN), FeastValue::Int64(i64::MIN)),
            (Val::Int64(i64::MAX), FeastValue::Int64(i64::MAX)),
            (Val::Double(-0.0), FeastValue::Double(-0.0)),
            (
                Val::Double(f64::INFINITY),
                FeastValue::Double(f64::INFINITY),
            ),
            (Val::Double(1e-300), FeastValue::Double(1e-300)),
            (Val::Float(0.7404), FeastValue::Float(0.7404)),
            (
                Val::Float(f32::NEG_INFINITY),
                FeastValue::Float(f32::NEG_INFINITY),
            ),
            (Val::Bool(true), FeastValue::Bool(true)),
            (Val::Bool(false), FeastValue::Bool(false)),
            (
                Val::UnixTimestamp(1_795_996_800),
                FeastValue::UnixTimestamp(1_795_996_800),
            ),
            (
                Val::UnixTimestamp(-86_400),
                FeastValue::UnixTimestamp(-86_400),
            ),
        ];
        for (val, expected) in cases {
            let bytes = encode(Some(val.clone()));
            assert!(
                !bytes.is_empty(),
                "oneof members are always written: {val:?}"
            );
            assert_eq!(
                decode_value(&bytes),
                Ok(expected),
                "{}",
                hex::encode(&bytes)
            );
        }
    }

    #[test]
    fn scalar_wire_details() {
        // A negative int32 is a sign-extended 10-byte varint.
        let bytes = encode(Some(Val::Int32(-1)));
        assert_eq!(bytes, unhex("18 ffffffffffffffffff01"));
        assert_eq!(decode_value(&bytes), Ok(FeastValue::Int32(-1)));
        // Empty string is written (`1200`) and differs from null (empty bytes).
        assert_eq!(encode(Some(Val::String(String::new()))), unhex("1200"));
        assert_eq!(encode(None), Vec::<u8>::new());
        assert_ne!(decode_value(&unhex("1200")), decode_value(b""));
        // Zeros are written explicitly in a oneof.
        assert_eq!(encode(Some(Val::Int64(0))), unhex("2000"));
        // An explicit `null_val` (field 19, varint) is null too.
        let null = encode(Some(Val::Null(proto::Null::Null as i32)));
        assert_eq!(null, unhex("9801 00"));
        assert_eq!(decode_value(&null), Ok(FeastValue::Null));
        // NaN survives the codec (Feast itself writes NaN as empty bytes).
        match decode_value(&encode(Some(Val::Float(f32::NAN)))) {
            Ok(FeastValue::Float(f)) => assert!(f.is_nan()),
            other => panic!("{other:?}"),
        }
        match decode_value(&encode(Some(Val::Double(f64::NAN)))) {
            Ok(FeastValue::Double(f)) => assert!(f.is_nan()),
            other => panic!("{other:?}"),
        }
        // Last oneof member on the wire wins.
        assert_eq!(decode_value(&unhex("2003 1805")), Ok(FeastValue::Int32(5)));
    }

    #[test]
    fn every_list_type_roundtrips() {
        let cases: Vec<(Val, FeastValue)> = vec![
            (
                Val::BytesList(proto::BytesList {
                    val: vec![vec![], vec![1, 2]],
                }),
                FeastValue::BytesList(vec![vec![], vec![1, 2]]),
            ),
            (
                Val::StringList(proto::StringList {
                    val: vec!["a".into(), String::new(), "Zürich".into()],
                }),
                FeastValue::StringList(vec!["a".into(), String::new(), "Zürich".into()]),
            ),
            (
                Val::Int32List(proto::Int32List {
                    val: vec![0, -1, i32::MAX, i32::MIN],
                }),
                FeastValue::Int32List(vec![0, -1, i32::MAX, i32::MIN]),
            ),
            (
                Val::Int64List(proto::Int64List {
                    val: vec![1, -2, i64::MIN],
                }),
                FeastValue::Int64List(vec![1, -2, i64::MIN]),
            ),
            (
                Val::DoubleList(proto::DoubleList {
                    val: vec![0.5, -3.9],
                }),
                FeastValue::DoubleList(vec![0.5, -3.9]),
            ),
            (
                Val::FloatList(proto::FloatList {
                    val: vec![0.25, 1e-3],
                }),
                FeastValue::FloatList(vec![0.25, 1e-3]),
            ),
            (
                Val::BoolList(proto::BoolList {
                    val: vec![true, false, true],
                }),
                FeastValue::BoolList(vec![true, false, true]),
            ),
            (
                Val::UnixTimestampList(proto::Int64List {
                    val: vec![0, 1_795_996_800],
                }),
                FeastValue::UnixTimestampList(vec![0, 1_795_996_800]),
            ),
            // Empty lists are still a set oneof member.
            (
                Val::Int64List(proto::Int64List { val: vec![] }),
                FeastValue::Int64List(vec![]),
            ),
            (
                Val::StringList(proto::StringList { val: vec![] }),
                FeastValue::StringList(vec![]),
            ),
        ];
        for (val, expected) in cases {
            let bytes = encode(Some(val));
            assert_eq!(
                decode_value(&bytes),
                Ok(expected),
                "{}",
                hex::encode(&bytes)
            );
        }
        // Numeric lists are packed by the writer; both encodings decode.
        let packed = encode(Some(Val::Int64List(proto::Int64List {
            val: vec![1, 2, 3],
        })));
        assert_eq!(packed, unhex("72 05 0a 03 010203"));
        assert_eq!(
            decode_value(&unhex("72 06 0801 0802 0803")),
            Ok(FeastValue::Int64List(vec![1, 2, 3]))
        );
        assert_eq!(
            encode(Some(Val::Int64List(proto::Int64List { val: vec![] }))),
            unhex("7200")
        );
        match decode_value(&encode(Some(Val::FloatList(proto::FloatList {
            val: vec![f32::NAN, 1.0],
        })))) {
            Ok(FeastValue::FloatList(v)) => assert!(v[0].is_nan() && v[1] == 1.0),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_members_are_unsupported() {
        // map_val (20, empty message), uuid_val (30, string), field 9 varint.
        assert_eq!(
            decode_value(&unhex("a201 00")),
            Ok(FeastValue::Unsupported(20))
        );
        assert_eq!(
            decode_value(&unhex("f201 01 61")),
            Ok(FeastValue::Unsupported(30))
        );
        assert_eq!(
            decode_value(&unhex("48 01")),
            Ok(FeastValue::Unsupported(9))
        );
        // Last member wins in both directions.
        assert_eq!(
            decode_value(&unhex("2003 a20100")),
            Ok(FeastValue::Unsupported(20))
        );
        assert_eq!(
            decode_value(&unhex("a20100 2003")),
            Ok(FeastValue::Int64(3))
        );
        assert_eq!(FeastValue::Unsupported(20).kind(), Some("unsupported"));
    }

    #[test]
    fn kinds_match_feast_oneof_names() {
        assert_eq!(FeastValue::Null.kind(), None);
        assert_eq!(FeastValue::Float(1.0).kind(), Some("float_val"));
        assert_eq!(FeastValue::Int32(1).kind(), Some("int32_val"));
        assert_eq!(
            FeastValue::UnixTimestampList(vec![]).kind(),
            Some("unix_timestamp_list_val")
        );
        assert!(FeastValue::Null.is_null());
        assert_eq!(FeastValue::Str("x".into()).as_f64(), None);
        assert_eq!(FeastValue::Int64(-3).as_f64(), Some(-3.0));
    }

    // ------------------------------------------------------------------ garbage

    #[test]
    fn garbage_values_are_errors() {
        let cases = [
            "35aaa539",                 // float truncated
            "29333333",                 // double truncated
            "20",                       // key without value
            "20ff",                     // truncated varint
            "20ffffffffffffffffffff01", // 11-byte varint
            "1205 6162",                // length past the end
            "12ffffffffffffffff7f 61",  // huge length
            "28 01",                    // double_val with varint wire type
            "35 2003",                  // float_val needs 4 bytes: only 2 left
            "15 01020304",              // string_val with fixed32 wire type
            "18 01020304 05",           // trailing junk after int32
            "1202 c328",                // invalid UTF-8 in string_val
            "00",                       // field number 0
            "0b",                       // start group
            "0c",                       // end group
            "0e",
            "0f",                   // wire types 6 and 7
            "72 03 0a 05 01",       // list whose inner length overruns
            "7a 02 0a 01",          // double list with a truncated packed payload
            "ffffffffffffffffffff", // overlong key
            "2003 ff",              // valid value then a truncated key
        ];
        for case in cases {
            let bytes = unhex(case);
            let res = decode_value(&bytes);
            let err = res.expect_err(case);
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "one line: {msg}");
            assert!(msg.starts_with("invalid feast.types.Value: "), "{msg}");
        }
        for case in [
            "08",
            "08ff",
            "0880f9b2d8",
            "10 ff",
            "0a 05 01",
            "0880f9b2d806 10 80 94 eb dc 03",
        ] {
            assert!(decode_timestamp(&unhex(case)).is_err(), "{case}");
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // Fixed LCG (Knuth MMIX constants) so failures reproduce.
        let mut state: u64 = 0x5eed_f00d;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u32
        };
        let (mut total, mut value_errs, mut ts_errs) = (0, 0, 0);
        for round in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Every other round starts with a plausible Value key to get past the first byte.
            if round % 2 == 1 && !bytes.is_empty() {
                bytes[0] = [
                    0x0a, 0x12, 0x18, 0x20, 0x29, 0x35, 0x38, 0x40, 0x5a, 0x62, 0x6a, 0x72, 0x7a,
                    0x82,
                ][(next() % 14) as usize];
            }
            total += 1;
            value_errs += usize::from(decode_value(&bytes).is_err());
            ts_errs += usize::from(decode_timestamp(&bytes).is_err());
            let _ = parse_entity_key(&bytes, "p");
            for cut in 0..bytes.len() {
                let _ = decode_value(&bytes[..cut]);
            }
        }
        // Random bytes are almost never a well-formed message.
        assert!(
            value_errs * 10 > total * 8,
            "{value_errs} of {total} were errors"
        );
        assert!(ts_errs * 10 > total * 5, "{ts_errs} of {total} were errors");
    }
}
