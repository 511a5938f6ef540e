//! Arrow arrays built from plain vectors, a row at a time.
//!
//! The batches of a table are built row by row over some seventy columns (`parquet.rs`), so
//! the cost of one append is paid about seventy times per request. Arrow's builders check and
//! grow their buffers on every append and keep a lazily materialised null buffer; here a
//! column is a `Vec` of values (or of offsets and bytes) and packed validity bits, turned
//! into an array once the batch is complete. The arrays are equal to what the
//! builders make, so the Parquet bytes do not change.

use std::sync::Arc;

use arrow_array::types::ArrowPrimitiveType;
use arrow_array::{
    ArrayRef, BooleanArray, ListArray, MapArray, PrimitiveArray, StringArray, StructArray,
};
use arrow_buffer::{BooleanBuffer, Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, FieldRef, Fields};

/// Which rows of a column hold a value, one bit per row as Arrow keeps it.
#[derive(Debug, Default)]
pub struct Validity {
    bits: Vec<u8>,
    len: usize,
    nulls: usize,
}

impl Validity {
    pub fn with_capacity(rows: usize) -> Self {
        Validity {
            bits: Vec::with_capacity(rows.div_ceil(8)),
            len: 0,
            nulls: 0,
        }
    }

    #[inline]
    pub fn push(&mut self, valid: bool) {
        if self.len.is_multiple_of(8) {
            self.bits.push(0);
        }
        if let Some(last) = self.bits.last_mut() {
            *last |= u8::from(valid) << (self.len % 8);
        }
        self.len += 1;
        self.nulls += usize::from(!valid);
    }

    /// The null buffer, none when every row holds a value (as Arrow's builders leave it).
    pub fn finish(self) -> Option<NullBuffer> {
        (self.nulls > 0)
            .then(|| NullBuffer::new(BooleanBuffer::new(Buffer::from_vec(self.bits), 0, self.len)))
    }
}

/// Arrow's `i32` offsets: where each slot (a string, a list, a map) ends in the bytes or
/// items that follow, after a first 0.
#[derive(Debug)]
struct Offsets(Vec<i32>);

impl Offsets {
    /// Room for `slots` slots.
    fn with_capacity(slots: usize) -> Self {
        let mut v = Vec::with_capacity(slots + 1);
        v.push(0);
        Offsets(v)
    }

    /// Ends the next slot at `end`. Past `i32::MAX` (2 GiB of one column's strings, or as many
    /// list items or map entries, in one batch) is an error, not a panic.
    #[inline]
    fn push(&mut self, end: usize) -> Result<(), ArrowError> {
        let end = i32::try_from(end).map_err(|_| {
            ArrowError::ComputeError(format!(
                "one column of a batch passes Arrow's i32 offsets ({end} bytes or items)"
            ))
        })?;
        self.0.push(end);
        Ok(())
    }

    /// An empty slot.
    #[inline]
    fn push_empty(&mut self) {
        let end = self.0[self.0.len() - 1];
        self.0.push(end);
    }

    /// Slots so far.
    fn len(&self) -> usize {
        self.0.len() - 1
    }

    fn finish(self) -> OffsetBuffer<i32> {
        OffsetBuffer::new(ScalarBuffer::from(self.0))
    }
}

/// Strings one after another, with their end offsets.
#[derive(Debug)]
pub struct Strings {
    offsets: Offsets,
    bytes: Vec<u8>,
}

impl Strings {
    /// Room for `items` strings of `bytes` bytes in all.
    pub fn with_capacity(items: usize, bytes: usize) -> Self {
        Strings {
            offsets: Offsets::with_capacity(items),
            bytes: Vec::with_capacity(bytes),
        }
    }

    #[inline]
    pub fn push(&mut self, s: &str) -> Result<(), ArrowError> {
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(self.bytes.len())
    }

    /// An empty slot (under a null).
    #[inline]
    pub fn push_empty(&mut self) {
        self.offsets.push_empty();
    }

