//! Redaction of secrets found in any log text before it reaches an output: bearer tokens,
//! JSON Web Tokens, `Authorization` / `authorizationToken` / `x-api-key` values. Applied to
//! evidence, extra fields, reject excerpts, reports and `explain`. Masked values API Gateway
//! already wrote (`****…abc123`) are left as they are.

use std::borrow::Cow;

/// What replaces a secret.
pub const MASK: &str = "[redacted]";

/// Header / field names whose value is a secret (compared case-insensitively).
const SECRET_KEYS: [&str; 5] = [
    "authorizationtoken",
    "identity.apikey",
    "authorization",
    "x-api-key",
    "apikey",
];

/// Whether a field or header named `key` holds a secret.
pub fn is_secret_key(key: &str) -> bool {
    let k = key.trim_matches(['"', '\'']).to_ascii_lowercase();
    SECRET_KEYS.contains(&k.as_str()) || k == "x_api_key" || k == "api_key" || k == "token"
}

fn is_token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'=' | b'+' | b'/' | b'~')
}

/// Length of a JWT (`eyJ….….…`) starting at `b[0]`, if one does.
fn jwt_len(b: &[u8]) -> Option<usize> {
    if !b.starts_with(b"eyJ") {
        return None;
    }
    let len = b.iter().take_while(|c| is_token_byte(**c)).count();
    let dots = b[..len].iter().filter(|c| **c == b'.').count();
    (dots >= 2 && len >= 20).then_some(len)
}

/// Whether `s` already holds only a mask (`[redacted]`, `****…abc123`, empty).
fn already_masked(s: &[u8]) -> bool {
    s.is_empty() || s.starts_with(b"[redacted") || s.iter().take(4).all(|c| *c == b'*')
}

/// Whether `b` contains `eyJ`, or `bearer` or a secret key in any ASCII case: one pass, no
/// lowercased copy. Every needle starts with `e`, `b`, `a`, `i` or `x`.
fn may_hold_secret(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        let hit = match b[i] | 0x20 {
            b'e' => b[i..].starts_with(b"eyJ"),
            b'b' => starts_with_ignore_case(&b[i..], b"bearer"),
            b'a' | b'i' | b'x' => SECRET_KEYS
                .iter()
                .any(|k| starts_with_ignore_case(&b[i..], k.as_bytes())),
            _ => false,
        };
        if hit {
            return true;
        }
        i += 1;
    }
    false
}

fn starts_with_ignore_case(b: &[u8], needle: &[u8]) -> bool {
    b.len() >= needle.len() && b[..needle.len()].eq_ignore_ascii_case(needle)
}

/// Texts up to this long that were found clean are remembered, [`CLEAN_SLOTS`] per thread
/// (8 KiB): an IAM denial's message, naming the caller and the resource, runs to ~300 bytes.
const CLEAN_MAX: usize = 512;
/// How many: the gateway's own error messages (`Forbidden`, `User is not authorized to access
/// this resource…`) are a dozen or so, and one comes with most denied requests.
const CLEAN_SLOTS: usize = 16;

/// The texts [`scrub`] found clean lately (round robin, no allocation).
struct CleanTexts {
    text: [[u8; CLEAN_MAX]; CLEAN_SLOTS],
    len: [usize; CLEAN_SLOTS],
    next: usize,
}

impl CleanTexts {
    fn holds(&self, b: &[u8]) -> bool {
        (0..CLEAN_SLOTS).any(|k| self.len[k] == b.len() && &self.text[k][..b.len()] == b)
    }

    fn remember(&mut self, b: &[u8]) {
        let k = self.next;
        self.text[k][..b.len()].copy_from_slice(b);
        self.len[k] = b.len();
        self.next = (k + 1) % CLEAN_SLOTS;
    }
}

thread_local! {
    // Lengths start past `CLEAN_MAX`, which no remembered text has: every slot is empty.
    static CLEAN: std::cell::RefCell<CleanTexts> = const {
        std::cell::RefCell::new(CleanTexts {
            text: [[0; CLEAN_MAX]; CLEAN_SLOTS],
            len: [usize::MAX; CLEAN_SLOTS],
            next: 0,
        })
    };
}

