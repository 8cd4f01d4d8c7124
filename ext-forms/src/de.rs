//! Reading a form struct out of [`FormData`] with one error per field, the way WTForms reports
//! them, instead of serde's one error for the whole body.
//!
//! serde stops at the first value it cannot read. [`read`] runs the struct's `Deserialize`
//! again after each failure, answering the failed field with a neutral placeholder (`0`, `""`,
//! `false`, `None`, an empty list) so the next failure shows, until the struct reads or no
//! field is left to blame. A field absent from the body is first answered the way HTML forms
//! mean it (an unchecked checkbox is `false`, an empty multi-select an empty list, a missing
//! text input `""`); only types without such a meaning (numbers, choices) report it missing.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::value::{SeqDeserializer, StrDeserializer};
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use crate::data::{FieldRef, FieldValue, FormData};

/// What kind of value a field failed to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Absent, and the type has no empty form.
    Missing,
    /// Not an integer.
    Integer,
    /// Not a number.
    Float,
    /// Not one of an enum's variants.
    Choice,
    /// Anything else that does not fit the type.
    Invalid,
}

#[derive(Debug)]
pub(crate) struct DeError {
    kind: Kind,
    field: Option<String>,
    detail: String,
}

impl DeError {
    fn new(kind: Kind, detail: impl fmt::Display) -> Self {
        Self { kind, field: None, detail: detail.to_string() }
    }
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.detail),
            None => f.write_str(&self.detail),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::new(Kind::Invalid, msg)
    }

    fn missing_field(field: &'static str) -> Self {
        Self { kind: Kind::Missing, field: Some(field.to_owned()), detail: "missing".to_owned() }
    }

    fn unknown_variant(variant: &str, _expected: &'static [&'static str]) -> Self {
        Self::new(Kind::Choice, format_args!("unknown choice `{variant}`"))
    }
}

/// A field that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldFailure {
    /// The field's name; empty when the failure is not a field's.
    pub(crate) field: String,
    pub(crate) kind: Kind,
}

/// How many submitted names the rounds of one read may visit in all (past the first
/// [`MIN_ROUNDS`] rounds, which every form gets).
const ROUND_BUDGET: usize = 1 << 22;

/// The rounds every read may take, whatever its size: room for that many failing fields.
const MIN_ROUNDS: usize = 16;

/// Reads `T` from `data`. Returns the value (read with placeholders where fields failed) and
/// every field that failed; `None` when a failure could not be pinned on a field.
pub(crate) fn read<T: DeserializeOwned>(data: &FormData) -> (Option<T>, Vec<FieldFailure>) {
    let mut plan = Plan::default();
    let mut failures = Vec::new();
    // Each round blames a new field, so the rounds are bounded by the fields there can be; and
    // each visits every submitted name, so a large form gets fewer (a client chooses how many
    // names it sends, and a map-shaped form could otherwise blame each of them in turn).
    let rounds = (ROUND_BUDGET / (data.len() + 1)).clamp(MIN_ROUNDS, data.len() + 64);
    for _ in 0..=rounds {
        match T::deserialize(Root { data, plan: &plan }) {
            Ok(value) => return (Some(value), failures),
            Err(DeError { kind: Kind::Missing, field: Some(field), .. }) if !plan.absent.contains(&field) => {
                plan.absent.insert(field);
            }
            Err(DeError { kind, field: Some(field), .. }) if !plan.failed.contains(&field) => {
                failures.push(FieldFailure { field: field.clone(), kind });
                plan.failed.insert(field);
            }
            Err(err) => {
                tracing::debug!(error = %err, "form body did not fit the form");
                let field = err.field.unwrap_or_default();
                if !plan.failed.contains(&field) {
                    failures.push(FieldFailure { field, kind: err.kind });
                }
                return (None, failures);
            }
        }
    }
    // Out of rounds: the form is not valid, and says so even when no field was blamed yet.
    tracing::debug!(fields = data.len(), "form body needed more rounds than it may take");
    if failures.is_empty() {
        failures.push(FieldFailure { field: String::new(), kind: Kind::Invalid });
    }
    (None, failures)
}

#[derive(Default)]
struct Plan {
    /// Fields the body lacks: answered with their type's empty form.
    absent: BTreeSet<String>,
    /// Fields that failed: answered with a placeholder.
    failed: BTreeSet<String>,
}

struct Root<'a> {
    data: &'a FormData,
    plan: &'a Plan,
}

