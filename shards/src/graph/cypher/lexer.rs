//! Cypher's tokens: identifiers (plain or backtick-quoted, so `__Entity__` and relation
//! types with spaces work), keywords (any case), strings in single or double quotes with
//! backslash escapes, integers and floats, `$parameters`, and punctuation. Each token
//! keeps where it starts and ends, so a `RETURN` item's column name can be its text.

use strata_api::Error;

/// A token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A name: a variable, label, type, property, function or keyword.
    Ident(String),
    /// A backtick-quoted name (never a keyword).
    Quoted(String),
    /// A string literal.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `$name`.
    Param(String),
    /// Punctuation or an operator: `( ) [ ] { } , : . .. | - -> <- > < = <> <= >= + * / % ^ ;`.
    Sym(&'static str),
}

/// A token and its span in the query text.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    /// What it is.
    pub tok: Tok,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past it.
    pub end: usize,
}

fn syntax(at: usize, what: impl std::fmt::Display) -> Error {
    Error::InvalidQuery(format!("{what} (at character {at})"))
}

const SYMBOLS: [&str; 26] = [
    "<>", "<=", ">=", "->", "<-", "..", "=~", "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "-", ">", "<", "=",
    "+", "*", "/", "%", ";",
];

/// Splits `text` into tokens.
pub fn tokens(text: &str) -> Result<Vec<Token>, Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if text[i..].starts_with("/*") {
            i = text[i + 2..].find("*/").map(|n| i + n + 4).ok_or_else(|| syntax(i, "unterminated comment"))?;
            continue;
        }
        let start = i;
        let tok = if c == b'`' {
            let close = text[i + 1..].find('`').ok_or_else(|| syntax(i, "unterminated `name`"))?;
            i += close + 2;
            Tok::Quoted(text[start + 1..i - 1].to_string())
        } else if c == b'\'' || c == b'"' {
            let (s, next) = string(text, i)?;
            i = next;
            Tok::Str(s)
        } else if c == b'$' {
            i += 1;
            let n = ident_len(&text[i..]);
            if n == 0 {
                return Err(syntax(start, "a parameter needs a name after $"));
            }
            i += n;
            Tok::Param(text[start + 1..i].to_string())
        } else if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            let (t, next) = number(text, i)?;
            i = next;
            t
        } else if let Some(sym) = SYMBOLS.iter().find(|s| text[i..].starts_with(**s)) {
            i += sym.len();
            Tok::Sym(sym)
        } else {
            let n = ident_len(&text[i..]);
            if n == 0 {
                let ch = text[i..].chars().next().unwrap_or(' ');
                return Err(syntax(i, format!("unexpected character {ch:?}")));
            }
            i += n;
            Tok::Ident(text[start..i].to_string())
        };
        out.push(Token { tok, start, end: i });
    }
    Ok(out)
}

fn ident_len(s: &str) -> usize {
    let mut n = 0;
    for (i, ch) in s.char_indices() {
        let ok = if i == 0 { ch.is_alphabetic() || ch == '_' } else { ch.is_alphanumeric() || ch == '_' };
        if !ok {
            break;
        }
        n = i + ch.len_utf8();
    }
    n
}

fn string(text: &str, start: usize) -> Result<(String, usize), Error> {
    let quote = text.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            c if c == quote => return Ok((out, start + 1 + i + 1)),
            '\\' => {
                let Some((j, esc)) = chars.next() else { break };
                match esc {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    'b' => out.push('\u{8}'),
                    'f' => out.push('\u{c}'),
                    '0' => out.push('\0'),
                    'u' => {
                        let hex = text.get(start + 1 + j + 1..start + 1 + j + 5).unwrap_or("");
                        let cp = u32::from_str_radix(hex, 16).ok().and_then(char::from_u32);
                        out.push(cp.ok_or_else(|| syntax(start + 1 + j, "a \\u escape needs four hex digits"))?);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    other => out.push(other),
                }
            }
            c => out.push(c),
        }
    }
    Err(syntax(start, "unterminated string"))
}

fn number(text: &str, start: usize) -> Result<(Tok, usize), Error> {
    let bytes = text.as_bytes();
    let mut i = start;
    let digits = |i: &mut usize| {
        while bytes.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    };
    digits(&mut i);
    let mut float = false;
    // `1..3` is a range, not the float `1.`.
    if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        i += 1;
        digits(&mut i);
    }
    if matches!(bytes.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            float = true;
            i = j;
            digits(&mut i);
        }
    }
    let s = &text[start..i];
    let tok = if float {
        Tok::Float(s.parse().map_err(|_| syntax(start, format!("bad number {s}")))?)
    } else {
        Tok::Int(s.parse().map_err(|_| syntax(start, format!("integer {s} is too large")))?)
    };
    Ok((tok, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<Tok> {
        tokens(q).expect("tokens").into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn names_strings_numbers_and_ranges() {
        assert_eq!(
            kinds("MATCH (a:`__Entity__` {name: $src})-[*1..2]-(b) RETURN 'it\\'s', \"x\\ty\", 1.5e3"),
            vec![
                Tok::Ident("MATCH".into()),
                Tok::Sym("("),
                Tok::Ident("a".into()),
                Tok::Sym(":"),
                Tok::Quoted("__Entity__".into()),
                Tok::Sym("{"),
                Tok::Ident("name".into()),
                Tok::Sym(":"),
                Tok::Param("src".into()),
                Tok::Sym("}"),
                Tok::Sym(")"),
                Tok::Sym("-"),
                Tok::Sym("["),
                Tok::Sym("*"),
                Tok::Int(1),
                Tok::Sym(".."),
                Tok::Int(2),
                Tok::Sym("]"),
                Tok::Sym("-"),
                Tok::Sym("("),
                Tok::Ident("b".into()),
                Tok::Sym(")"),
                Tok::Ident("RETURN".into()),
                Tok::Str("it's".into()),
                Tok::Sym(","),
                Tok::Str("x\ty".into()),
                Tok::Sym(","),
                Tok::Float(1500.0),
            ]
        );
    }

    #[test]
    fn errors_say_where() {
        for bad in ["RETURN 'open", "RETURN `open", "RETURN $", "RETURN #", "RETURN 99999999999999999999"] {
            let e = tokens(bad).expect_err(bad);
            assert!(matches!(e, Error::InvalidQuery(ref m) if m.contains("at character")), "{bad}: {e}");
        }
    }
}