/// Whether `b` holds nothing that could start a secret ([`may_hold_secret`]), answered from
/// [`CLEAN`] when it was asked lately: scanning a message byte by byte was about 1 % of a run.
fn is_clean(b: &[u8]) -> bool {
    if b.len() > CLEAN_MAX {
        return !may_hold_secret(b);
    }
    CLEAN.with(|c| {
        let mut c = c.borrow_mut();
        if c.holds(b) {
            return true;
        }
        let clean = !may_hold_secret(b);
        if clean {
            c.remember(b);
        }
        clean
    })
}

/// Returns `s` with every secret replaced by [`MASK`].
pub fn scrub(s: &str) -> Cow<'_, str> {
    let b = s.as_bytes();
    // Fast path: nothing that could start a secret.
    if is_clean(b) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(n) = jwt_len(&b[i..]) {
            out.push_str(MASK);
            i += n;
            continue;
        }
        if b[i..].len() >= 7 && b[i..i + 6].eq_ignore_ascii_case(b"bearer") && b[i + 6] == b' ' {
            let start = i + 7;
            let n = b[start..].iter().take_while(|c| is_token_byte(**c)).count();
            out.push_str(&s[i..start]);
            if n > 0 && !already_masked(&b[start..start + n]) {
                out.push_str(MASK);
            } else {
                out.push_str(&s[start..start + n]);
            }
            i = start + n;
            continue;
        }
        if let Some((val_start, val_end)) = secret_assignment(b, i) {
            out.push_str(&s[i..val_start]);
            let val = &b[val_start..val_end];
            if already_masked(val) || val.starts_with(b"Bearer ") || val.starts_with(b"bearer ") {
                // Bearer values are handled token by token above.
                out.push_str(&scrub(&s[val_start..val_end]));
            } else {
                out.push_str(MASK);
            }
            i = val_end;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8().max(1);
    }
    Cow::Owned(out)
}

/// At `i`, a secret key followed by `":"`, `=`, `: ` or `': '` and a value: returns
/// (start of value, end of value).
fn secret_assignment(b: &[u8], i: usize) -> Option<(usize, usize)> {
    // The key must start at a word boundary.
    if i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'-' || b[i - 1] == b'.') {
        return None;
    }
    SECRET_KEYS.iter().find_map(|key| assignment_of(b, i, key))
}

