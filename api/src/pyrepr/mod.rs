//! Python's text forms of JSON values, byte for byte.
//!
//! LlamaIndex hashes nodes over `str(metadata)` (Python's `repr` of a dict) and writes its
//! persist files with `json.dumps`. Both forms differ from anything serde_json produces:
//! single-quoted strings with Python's escaping rules, `True`/`None`, floats such as `1e-07`,
//! and `\uXXXX`-escaped non-ASCII. Reproducing them exactly keeps our hashes equal to
//! LlamaIndex's (ingestion dedup depends on it) and our exported files identical to its own.

mod unprintable;

use serde_json::{Map, Value};
use std::fmt::Write as _;

/// Python's `repr()` of the value a JSON document decodes to (`json.loads`).
pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

/// Python's `str()` of the decoded value: strings as they are, everything else as `repr`.
pub fn str_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Python's `repr()` of a dict decoded from a JSON object.
pub fn repr_map(map: &Map<String, Value>) -> String {
    let mut out = String::new();
    write_repr_map(&mut out, map);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str_repr(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_repr_map(out, map),
    }
}

fn write_repr_map(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str_repr(out, k);
        out.push_str(": ");
        write_repr(out, v);
    }
    out.push('}');
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        out.push_str(&float_repr(f));
    }
}

/// Whether Python's `str.isprintable()` holds for this one character.
pub fn is_printable(c: char) -> bool {
    let cp = c as u32;
    unprintable::UNPRINTABLE
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_err()
}

/// Python's `repr()` of a `str`: quote choice and escapes as CPython's `unicode_repr`.
fn write_str_repr(out: &mut String, s: &str) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x7f => out.push(c),
            c if is_printable(c) => out.push(c),
            c => {
                let cp = c as u32;
                if cp <= 0xff {
                    let _ = write!(out, "\\x{cp:02x}");
                } else if cp <= 0xffff {
                    let _ = write!(out, "\\u{cp:04x}");
                } else {
                    let _ = write!(out, "\\U{cp:08x}");
                }
            }
        }
    }
    out.push(quote);
}

/// Python's `repr()` of a float: shortest round-trip digits, fixed notation for decimal
/// exponents in (-4, 16], otherwise `d.ddde±XX`, and `.0` on integral values.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // `{:e}` gives the shortest digits that round-trip, e.g. "1.2345e-7", but where two
    // strings of that length both round-trip it may pick either. Python (David Gay's
    // dtoa) prints the one nearest the value, an exact tie going to the even digit:
    // what exact formatting at that length gives (Rust rounds it half to even too).
    let a = f.abs();
    let shortest = format!("{a:e}");
    let digits = shortest.split('e').next().map_or(1, |m| m.chars().filter(char::is_ascii_digit).count());
    let nearest = format!("{a:.*e}", digits.saturating_sub(1));
    let chosen = if nearest.parse::<f64>() == Ok(a) { nearest } else { shortest };
    layout(&chosen, f < 0.0)
}

/// Python's `repr()` layout of an f32's shortest round-trip digits: what
/// `json.dumps` writes for a value that went through an f32 and printed as the shortest
/// text giving that f32 back (`0.898745`, not the f64 `0.8987449789047241`).
pub fn float32_repr(f: f32) -> String {
    if !f.is_finite() || f == 0.0 {
        return float_repr(f64::from(f));
    }
    layout(&format!("{:e}", f.abs()), f < 0.0)
}

/// Lays out `d.ddde±x` digits as Python's float `repr` does.
fn layout(sci: &str, negative: bool) -> String {
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if decpt > -4 && decpt <= 16 {
        let n = digits.len() as i32;
        if decpt <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-decpt) as usize));
            out.push_str(&digits);
        } else if decpt >= n {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (decpt - n) as usize));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..decpt as usize]);
            out.push('.');
            out.push_str(&digits[decpt as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let e = decpt - 1;
        let _ = write!(out, "e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    out
}

/// Python's `json.dumps(value)` with default arguments: `", "` and `": "` separators,
/// ASCII-only output, floats in `repr` form.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_dumps(&mut out, value, true);
    out
}

/// Python's `json.dumps(value, ensure_ascii=False)`: as [`dumps`], non-ASCII characters
/// written as they are.
pub fn dumps_unicode(value: &Value) -> String {
    let mut out = String::new();
    write_dumps(&mut out, value, false);
    out
}

fn write_dumps(out: &mut String, value: &Value, ascii: bool) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_json_str(out, s, ascii),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_dumps(out, item, ascii);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_str(out, k, ascii);
                out.push_str(": ");
                write_dumps(out, v, ascii);
            }
            out.push('}');
        }
    }
}

fn write_json_str(out: &mut String, s: &str, ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (' '..='~').contains(&c) => out.push(c),
            c if !ascii && c > '~' => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Replaces the bare `NaN`, `Infinity` and `-Infinity` tokens Python's `json.dumps` writes
/// (outside strings) with `null`, so serde_json can read files Python wrote.
pub fn sanitize_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return std::borrow::Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_string = false;
    let mut last = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == b'"' {
                in_string = false;
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"].into_iter().find(|t| bytes[i..].starts_with(t.as_bytes()));
        if let Some(t) = token {
            out.push_str(&text[last..i]);
            out.push_str("null");
            i += t.len();
            last = i;
            continue;
        }
        i += 1;
    }
    out.push_str(&text[last..]);
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests;