    /// Strings pushed so far.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    pub fn finish(self, nulls: Option<NullBuffer>) -> Result<StringArray, ArrowError> {
        if nulls.as_ref().is_some_and(|n| n.len() != self.len()) {
            return Err(ArrowError::InvalidArgumentError(format!(
                "{} strings, {} validity bits",
                self.len(),
                nulls.map_or(0, |n| n.len())
            )));
        }
        let offsets = self.offsets.finish();
        // SAFETY: the bytes are `&str`s one after another and every offset is the end of one
        // of them (or 0), so each slice between two offsets is valid UTF-8; the offsets are
        // ascending and end at the bytes' length (checked by `OffsetBuffer::new`), and the
        // null buffer, when there is one, has a bit per string (checked above). This is what
        // `StringBuilder::finish` skips checking too.
        Ok(unsafe { StringArray::new_unchecked(offsets, Buffer::from_vec(self.bytes), nulls) })
    }
}

/// A nullable string column.
#[derive(Debug)]
pub struct StringColumn {
    values: Strings,
    validity: Validity,
}

impl StringColumn {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        StringColumn {
            values: Strings::with_capacity(rows, bytes),
            validity: Validity::with_capacity(rows),
        }
    }

    #[inline]
    pub fn push(&mut self, v: Option<&str>) -> Result<(), ArrowError> {
        match v {
            Some(s) => self.values.push(s)?,
            None => self.values.push_empty(),
        }
        self.validity.push(v.is_some());
        Ok(())
    }

    pub fn finish(self) -> Result<ArrayRef, ArrowError> {
        Ok(Arc::new(self.values.finish(self.validity.finish())?))
    }
}

/// A nullable column of fixed-width values.
#[derive(Debug)]
pub struct PrimitiveColumn<T: ArrowPrimitiveType> {
    values: Vec<T::Native>,
    validity: Validity,
}

impl<T: ArrowPrimitiveType> PrimitiveColumn<T> {
    pub fn with_capacity(rows: usize) -> Self {
        PrimitiveColumn {
            values: Vec::with_capacity(rows),
            validity: Validity::with_capacity(rows),
        }
    }

    #[inline]
    pub fn push(&mut self, v: Option<T::Native>) {
        self.values.push(v.unwrap_or_default());
        self.validity.push(v.is_some());
    }

    pub fn finish(self) -> PrimitiveArray<T> {
        PrimitiveArray::new(ScalarBuffer::from(self.values), self.validity.finish())
    }
}

/// A nullable boolean column.
#[derive(Debug)]
pub struct BooleanColumn {
    values: Vec<bool>,
    validity: Validity,
}

impl BooleanColumn {
    pub fn with_capacity(rows: usize) -> Self {
        BooleanColumn {
            values: Vec::with_capacity(rows),
            validity: Validity::with_capacity(rows),
        }
    }

    #[inline]
    pub fn push(&mut self, v: Option<bool>) {
        self.values.push(v.unwrap_or_default());
        self.validity.push(v.is_some());
    }

    pub fn finish(self) -> ArrayRef {
        Arc::new(BooleanArray::new(
            BooleanBuffer::from(self.values),
            self.validity.finish(),
        ))
    }
}

/// A nullable `list<string>` column whose items are never null.
#[derive(Debug)]
pub struct ListColumn {
    offsets: Offsets,
    items: Strings,
    validity: Validity,
}

impl ListColumn {
    /// Room for `rows` lists of `items` strings of `bytes` bytes in all.
    pub fn with_capacity(rows: usize, items: usize, bytes: usize) -> Self {
        ListColumn {
            offsets: Offsets::with_capacity(rows),
            items: Strings::with_capacity(items, bytes),
            validity: Validity::with_capacity(rows),
        }
    }

    #[inline]
    pub fn push<S: AsRef<str>>(&mut self, list: Option<&[S]>) -> Result<(), ArrowError> {
        for item in list.unwrap_or_default() {
            self.items.push(item.as_ref())?;
        }
        self.offsets.push(self.items.len())?;
        self.validity.push(list.is_some());
        Ok(())
    }