fn assignment_of(b: &[u8], i: usize, key: &str) -> Option<(usize, usize)> {
    if b.len() < i + key.len() || !b[i..i + key.len()].eq_ignore_ascii_case(key.as_bytes()) {
        return None;
    }
    let mut j = i + key.len();
    if j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
        return None;
    }
    // Skip a closing quote of the key, then the separator and an opening quote.
    while j < b.len() && matches!(b[j], b'"' | b'\'') {
        j += 1;
    }
    let sep_start = j;
    while j < b.len() && matches!(b[j], b':' | b'=' | b' ') {
        j += 1;
    }
    if j == sep_start {
        return None;
    }
    let quote = match b.get(j) {
        Some(q @ (b'"' | b'\'')) => {
            j += 1;
            Some(*q)
        }
        _ => None,
    };
    let start = j;
    let end = match quote {
        Some(q) => {
            let mut k = j;
            while k < b.len() && b[k] != q {
                if b[k] == b'\\' {
                    k += 1;
                }
                k += 1;
            }
            k.min(b.len())
        }
        None => {
            let mut k = j;
            while k < b.len() && !matches!(b[k], b',' | b'}' | b']' | b'\t' | b'\n' | b'&') {
                k += 1;
            }
            k
        }
    };
    (end > start).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            scrub("Method completed with status: 403"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn bearer_and_jwt() {
        let s = format!(r#"{{"Authorization":"Bearer {JWT}","x":"y"}}"#);
        let r = scrub(&s);
        assert!(!r.contains("SflKxw"), "{r}");
        assert!(r.contains(r#""x":"y""#));
        assert_eq!(scrub(&format!("token {JWT} end")), "token [redacted] end");
        assert_eq!(scrub("Bearer abc.def-123"), "Bearer [redacted]");
        assert_eq!(scrub("Bearer [redacted]"), "Bearer [redacted]");
    }

    #[test]
    fn header_maps_and_api_keys() {
        let r = scrub("{x-api-key=AKIAsecretvalue123, Host=abc}");
        assert_eq!(r, "{x-api-key=[redacted], Host=abc}");
        let r = scrub(r#"{'authorizationToken': 'allow-me-please', 'methodArn': 'arn'}"#);
        assert_eq!(
            r,
            r#"{'authorizationToken': '[redacted]', 'methodArn': 'arn'}"#
        );
        // API Gateway's own masks stay readable.
        let r = scrub("Authorization=**********************abc123, X=1");
        assert_eq!(r, "Authorization=**********************abc123, X=1");
    }

    #[test]
    fn texts_found_clean_are_remembered_and_secrets_never_are() {
        let clean = "User is not authorized to access this resource with an explicit deny";
        let secret = "Authorization: Bearer abc.def.ghi";
        // More texts than slots, each asked twice, in turns: every answer is the scan's.
        let texts: Vec<String> = (0..3 * CLEAN_SLOTS)
            .map(|i| format!("{clean} #{i}"))
            .chain([secret.to_string(), "x".repeat(CLEAN_MAX + 1)])
            .collect();
        for _ in 0..2 {
            for t in &texts {
                assert_eq!(
                    is_clean(t.as_bytes()),
                    !may_hold_secret(t.as_bytes()),
                    "{t}"
                );
            }
        }
        assert!(is_clean(clean.as_bytes()) && is_clean(clean.as_bytes()));
        assert!(CLEAN.with(|c| c.borrow().holds(clean.as_bytes())));
        // A secret is never remembered as clean, so it is masked every time.
        for _ in 0..3 {
            assert_eq!(scrub(secret), "Authorization: Bearer [redacted]");
        }
        // Same length as a remembered clean text, other bytes.
        let twin = clean.replace("deny", "Deny");
        assert!(is_clean(twin.as_bytes()));
        let sneaky = format!("{}x-api-key", &clean[..clean.len() - 9]);
        assert_eq!(sneaky.len(), clean.len());
        assert!(!is_clean(sneaky.as_bytes()));
        assert!(is_clean(b"") && is_clean(b""));
    }

    #[test]
    fn fast_check_agrees_with_searching_a_lowercased_copy() {
        let slow = |s: &str| {
            let lower = s.to_ascii_lowercase();
            s.contains("eyJ")
                || lower.contains("bearer")
                || SECRET_KEYS.iter().any(|k| lower.contains(k))
        };
        for s in [
            "",
            "Method completed with status: 403",
            "eyJ",
            "EYJ",
            "eyj",
            "BeArEr x",
            "beare",
            "X-API-KEY",
            "x-api-ke",
            "Identity.ApiKey=1",
            "AUTHORIZATIONTOKEN",
            "myapikey",
            "authorizatio",
            "é x-api-key é",
            "abxie",
        ] {
            assert_eq!(may_hold_secret(s.as_bytes()), slow(s), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_check_agrees_on_any_text(s in "(eyJ|EyJ|bearer|BEARER|x-api-key|X-Api-Key|apikey|apiKEY|authorization|token|identity.apikey|[a-zA-Z .=:é-]){0,12}") {
            let lower = s.to_ascii_lowercase();
            let slow = s.contains("eyJ")
                || lower.contains("bearer")
                || SECRET_KEYS.iter().any(|k| lower.contains(k));
            proptest::prop_assert_eq!(may_hold_secret(s.as_bytes()), slow);
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for s in [
            "Authorization",
            "Authorization:",
            "eyJ",
            "bearer",
            "Bearer ",
            "é Authorization=é",
            "\"apiKey\":\"",
            "x-api-key'",
        ] {
            let _ = scrub(s);
        }
    }
}