impl<'de> de::Deserializer<'de> for Root<'_> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // Borrowed names: the form and the plan outlive this pass.
        let plan = self.plan;
        // The submitted names, then those the plan answers that were not submitted (none, and
        // no allocation, on a form's first round).
        let mut planned: Vec<&str> = Vec::new();
        for name in plan.absent.iter().chain(&plan.failed) {
            if !self.data.contains(name) && !planned.contains(&name.as_str()) {
                planned.push(name);
            }
        }
        let keys = self
            .data
            .first_fields()
            .map(|field| (field.name(), Some(field)))
            .chain(planned.into_iter().map(|name| (name, None)));
        visitor.visit_map(Fields { root: self, keys, current: None })
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct Fields<'a, I> {
    root: Root<'a>,
    /// The names to read: the submitted ones, then those the plan answers.
    keys: I,
    /// The key just read, with its first field when it was submitted.
    current: Option<(&'a str, Option<FieldRef<'a>>)>,
}

impl<'de, 'a, I: Iterator<Item = (&'a str, Option<FieldRef<'a>>)>> MapAccess<'de> for Fields<'a, I> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        let Some((key, field)) = self.keys.next() else { return Ok(None) };
        let value = seed.deserialize(StrDeserializer::<DeError>::new(key))?;
        self.current = Some((key, field));
        Ok(Some(value))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (key, field) = self.current.take().unwrap_or_default();
        let result = match field {
            _ if self.root.plan.failed.contains(key) => seed.deserialize(Placeholder),
            Some(field) => seed.deserialize(Field(field)),
            None => seed.deserialize(Absent),
        };
        result.map_err(|mut err| {
            err.field.get_or_insert_with(|| key.to_owned());
            err
        })
    }
}

/// A submitted field: all its values, read from the form as needed (no list is built).
struct Field<'a>(FieldRef<'a>);

impl<'a> Field<'a> {
    fn values(&self) -> impl Iterator<Item = FieldValue<'a>> + 'a {
        self.0.values()
    }

    fn is_empty(&self) -> bool {
        self.values().all(|value| match value {
            FieldValue::Text(text) => text.is_empty(),
            FieldValue::Json(serde_json::Value::Null) => true,
            FieldValue::Json(_) => false,
        })
    }

    fn first(&self) -> Scalar<'a> {
        Scalar(Some(self.0.first()))
    }
}

macro_rules! to_first {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            self.first().$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Field<'_> {
    type Error = DeError;

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.is_empty() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        // A JSON array is one value holding the list.
        let mut values = self.values();
        if let (Some(FieldValue::Json(serde_json::Value::Array(_))), None) = (values.next(), values.next()) {
            return self.first().deserialize_seq(visitor);
        }
        visitor.visit_seq(SeqDeserializer::new(self.values().map(|value| Scalar(Some(value)))))
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.first().deserialize_enum(name, variants, visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.first().deserialize_map(visitor)
    }

    to_first! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_unit deserialize_map deserialize_identifier
        deserialize_ignored_any
    }
}

/// One value (`None`: a repeated field's list ran out, which cannot happen for a lone value).
struct Scalar<'a>(Option<FieldValue<'a>>);

impl<'a> Scalar<'a> {
    /// The value's text, or the JSON value when it is not a string.
    fn text(&self) -> Result<Result<&'a str, &'a serde_json::Value>, DeError> {
        match self.0 {
            Some(FieldValue::Text(text)) => Ok(Ok(text)),
            Some(FieldValue::Json(serde_json::Value::String(text))) => Ok(Ok(text)),
            Some(FieldValue::Json(value)) => Ok(Err(value)),
            None => Err(DeError::new(Kind::Missing, "no value")),
        }
    }
}

/// Runs `$method` on a JSON value, blaming failures on `$kind`.
macro_rules! json {
    ($value:expr, $kind:expr, $method:ident($($arg:expr),*)) => {
        de::Deserializer::$method($value.clone(), $($arg),*).map_err(|err| DeError::new($kind, err))
    };
}

macro_rules! integers {
    ($($method:ident $ty:ty => $visit:ident,)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.text()? {
                Ok(text) => match text.trim().parse::<$ty>() {
                    Ok(number) => visitor.$visit(number),
                    Err(err) => Err(DeError::new(Kind::Integer, err)),
                },
                Err(value) => json!(value, Kind::Integer, $method(visitor)),
            }
        }
    )*};
}

macro_rules! floats {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.text()? {
                Ok(text) => match text.trim().parse::<f64>() {
                    Ok(number) => visitor.visit_f64(number),
                    Err(err) => Err(DeError::new(Kind::Float, err)),
                },
                Err(value) => json!(value, Kind::Float, $method(visitor)),
            }
        }
    )*};
}

