//! Container detection from the first decompressed bytes of a file (a UTF-8 BOM already
//! removed). Pure and cheap: it looks at the first line and at most [`CLI_EVENTS_WINDOW`]
//! bytes, never parses. Compression is not its business (see `decompress.rs`), nor is the
//! log kind (the records stage sniffs that from messages).

use memchr::memmem;

use super::timestamp;
use super::ContainerKind;

/// How far into a `{…` document to look for the `"events"` key of a CLI page that starts
/// with another key (`{"nextToken": …, "events": […]}`).
pub(crate) const CLI_EVENTS_WINDOW: usize = 4 << 10;

/// The container the first bytes of a decompressed stream look like.
///
/// In order: `{` + `"events"` → cli-json (also when `"events": [` appears within the first
/// 4 KiB of a `{` document); `{"messageType"` → firehose; a first line with JSON objects glued
/// `}{` → firehose (API Gateway's direct records); `[` + `{"@` → insights-json; a first line
/// naming `@message` and `@timestamp` → insights-csv; `2025-10-14T14:05:02.129Z ` →
/// s3-export; `2025-03-14T09:12:03.412000+00:00 stream ` or `2025-03-14T09:12:03 ` (ANSI
/// colour codes ignored) → tail; anything else → lines.
pub fn detect(first: &[u8]) -> ContainerKind {
    let first = first.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first);
    let trimmed = first.trim_ascii_start();
    let line_end = memchr::memchr(b'\n', first).unwrap_or(first.len());
    let first_line = &first[..line_end];
    if let Some(rest) = trimmed.strip_prefix(b"{") {
        let rest = rest.trim_ascii_start();
        if rest.starts_with(b"\"events\"") {
            return ContainerKind::CliJson;
        }
        if rest.starts_with(b"\"messageType\"") {
            return ContainerKind::Firehose;
        }
        let window = &trimmed[..trimmed.len().min(CLI_EVENTS_WINDOW)];
        if has_events_array(window) {
            return ContainerKind::CliJson;
        }
        if glued_objects(first_line) {
            return ContainerKind::Firehose;
        }
    }
    if let Some(rest) = trimmed.strip_prefix(b"[") {
        let rest = rest.trim_ascii_start();
        if let Some(rest) = rest.strip_prefix(b"{") {
            if rest.trim_ascii_start().starts_with(b"\"@") {
                return ContainerKind::InsightsJson;
            }
        }
    }
    if memmem::find(first_line, b"@message").is_some()
        && memmem::find(first_line, b"@timestamp").is_some()
    {
        return ContainerKind::InsightsCsv;
    }
    if timestamp::s3_export_prefix(first).is_some() {
        return ContainerKind::S3Export;
    }
    let plain;
    let line = if memchr::memchr(0x1b, first_line).is_some() {
        plain = super::tail::strip_ansi(first_line);
        &plain[..]
    } else {
        first_line
    };
    if let Some((_, n)) = timestamp::tail_detailed(line) {
        // `<timestamp> <stream> ` with a non-empty stream.
        if let Some(rest) = line[n..].strip_prefix(b" ") {
            if let Some(sp) = memchr::memchr(b' ', rest) {
                if sp > 0 {
                    return ContainerKind::Tail;
                }
            }
        }
    }
    if timestamp::tail_short(line).is_some() {
        return ContainerKind::Tail;
    }
    ContainerKind::Lines
}

/// Whether `"events"` followed by `:` and `[` occurs in `b`.
fn has_events_array(b: &[u8]) -> bool {
    memmem::find_iter(b, b"\"events\"").any(|i| {
        let rest = b[i + 8..].trim_ascii_start();
        rest.strip_prefix(b":")
            .is_some_and(|r| r.trim_ascii_start().starts_with(b"["))
    })
}

/// Whether a line holds JSON objects glued together: `}{`, possibly with blanks between.
fn glued_objects(line: &[u8]) -> bool {
    memchr::memchr_iter(b'}', line).any(|i| line[i + 1..].trim_ascii_start().starts_with(b"{"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ContainerKind::*;

    #[test]
    fn detects_every_container() {
        let cases: &[(&[u8], ContainerKind)] = &[
            (b"{\n    \"events\": [\n", CliJson),
            (b"{\"nextToken\": \"abc\", \"events\": []}", CliJson),
            (
                b"{\"messageType\":\"DATA_MESSAGE\",\"owner\":\"1\"}",
                Firehose,
            ),
            (b"{\"requestId\":\"a\"}{\"requestId\":\"b\"}", Firehose),
            (b"{\"requestId\":\"a\"}\n{\"requestId\":\"b\"}\n", Lines),
            (
                b"[\n  {\n    \"@timestamp\": \"2025-10-14 14:05:02.122\"",
                InsightsJson,
            ),
            (b"[{\"@message\":\"x\"}]", InsightsJson),
            (b"@timestamp,@log,@logStream,@message\n2025", InsightsCsv),
            (b"\xEF\xBB\xBF@timestamp,@message\n", InsightsCsv),
            (b"2025-10-14T14:05:02.129Z {\"requestId\":1}\n", S3Export),
            (
                b"2025-03-14T09:12:03.412000+00:00 e369 (abc) Extended\n",
                Tail,
            ),
            (
                b"\x1b[32m2025-03-14T09:12:03.412000+00:00\x1b[0m \x1b[36me369\x1b[0m msg\n",
                Tail,
            ),
            (b"2025-03-14T09:12:03 START RequestId: x\n", Tail),
            (b"2025-03-14T09:12:03.412Z\tabc\tINFO\tx\n", Lines),
            (b"(04ec2dfa) Extended Request Id: x\n", Lines),
            (b"192.0.2.10 - - [14/Oct/2025:14:05:02 +0000]", Lines),
            (b"", Lines),
            (b"{", Lines),
            (b"{\"events\"", CliJson),
            (b"[", Lines),
        ];
        for (bytes, want) in cases {
            assert_eq!(detect(bytes), *want, "{}", String::from_utf8_lossy(bytes));
        }
    }
}