    /// The column, its items typed by `item` (a non-null string field).
    pub fn finish(self, item: FieldRef) -> Result<ArrayRef, ArrowError> {
        let items = self.items.finish(None)?;
        Ok(Arc::new(ListArray::try_new(
            item,
            self.offsets.finish(),
            Arc::new(items),
            self.validity.finish(),
        )?))
    }
}

/// A non-null `map<string,string>` column.
#[derive(Debug)]
pub struct MapColumn {
    offsets: Offsets,
    keys: Strings,
    values: Strings,
}

impl MapColumn {
    /// Room for `rows` maps of `entries` entries, `key_bytes` and `value_bytes` in all.
    pub fn with_capacity(
        rows: usize,
        entries: usize,
        key_bytes: usize,
        value_bytes: usize,
    ) -> Self {
        MapColumn {
            offsets: Offsets::with_capacity(rows),
            keys: Strings::with_capacity(entries, key_bytes),
            values: Strings::with_capacity(entries, value_bytes),
        }
    }

    /// One row's map; a key seen before in the same map is left out with its value: Trino
    /// (Athena) fails the whole query on a map with a repeated key.
    #[inline]
    pub fn push(&mut self, pairs: &[(String, String)]) -> Result<(), ArrowError> {
        for (i, (k, v)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(seen, _)| seen == k) {
                continue;
            }
            self.keys.push(k)?;
            self.values.push(v)?;
        }
        self.offsets.push(self.keys.len())
    }

    /// The column, of `entries` (a struct of non-null `key` and `value` strings), unsorted.
    pub fn finish(self, entries: FieldRef) -> Result<ArrayRef, ArrowError> {
        let fields: Fields = match entries.data_type() {
            arrow_schema::DataType::Struct(f) => f.clone(),
            other => {
                return Err(ArrowError::SchemaError(format!(
                    "map entries must be a struct, not {other}"
                )))
            }
        };
        let keys: ArrayRef = Arc::new(self.keys.finish(None)?);
        let values: ArrayRef = Arc::new(self.values.finish(None)?);
        let entries_array = StructArray::try_new(fields, vec![keys, values], None)?;
        Ok(Arc::new(MapArray::try_new(
            entries,
            self.offsets.finish(),
            entries_array,
            None,
            false,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{
        BooleanBuilder, Int32Builder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder,
    };
    use arrow_array::types::Int32Type;
    use arrow_array::Array;
    use arrow_schema::{DataType, Field};

    fn item() -> FieldRef {
        Arc::new(Field::new("element", DataType::Utf8, false))
    }

    /// What [`ListColumn::push`] does, through Arrow's builder.
    fn append_list<S: AsRef<str>>(b: &mut ListBuilder<StringBuilder>, list: Option<&[S]>) {
        match list {
            Some(items) => {
                for i in items {
                    b.values().append_value(i);
                }
                b.append(true);
            }
            None => b.append(false),
        }
    }

    #[test]
    fn strings_equal_what_the_builder_makes_with_and_without_nulls() {
        let rows: [&[Option<&str>]; 3] = [
            &[Some("a"), None, Some(""), Some("naïve ☃"), None],
            &[Some("x"), Some("yz")],
            &[],
        ];
        for values in rows {
            let mut ours = StringColumn::with_capacity(0, 0);
            let mut theirs = StringBuilder::new();
            for v in values {
                ours.push(*v).unwrap();
                theirs.append_option(*v);
            }
            let ours = ours.finish().unwrap();
            let theirs: ArrayRef = Arc::new(theirs.finish());
            assert_eq!(ours.to_data(), theirs.to_data(), "{values:?}");
            assert_eq!(ours.nulls().is_some(), values.contains(&None));
        }
    }

    #[test]
    fn primitives_and_booleans_equal_what_the_builders_make() {
        let ints = [Some(403), None, Some(-1), Some(0)];
        let mut ours = PrimitiveColumn::<Int32Type>::with_capacity(1);
        let mut theirs = Int32Builder::new();
        for v in ints {
            ours.push(v);
            theirs.append_option(v);
        }
        assert_eq!(ours.finish().to_data(), theirs.finish().to_data());

        let bools = [Some(true), Some(false), None, Some(true)];
        let mut ours = BooleanColumn::with_capacity(0);
        let mut theirs = BooleanBuilder::new();
        for v in bools {
            ours.push(v);
            theirs.append_option(v);
        }
        assert_eq!(ours.finish().to_data(), theirs.finish().to_data());
    }

    #[test]
    fn lists_equal_what_the_builder_makes() {
        let rows: [Option<&[&str]>; 4] = [Some(&["a", "bc"]), None, Some(&[]), Some(&["d"])];
        let mut ours = ListColumn::with_capacity(2, 1, 1);
        let mut theirs = ListBuilder::new(StringBuilder::new()).with_field(item());
        for r in rows {
            ours.push(r).unwrap();
            append_list(&mut theirs, r);
        }
        let ours = ours.finish(item()).unwrap();
        assert_eq!(ours.to_data(), theirs.finish().to_data());
    }

    proptest::proptest! {
        /// Any rows of strings and lists (nulls, empty values, multi-byte text, more rows than
        /// the capacity) give the builders' arrays.
        #[test]
        fn any_rows_give_the_builders_arrays(
            rows in proptest::collection::vec(
                (
                    proptest::option::of("[a-zé☃\"]{0,12}"),
                    proptest::option::of(proptest::collection::vec("[a-z☃]{0,5}", 0..4)),
                ),
                0..80,
            ),
            rows_hint in 0usize..8,
            bytes_hint in 0usize..32,
        ) {
            let mut strings = StringColumn::with_capacity(rows_hint, bytes_hint);
            let mut lists = ListColumn::with_capacity(rows_hint, rows_hint, bytes_hint);
            let mut sb = StringBuilder::new();
            let mut lb = ListBuilder::new(StringBuilder::new()).with_field(item());
            for (s, l) in &rows {
                strings.push(s.as_deref()).unwrap();
                sb.append_option(s.as_deref());
                lists.push(l.as_deref()).unwrap();
                append_list(&mut lb, l.as_deref());
            }
            proptest::prop_assert_eq!(strings.finish().unwrap().to_data(), sb.finish().to_data());
            proptest::prop_assert_eq!(
                lists.finish(item()).unwrap().to_data(),
                lb.finish().to_data()
            );
        }
    }

    #[test]
    fn maps_equal_what_the_builder_makes_and_keep_a_keys_first_value() {
        let key = Arc::new(Field::new("key", DataType::Utf8, false));
        let value = Arc::new(Field::new("value", DataType::Utf8, false));
        let entries = Arc::new(Field::new(
            "entries",
            DataType::Struct(Fields::from(vec![key.clone(), value.clone()])),
            false,
        ));
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let rows = [
            pairs(&[("a", "1"), ("b", "2"), ("a", "3")]),
            pairs(&[]),
            pairs(&[("c", "")]),
        ];
        let mut ours = MapColumn::with_capacity(0, 0, 0, 0);
        let names = MapFieldNames {
            entry: "entries".into(),
            key: "key".into(),
            value: "value".into(),
        };
        let mut theirs = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new())
            .with_keys_field(key)
            .with_values_field(value);
        for r in &rows {
            ours.push(r).unwrap();
            let mut seen = Vec::new();
            for (k, v) in r {
                if !seen.contains(&k) {
                    seen.push(k);
                    theirs.keys().append_value(k);
                    theirs.values().append_value(v);
                }
            }
            theirs.append(true).unwrap();
        }
        let ours = ours.finish(entries).unwrap();
        let theirs = theirs.finish();
        assert_eq!(ours.to_data(), theirs.to_data());
        let map = ours.as_any().downcast_ref::<MapArray>().unwrap();
        assert_eq!(map.value_length(0), 2, "the repeated key is left out");
    }
}
