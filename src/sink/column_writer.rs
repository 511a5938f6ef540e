//! A Parquet writer that encodes the columns of each batch in parallel.
//!
//! [`parquet::arrow::ArrowWriter`] encodes a batch's columns one after another on the calling
//! thread. gatelog's tables are wide (the `requests` table has some seventy columns) and the
//! encoding plus zstd is the largest single cost of a run, so [`ColumnParallelWriter`] hands
//! each column's leaves to its own [`ArrowColumnWriter`] on the current rayon pool (the
//! parquet crate's low-level API for exactly this) and splices the finished column chunks
//! into the row group in schema order.
//!
//! The bytes written do not depend on the thread count: every column chunk is encoded by one
//! writer from the same values, and row groups end at the same rows as `ArrowWriter`'s would
//! (the row cap and the estimated-bytes cap of the [`WriterProperties`]).

use std::io::Write;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{
    compute_leaves, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory,
};
use parquet::arrow::ArrowWriter;
use parquet::errors::Result;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

/// The row group being filled.
struct InProgress {
    writers: Vec<ArrowColumnWriter>,
    rows: usize,
}

impl InProgress {
    fn estimated_bytes(&self) -> usize {
        self.writers
            .iter()
            .map(ArrowColumnWriter::get_estimated_total_bytes)
            .sum()
    }
}

/// Writes [`RecordBatch`]es to a Parquet file, encoding columns in parallel.
pub struct ColumnParallelWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    max_rows: usize,
    max_bytes: usize,
    in_progress: Option<InProgress>,
}

impl<W: Write + Send> ColumnParallelWriter<W> {
    /// A writer of `schema` to `out` with `props` (the Arrow schema is embedded in the
    /// footer's metadata, as `ArrowWriter` does).
    pub fn try_new(out: W, schema: SchemaRef, props: WriterProperties) -> Result<Self> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let max_bytes = props.max_row_group_bytes().unwrap_or(usize::MAX).max(1);
        let (file, factory) =
            ArrowWriter::try_new(out, schema.clone(), Some(props))?.into_serialized_writer()?;
        Ok(ColumnParallelWriter {
            file,
            factory,
            schema,
            max_rows,
            max_bytes,
            in_progress: None,
        })
    }

    /// Appends `batch`, closing row groups as they reach the row or byte cap.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut remaining = batch.clone();
        while remaining.num_rows() > 0 {
            let group = self.file.flushed_row_groups().len();
            let ip = match &mut self.in_progress {
                Some(ip) => ip,
                slot => slot.insert(InProgress {
                    writers: self.factory.create_column_writers(group)?,
                    rows: 0,
                }),
            };
            // Rows that still fit: the row cap, and (once something is buffered) the byte cap
            // at the average row size so far.
            let mut take = remaining.num_rows().min(self.max_rows - ip.rows);
            let bytes = ip.estimated_bytes();
            if let Some(per_row) = bytes.checked_div(ip.rows) {
                if bytes >= self.max_bytes {
                    self.flush()?;
                    continue;
                }
                let fit = (self.max_bytes - bytes) / per_row.max(1);
                if fit == 0 {
                    self.flush()?;
                    continue;
                }
                take = take.min(fit);
            }
            let part = remaining.slice(0, take);
            remaining = remaining.slice(take, remaining.num_rows() - take);
            encode(&self.schema, ip, &part)?;
            if ip.rows >= self.max_rows || ip.estimated_bytes() >= self.max_bytes {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Ends the row group being filled (if any), writing its column chunks.
    pub fn flush(&mut self) -> Result<()> {
        let Some(ip) = self.in_progress.take() else {
            return Ok(());
        };
        let chunks = ip
            .writers
            .into_par_iter()
            .map(ArrowColumnWriter::close)
            .collect::<Result<Vec<_>>>()?;
        let mut rg = self.file.next_row_group()?;
        for c in chunks {
            c.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        Ok(())
    }

    /// Estimated bytes the row group being filled holds in memory (encoded pages and values
    /// not yet encoded).
    pub fn memory_size(&self) -> usize {
        self.in_progress.as_ref().map_or(0, |ip| {
            ip.writers.iter().map(ArrowColumnWriter::memory_size).sum()
        })
    }

    /// Ends the last row group and writes the footer.
    pub fn finish(&mut self) -> Result<ParquetMetaData> {
        self.flush()?;
        self.file.finish()
    }

    /// The underlying output.
    pub fn inner(&self) -> &W {
        self.file.inner()
    }

    /// Bytes written to the output so far.
    pub fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }
}

/// Encodes `batch` into the row group's column writers, a column per task.
fn encode(schema: &SchemaRef, ip: &mut InProgress, batch: &RecordBatch) -> Result<()> {
    let mut leaves: Vec<ArrowLeafColumn> = Vec::with_capacity(ip.writers.len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        leaves.extend(compute_leaves(field, column)?);
    }
    ip.writers
        .par_iter_mut()
        .zip(leaves.par_iter())
        .try_for_each(|(w, leaf)| w.write(leaf))?;
    ip.rows += batch.num_rows();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn batch(from: i64, n: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let ns: Vec<i64> = (from..from + n as i64).collect();
        let ss: Vec<Option<String>> = ns
            .iter()
            .map(|i| (i % 3 != 0).then(|| format!("value-{}", i % 17)))
            .collect();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(ns)) as ArrayRef,
                Arc::new(StringArray::from(ss)) as ArrayRef,
            ],
        )
        .unwrap()
    }

    fn props(max_rows: usize) -> WriterProperties {
        WriterProperties::builder()
            .set_max_row_group_row_count(Some(max_rows))
            .build()
    }

    #[test]
    fn writes_what_arrow_writer_writes_byte_for_byte() {
        let batches: Vec<RecordBatch> = (0..5).map(|i| batch(i * 700, 700)).collect();
        let schema = batches[0].schema();
        let mut ours =
            ColumnParallelWriter::try_new(Vec::new(), schema.clone(), props(1000)).unwrap();
        let mut theirs = ArrowWriter::try_new(Vec::new(), schema, Some(props(1000))).unwrap();
        for b in &batches {
            ours.write(b).unwrap();
            theirs.write(b).unwrap();
        }
        ours.flush().unwrap();
        theirs.flush().unwrap();
        let m = ours.finish().unwrap();
        theirs.finish().unwrap();
        assert_eq!(m.num_row_groups(), 4, "3,500 rows at 1,000 per group");
        assert_eq!(ours.inner(), theirs.inner());
    }

    #[test]
    fn the_thread_count_changes_no_byte() {
        let write = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let b = batch(0, 5_000);
                let mut w =
                    ColumnParallelWriter::try_new(Vec::new(), b.schema(), props(2048)).unwrap();
                w.write(&b).unwrap();
                w.write(&batch(5_000, 10)).unwrap();
                w.finish().unwrap();
                w.inner().clone()
            })
        };
        let one = write(1);
        assert_eq!(one, write(3));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        std::fs::write(&path, one).unwrap();
        let read: usize =
            ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(&path).unwrap())
                .unwrap()
                .build()
                .unwrap()
                .map(|b| b.unwrap().num_rows())
                .sum();
        assert_eq!(read, 5_010);
    }
}