macro_rules! as_text {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            match self.text()? {
                Ok(text) => visitor.visit_str(text),
                Err(value) => json!(value, Kind::Invalid, $method(visitor)),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Scalar<'_> {
    type Error = DeError;

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.text()? {
            // WTForms' BooleanField: only "" and "false" are false; a checkbox sends anything else.
            Ok(text) => visitor.visit_bool(!matches!(text, "" | "false")),
            Err(value) => json!(value, Kind::Invalid, deserialize_bool(visitor)),
        }
    }

    integers! {
        deserialize_i8 i64 => visit_i64,
        deserialize_i16 i64 => visit_i64,
        deserialize_i32 i64 => visit_i64,
        deserialize_i64 i64 => visit_i64,
        deserialize_i128 i128 => visit_i128,
        deserialize_u8 u64 => visit_u64,
        deserialize_u16 u64 => visit_u64,
        deserialize_u32 u64 => visit_u64,
        deserialize_u64 u64 => visit_u64,
        deserialize_u128 u128 => visit_u128,
    }

    floats! { deserialize_f32 deserialize_f64 }

    as_text! { deserialize_any deserialize_str deserialize_string deserialize_identifier deserialize_char }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.text()? {
            Ok(text) => visitor.visit_bytes(text.as_bytes()),
            Err(value) => json!(value, Kind::Invalid, deserialize_bytes(visitor)),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.0 {
            None | Some(FieldValue::Json(serde_json::Value::Null) | FieldValue::Text("")) => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.text()? {
            Ok(_) => visitor.visit_seq(SeqDeserializer::new(std::iter::once(self))),
            Err(value) => json!(value, Kind::Invalid, deserialize_seq(visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.text()? {
            Ok(_) => Err(DeError::new(Kind::Invalid, "expected a group of fields, found text")),
            Err(value) => json!(value, Kind::Invalid, deserialize_map(visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.text()? {
            Ok(_) => Err(DeError::new(Kind::Invalid, "expected a group of fields, found text")),
            Err(value) => json!(value, Kind::Invalid, deserialize_struct(name, fields, visitor)),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.text()? {
            Ok(text) => visitor.visit_enum(StrDeserializer::<DeError>::new(text)),
            Err(value) => json!(value, Kind::Choice, deserialize_enum(name, variants, visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

impl IntoDeserializer<'_, DeError> for Scalar<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// Answers a field the body lacks with its type's empty form, when it has one.
struct Absent;

/// Answers a field that failed with a neutral value, so the rest of the form can be read.
struct Placeholder;

macro_rules! answers {
    ($ty:ident { $($method:ident => |$visitor:ident| $answer:expr,)* } forward { $($forward:ident)* } $($extra:item)*) => {
        impl<'de> de::Deserializer<'de> for $ty {
            type Error = DeError;

            $($extra)*

            $(fn $method<V: Visitor<'de>>(self, $visitor: V) -> Result<V::Value, DeError> {
                $answer
            })*

            fn deserialize_newtype_struct<V: Visitor<'de>>(
                self,
                _: &'static str,
                visitor: V,
            ) -> Result<V::Value, DeError> {
                visitor.visit_newtype_struct(self)
            }

            serde::forward_to_deserialize_any! { $($forward)* }
        }
    };
}

fn empty_seq<'de, V: Visitor<'de>>(visitor: V) -> Result<V::Value, DeError> {
    visitor.visit_seq(SeqDeserializer::<std::iter::Empty<Scalar<'static>>, DeError>::new(std::iter::empty()))
}

answers!(Absent {
    deserialize_any => |_visitor| Err(DeError::new(Kind::Missing, "missing")),
    deserialize_bool => |visitor| visitor.visit_bool(false),
    deserialize_option => |visitor| visitor.visit_none(),
    deserialize_seq => |visitor| empty_seq(visitor),
    deserialize_str => |visitor| visitor.visit_str(""),
    deserialize_string => |visitor| visitor.visit_str(""),
    deserialize_unit => |visitor| visitor.visit_unit(),
    deserialize_ignored_any => |visitor| visitor.visit_unit(),
} forward {
    i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf
    unit_struct tuple tuple_struct map struct enum identifier
});

answers!(Placeholder {
    deserialize_any => |visitor| visitor.visit_unit(),
    deserialize_bool => |visitor| visitor.visit_bool(false),
    deserialize_option => |visitor| visitor.visit_none(),
    deserialize_seq => |visitor| empty_seq(visitor),
    deserialize_str => |visitor| visitor.visit_str(""),
    deserialize_string => |visitor| visitor.visit_str(""),
    deserialize_unit => |visitor| visitor.visit_unit(),
    deserialize_ignored_any => |visitor| visitor.visit_unit(),
    deserialize_i8 => |visitor| visitor.visit_i64(0),
    deserialize_i16 => |visitor| visitor.visit_i64(0),
    deserialize_i32 => |visitor| visitor.visit_i64(0),
    deserialize_i64 => |visitor| visitor.visit_i64(0),
    deserialize_i128 => |visitor| visitor.visit_i128(0),
    deserialize_u8 => |visitor| visitor.visit_u64(0),
    deserialize_u16 => |visitor| visitor.visit_u64(0),
    deserialize_u32 => |visitor| visitor.visit_u64(0),
    deserialize_u64 => |visitor| visitor.visit_u64(0),
    deserialize_u128 => |visitor| visitor.visit_u128(0),
    deserialize_f32 => |visitor| visitor.visit_f64(0.0),
    deserialize_f64 => |visitor| visitor.visit_f64(0.0),
    deserialize_char => |visitor| visitor.visit_char(' '),
    deserialize_bytes => |visitor| visitor.visit_bytes(&[]),
    deserialize_byte_buf => |visitor| visitor.visit_bytes(&[]),
    deserialize_map => |visitor| visitor.visit_map(de::value::MapDeserializer::<
        std::iter::Empty<(&'static str, &'static str)>,
        DeError,
    >::new(std::iter::empty())),
} forward {
    unit_struct tuple tuple_struct struct identifier
}
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        // Any choice will do: the field is reported already.
        visitor.visit_enum(StrDeserializer::<DeError>::new(variants.first().copied().unwrap_or_default()))
    }
);

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Signup {
        username: String,
        age: u32,
        remember: bool,
        tags: Vec<String>,
        nickname: Option<String>,
        score: Option<f64>,
        plan: Plan2,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Plan2 {
        Free,
        Pro,
    }

    #[test]
    fn a_complete_form_reads() {
        // A repeated name is read from all its fields, wherever they are; a scalar from the first.
        let data =
            FormData::from_urlencoded(b"tags=a&username=ada&age=36&remember=y&tags=b&nickname=&plan=pro&age=99&tags=c");
        let (value, failures) = read::<Signup>(&data);
        assert!(failures.is_empty(), "{failures:?}");
        let value = value.unwrap();
        assert_eq!(value.age, 36);
        assert!(value.remember);
        assert_eq!(value.tags, ["a", "b", "c"]);
        assert_eq!(value.nickname, None, "an empty text input is no value");
        assert_eq!(value.plan, Plan2::Pro);
    }

    #[test]
    fn absent_fields_take_their_html_meaning_and_numbers_are_required() {
        let data = FormData::from_urlencoded(b"plan=free");
        let (value, failures) = read::<Signup>(&data);
        assert_eq!(failures, [FieldFailure { field: "age".into(), kind: Kind::Missing }]);
        let value = value.unwrap();
        assert_eq!((value.username.as_str(), value.remember, value.tags.len()), ("", false, 0));
    }

    #[test]
    fn every_bad_field_is_reported_not_only_the_first() {
        let data = FormData::from_urlencoded(b"username=ada&age=old&score=high&plan=gold&remember=false");
        let (_, failures) = read::<Signup>(&data);
        let mut found: Vec<(String, Kind)> = failures.into_iter().map(|f| (f.field, f.kind)).collect();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            found,
            [("age".into(), Kind::Integer), ("plan".into(), Kind::Choice), ("score".into(), Kind::Float)]
        );
    }

    #[test]
    fn a_large_form_that_keeps_failing_stops_within_its_budget() {
        // A map-shaped form blames each name that does not fit in a round of its own: with
        // many names its rounds are cut short, and the read still reports failures.
        let count = 100_000;
        let body: Vec<String> = (0..count).map(|i| format!("n{i}=x")).collect();
        let data = FormData::from_urlencoded(body.join("&").as_bytes());
        let (value, failures) = read::<std::collections::HashMap<String, u32>>(&data);
        assert!(value.is_none());
        let rounds = (ROUND_BUDGET / (count + 1)).max(MIN_ROUNDS);
        assert_eq!(failures.len(), rounds + 1, "one failure a round, no more rounds than the budget");
        assert!(failures.iter().all(|failure| failure.kind == Kind::Integer));
        // A small one gets a round for every failing name.
        let data = FormData::from_urlencoded(b"a=x&b=y&c=1");
        let (value, failures) = read::<std::collections::HashMap<String, u32>>(&data);
        assert_eq!((value.map(|map| map.len()), failures.len()), (Some(3), 2));
    }

    #[test]
    fn json_bodies_read_the_same_way() {
        let data = FormData::from_json(
            br#"{"username": "ada", "age": "36", "remember": true, "tags": ["x"], "plan": "free"}"#,
        )
        .unwrap();
        let (value, failures) = read::<Signup>(&data);
        assert!(failures.is_empty(), "{failures:?}");
        let value = value.unwrap();
        assert_eq!((value.age, value.remember, value.tags.as_slice()), (36, true, &["x".to_owned()][..]));
        let data = FormData::from_json(br#"{"username": 5, "age": -1, "plan": "free"}"#).unwrap();
        let (_, failures) = read::<Signup>(&data);
        assert!(failures.contains(&FieldFailure { field: "age".into(), kind: Kind::Integer }), "{failures:?}");
    }
}
