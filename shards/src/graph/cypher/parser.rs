//! A recursive-descent parser from tokens to the typed plan ([`super::ast`]). Anything
//! outside the read-only subset is refused with `UnsupportedCypher` naming the construct
//! (writes, procedures, `UNION`, regular expressions); anything malformed with
//! `InvalidQuery` saying where.

use super::ast::*;
use super::lexer::{Tok, Token, tokens};
use serde_json::Value;
use strata_api::Error;

/// Clauses that write or call procedures: refused by name.
const REFUSED: [&str; 17] = [
    "CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "CALL", "LOAD", "FOREACH", "UNION", "USE", "SHOW",
    "GRANT", "DENY", "REVOKE", "FINISH",
];

/// Parses a query, with the default nesting limit.
pub fn parse(text: &str) -> Result<Query, Error> {
    parse_within(text, super::budget::CypherLimits::default().max_depth)
}

/// Parses a query whose expressions nest at most `max_depth` levels (the evaluator's
/// limit too: every level of the plan, an operator chain's links included, is counted
/// as it is built, so no plan deeper than the limit is ever made, and the evaluator,
/// which counts its leaves too, never meets one deeper than it allows).
pub fn parse_within(text: &str, max_depth: usize) -> Result<Query, Error> {
    let mut p = Parser { text, toks: tokens(text)?, pos: 0, depth: 0, max_depth };
    let mut clauses = Vec::new();
    while !p.done() {
        if p.eat_sym(";") {
            if p.done() {
                break;
            }
            return Err(p.error("one statement only"));
        }
        clauses.push(p.clause()?);
    }
    match clauses.last() {
        Some(Clause::Return(_)) => {}
        _ => return Err(Error::InvalidQuery("a query ends with RETURN".into())),
    }
    if clauses[..clauses.len() - 1].iter().any(|c| matches!(c, Clause::Return(_))) {
        return Err(Error::InvalidQuery("RETURN can only end a query".into()));
    }
    Ok(Query { clauses })
}

struct Parser<'a> {
    text: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    max_depth: usize,
}

fn refused(construct: &str) -> Error {
    Error::UnsupportedCypher { construct: construct.to_string() }
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.toks.get(self.pos + n).map(|t| &t.tok)
    }

    fn at(&self) -> usize {
        self.toks.get(self.pos).map_or(self.text.len(), |t| t.start)
    }

    fn error(&self, what: impl std::fmt::Display) -> Error {
        let near =
            self.toks.get(self.pos).map_or("the end".to_string(), |t| format!("{:?}", &self.text[t.start..t.end]));
        Error::InvalidQuery(format!("{what}, near {near} (at character {})", self.at()))
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), Error> {
        if self.eat_kw(kw) { Ok(()) } else { Err(self.error(format!("expected {kw}"))) }
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Some(Tok::Sym(x)) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), Error> {
        if self.eat_sym(s) { Ok(()) } else { Err(self.error(format!("expected {s:?}"))) }
    }

    /// A name: a plain or backtick-quoted identifier.
    fn name(&mut self) -> Result<String, Error> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error("expected a name")),
        }
    }

    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth >= self.max_depth {
            return Err(Error::LimitExceeded {
                what: format!("nesting depth of a Cypher expression (at character {})", self.at()),
                limit: self.max_depth as u64,
                got: self.depth as u64 + 1,
            });
        }
        Ok(())
    }

    /// Runs one level of an operator chain's grammar, restoring the depth its links
    /// counted ([`Parser::deeper`] once per link: a chain nests as deep as it is long).
    fn chain(&mut self, level: fn(&mut Self) -> Result<Expr, Error>) -> Result<Expr, Error> {
        let depth = self.depth;
        let e = level(self);
        self.depth = depth;
        e
    }

    fn clause(&mut self) -> Result<Clause, Error> {
        if self.eat_kw("OPTIONAL") {
            self.expect_kw("MATCH")?;
            return self.match_clause(true);
        }
        if self.eat_kw("MATCH") {
            return self.match_clause(false);
        }
        if self.eat_kw("UNWIND") {
            let list = self.expr()?;
            self.expect_kw("AS")?;
            let name = self.name()?;
            return Ok(Clause::Unwind { list, name });
        }
        if self.eat_kw("WITH") {
            let projection = self.projection()?;
            let filter = if self.eat_kw("WHERE") { Some(self.expr()?) } else { None };
            return Ok(Clause::With { projection, filter });
        }
        if self.eat_kw("RETURN") {
            return Ok(Clause::Return(self.projection()?));
        }
        match self.peek() {
            Some(Tok::Ident(s)) if REFUSED.iter().any(|r| r.eq_ignore_ascii_case(s)) => Err(refused(&s.to_uppercase())),
            _ => Err(self.error("expected MATCH, OPTIONAL MATCH, UNWIND, WITH or RETURN")),
        }
    }

    fn match_clause(&mut self, optional: bool) -> Result<Clause, Error> {
        let mut patterns = vec![self.pattern()?];
        while self.eat_sym(",") {
            patterns.push(self.pattern()?);
        }
        let filter = if self.eat_kw("WHERE") { Some(self.expr()?) } else { None };
        Ok(Clause::Match { optional, patterns, filter })
    }

    fn pattern(&mut self) -> Result<Pattern, Error> {
        let path = match (self.peek(), self.peek_at(1)) {
            (Some(Tok::Ident(_) | Tok::Quoted(_)), Some(Tok::Sym("="))) => {
                let name = self.name()?;
                self.pos += 1;
                Some(name)
            }
            _ => None,
        };
        if self.is_kw("shortestPath") || self.is_kw("allShortestPaths") {
            return Err(refused("shortestPath"));
        }
        let start = self.node_pattern()?;
        let mut steps = Vec::new();
        while self.is_sym("-") || self.is_sym("<-") {
            let rel = self.rel_pattern()?;
            steps.push((rel, self.node_pattern()?));
        }
        Ok(Pattern { path, start, steps })
    }

    fn node_pattern(&mut self) -> Result<NodePattern, Error> {
        self.expect_sym("(")?;
        let mut n = NodePattern::default();
        if matches!(self.peek(), Some(Tok::Ident(_) | Tok::Quoted(_))) {
            n.var = Some(self.name()?);
        }
        while self.eat_sym(":") {
            n.labels.push(self.name()?);
        }
        if self.is_sym("{") {
            n.props = self.map_entries()?;
        }
        if self.is_kw("WHERE") {
            return Err(refused("WHERE inside a node pattern"));
        }
        self.expect_sym(")")?;
        Ok(n)
    }

    fn rel_pattern(&mut self) -> Result<RelPattern, Error> {
        let incoming = self.eat_sym("<-");
        if !incoming {
            self.expect_sym("-")?;
        }
        let mut r = RelPattern { var: None, types: Vec::new(), dir: Dir::Either, hops: None, props: Vec::new() };
        if self.eat_sym("[") {
            if matches!(self.peek(), Some(Tok::Ident(_) | Tok::Quoted(_))) {
                r.var = Some(self.name()?);
            }
            if self.eat_sym(":") {
                r.types.push(self.name()?);
                while self.eat_sym("|") {
                    self.eat_sym(":");
                    r.types.push(self.name()?);
                }
            }
            if self.eat_sym("*") {
                r.hops = Some(self.hops()?);
            }
            if self.is_sym("{") {
                r.props = self.map_entries()?;
            }
            self.expect_sym("]")?;
        }
        let outgoing = if self.eat_sym("->") {
            true
        } else {
            self.expect_sym("-")?;
            false
        };
        r.dir = match (incoming, outgoing) {
            (true, true) => return Err(self.error("a relation cannot point both ways")),
            (true, false) => Dir::In,
            (false, true) => Dir::Out,
            (false, false) => Dir::Either,
        };
        Ok(r)
    }

    /// `*`, `*n`, `*n..`, `*..m`, `*n..m` (an open upper end is capped at
    /// [`super::MAX_HOPS`]).
    fn hops(&mut self) -> Result<(usize, usize), Error> {
        let int = |p: &mut Self| -> Option<usize> {
            match p.peek() {
                Some(Tok::Int(n)) if *n >= 0 => {
                    let n = *n as usize;
                    p.pos += 1;
                    Some(n)
                }
                _ => None,
            }
        };
        let min = int(self);
        let (min, max) = if self.eat_sym("..") {
            (min.unwrap_or(1), int(self).unwrap_or(super::MAX_HOPS))
        } else {
            match min {
                Some(n) => (n, n),
                None => (1, super::MAX_HOPS),
            }
        };
        if max > super::MAX_HOPS {
            return Err(self.error(format!("variable-length relations go at most {} hops", super::MAX_HOPS)));
        }
        if min > max {
            return Err(self.error("the fewest hops exceed the most"));
        }
        Ok((min, max))
    }

    fn map_entries(&mut self) -> Result<Vec<(String, Expr)>, Error> {
        self.expect_sym("{")?;
        let mut out = Vec::new();
        if !self.eat_sym("}") {
            loop {
                let key = self.name()?;
                self.expect_sym(":")?;
                out.push((key, self.expr()?));
                if self.eat_sym("}") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(out)
    }

    fn projection(&mut self) -> Result<Projection, Error> {
        let distinct = self.eat_kw("DISTINCT");
        let mut p = Projection { distinct, star: false, items: Vec::new(), order: Vec::new(), skip: None, limit: None };
        if self.eat_sym("*") {
            p.star = true;
            if !self.eat_sym(",") {
                return self.projection_tail(p);
            }
        }
        loop {
            let start = self.at();
            let e = self.expr()?;
            let end = self.toks.get(self.pos.saturating_sub(1)).map_or(self.text.len(), |t| t.end);
            let name = if self.eat_kw("AS") { self.name()? } else { self.text[start..end].trim().to_string() };
            p.items.push((e, name));
            if !self.eat_sym(",") {
                break;
            }
        }
        self.projection_tail(p)
    }

    fn projection_tail(&mut self, mut p: Projection) -> Result<Projection, Error> {
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let e = self.expr()?;
                let desc = if self.eat_kw("DESC") || self.eat_kw("DESCENDING") {
                    true
                } else {
                    let _ = self.eat_kw("ASC") || self.eat_kw("ASCENDING");
                    false
                };
                p.order.push((e, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        if self.eat_kw("SKIP") {
            p.skip = Some(self.expr()?);
        }
        if self.eat_kw("LIMIT") {
            p.limit = Some(self.expr()?);
        }
        Ok(p)
    }

    /// An expression.
    pub fn expr(&mut self) -> Result<Expr, Error> {
        self.deeper()?;
        let e = self.or();
        self.depth -= 1;
        e
    }

    fn or(&mut self) -> Result<Expr, Error> {
        self.chain(Self::or_links)
    }

    fn or_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.xor()?;
        while self.eat_kw("OR") {
            self.deeper()?;
            e = Expr::Bin(BinOp::Or, Box::new(e), Box::new(self.xor()?));
        }
        Ok(e)
    }

    fn xor(&mut self) -> Result<Expr, Error> {
        self.chain(Self::xor_links)
    }

    fn xor_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.and()?;
        while self.eat_kw("XOR") {
            self.deeper()?;
            e = Expr::Bin(BinOp::Xor, Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, Error> {
        self.chain(Self::and_links)
    }

    fn and_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.not()?;
        while self.eat_kw("AND") {
            self.deeper()?;
            e = Expr::Bin(BinOp::And, Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, Error> {
        if self.eat_kw("NOT") {
            self.deeper()?;
            let inner = self.not();
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, Error> {
        self.chain(Self::comparison_links)
    }

    fn comparison_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.additive()?;
        loop {
            let op = match self.peek() {
                Some(Tok::Sym("=")) => BinOp::Eq,
                Some(Tok::Sym("<>")) => BinOp::Ne,
                Some(Tok::Sym("<")) => BinOp::Lt,
                Some(Tok::Sym("<=")) => BinOp::Le,
                Some(Tok::Sym(">")) => BinOp::Gt,
                Some(Tok::Sym(">=")) => BinOp::Ge,
                Some(Tok::Sym("=~")) => return Err(refused("=~ (regular expressions)")),
                Some(Tok::Sym("<-")) => {
                    // `a<-1`: less than minus one.
                    self.deeper()?;
                    self.pos += 1;
                    let rhs = Expr::Neg(Box::new(self.additive()?));
                    e = Expr::Bin(BinOp::Lt, Box::new(e), Box::new(rhs));
                    continue;
                }
                _ if self.is_kw("IS") => {
                    self.deeper()?;
                    self.pos += 1;
                    let negated = self.eat_kw("NOT");
                    self.expect_kw("NULL")?;
                    e = Expr::IsNull(Box::new(e), negated);
                    continue;
                }
                _ if self.is_kw("IN") => BinOp::In,
                _ if self.is_kw("CONTAINS") => BinOp::Contains,
                _ if self.is_kw("STARTS") && self.is_kw_at(1, "WITH") => {
                    self.pos += 1;
                    BinOp::StartsWith
                }
                _ if self.is_kw("ENDS") && self.is_kw_at(1, "WITH") => {
                    self.pos += 1;
                    BinOp::EndsWith
                }
                _ => return Ok(e),
            };
            self.deeper()?;
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.additive()?));
        }
    }

    fn additive(&mut self) -> Result<Expr, Error> {
        self.chain(Self::additive_links)
    }

    fn additive_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.multiplicative()?;
        loop {
            let op = if self.is_sym("+") {
                BinOp::Add
            } else if self.is_sym("-") {
                BinOp::Sub
            } else {
                return Ok(e);
            };
            self.deeper()?;
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, Error> {
        self.chain(Self::multiplicative_links)
    }

    fn multiplicative_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.unary()?;
        loop {
            let op = if self.is_sym("*") {
                BinOp::Mul
            } else if self.is_sym("/") {
                BinOp::Div
            } else if self.is_sym("%") {
                BinOp::Mod
            } else {
                return Ok(e);
            };
            self.deeper()?;
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        if self.eat_sym("-") {
            self.deeper()?;
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Expr::Neg(Box::new(inner?)));
        }
        if self.eat_sym("+") {
            self.deeper()?;
            let inner = self.unary();
            self.depth -= 1;
            return inner;
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr, Error> {
        self.chain(Self::postfix_links)
    }

    fn postfix_links(&mut self) -> Result<Expr, Error> {
        let mut e = self.atom()?;
        loop {
            if self.is_sym(".") || self.is_sym("[") || (matches!(e, Expr::Var(_)) && self.is_sym(":")) {
                self.deeper()?;
            }
            if self.eat_sym(".") {
                e = Expr::Prop(Box::new(e), self.name()?);
            } else if matches!(e, Expr::Var(_)) && self.is_sym(":") {
                let mut labels = Vec::new();
                while self.eat_sym(":") {
                    labels.push(self.name()?);
                }
                e = Expr::HasLabels(Box::new(e), labels);
            } else if self.eat_sym("[") {
                if self.eat_sym("..") {
                    let to = if self.is_sym("]") { None } else { Some(Box::new(self.expr()?)) };
                    self.expect_sym("]")?;
                    e = Expr::Slice(Box::new(e), None, to);
                    continue;
                }
                let first = self.expr()?;
                if self.eat_sym("..") {
                    let to = if self.is_sym("]") { None } else { Some(Box::new(self.expr()?)) };
                    self.expect_sym("]")?;
                    e = Expr::Slice(Box::new(e), Some(Box::new(first)), to);
                } else {
                    self.expect_sym("]")?;
                    e = Expr::Index(Box::new(e), Box::new(first));
                }
            } else if self.is_sym("{") {
                return Err(refused("map projection"));
            } else {
                return Ok(e);
            }
        }
    }

    fn atom(&mut self) -> Result<Expr, Error> {
        let tok = self.peek().cloned().ok_or_else(|| self.error("expected an expression"))?;
        match tok {
            Tok::Int(n) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::from(n)))
            }
            Tok::Float(f) => {
                self.pos += 1;
                Ok(Expr::Lit(serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)))
            }
            Tok::Str(s) => {
                self.pos += 1;
                Ok(Expr::Lit(Value::String(s)))
            }
            Tok::Param(p) => {
                self.pos += 1;
                Ok(Expr::Param(p))
            }
            Tok::Sym("(") => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect_sym(")")?;
                if self.is_sym("-") || self.is_sym("<-") {
                    return Err(refused("pattern expressions"));
                }
                Ok(e)
            }
            Tok::Sym("[") => self.list(),
            Tok::Sym("{") => Ok(Expr::Map(self.map_entries()?)),
            Tok::Quoted(name) => {
                self.pos += 1;
                Ok(Expr::Var(name))
            }
            Tok::Ident(word) => self.word(word),
            Tok::Sym(s) => Err(self.error(format!("unexpected {s:?}"))),
        }
    }

    fn word(&mut self, word: String) -> Result<Expr, Error> {
        let upper = word.to_uppercase();
        match upper.as_str() {
            "TRUE" | "FALSE" | "NULL" => {
                self.pos += 1;
                return Ok(Expr::Lit(match upper.as_str() {
                    "TRUE" => Value::Bool(true),
                    "FALSE" => Value::Bool(false),
                    _ => Value::Null,
                }));
            }
            "CASE" => {
                self.pos += 1;
                return self.case();
            }
            "EXISTS" if matches!(self.peek_at(1), Some(Tok::Sym("{"))) => return Err(refused("EXISTS subqueries")),
            "COUNT" if matches!(self.peek_at(1), Some(Tok::Sym("{"))) => return Err(refused("COUNT subqueries")),
            "ANY" | "ALL" | "NONE" | "SINGLE"
                if matches!(self.peek_at(1), Some(Tok::Sym("("))) && self.is_kw_at(3, "IN") =>
            {
                let kind = match upper.as_str() {
                    "ANY" => Quantifier::Any,
                    "ALL" => Quantifier::All,
                    "NONE" => Quantifier::None,
                    _ => Quantifier::Single,
                };
                self.pos += 2;
                let var = self.name()?;
                self.expect_kw("IN")?;
                let list = Box::new(self.expr()?);
                self.expect_kw("WHERE")?;
                let pred = Box::new(self.expr()?);
                self.expect_sym(")")?;
                return Ok(Expr::Quantified { kind, var, list, pred });
            }
            _ if REFUSED.contains(&upper.as_str()) => return Err(refused(&upper)),
            _ => {}
        }
        self.pos += 1;
        // A function call, possibly namespaced (`apoc.x.y(...)` is refused: no procedures
        // or plugins here).
        let mut name = word;
        let mut j = 0;
        while matches!(self.peek_at(j), Some(Tok::Sym("."))) && matches!(self.peek_at(j + 1), Some(Tok::Ident(_))) {
            j += 2;
        }
        if matches!(self.peek_at(j), Some(Tok::Sym("("))) {
            while self.eat_sym(".") {
                name.push('.');
                name.push_str(&self.name()?);
            }
            self.expect_sym("(")?;
            return self.call(name);
        }
        Ok(Expr::Var(name))
    }

    fn call(&mut self, name: String) -> Result<Expr, Error> {
        let lower = name.to_lowercase();
        if lower.contains('.') {
            return Err(refused(&format!("{name}() (procedures and plugins)")));
        }
        if lower == "count" && self.eat_sym("*") {
            self.expect_sym(")")?;
            return Ok(Expr::Call { name: lower, distinct: false, args: Vec::new() });
        }
        let distinct = self.eat_kw("DISTINCT");
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                args.push(self.expr()?);
                if self.eat_sym(")") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(Expr::Call { name: lower, distinct, args })
    }

    fn list(&mut self) -> Result<Expr, Error> {
        self.expect_sym("[")?;
        let comprehension = matches!(self.peek(), Some(Tok::Ident(_) | Tok::Quoted(_))) && self.is_kw_at(1, "IN");
        if comprehension {
            let var = self.name()?;
            self.expect_kw("IN")?;
            let list = Box::new(self.expr()?);
            let filter = if self.eat_kw("WHERE") { Some(Box::new(self.expr()?)) } else { None };
            let map = if self.eat_sym("|") { Some(Box::new(self.expr()?)) } else { None };
            self.expect_sym("]")?;
            return Ok(Expr::Comprehension { var, list, filter, map });
        }
        let mut items = Vec::new();
        if !self.eat_sym("]") {
            loop {
                items.push(self.expr()?);
                if self.eat_sym("]") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        Ok(Expr::List(items))
    }

    fn case(&mut self) -> Result<Expr, Error> {
        let subject = if self.is_kw("WHEN") { None } else { Some(Box::new(self.expr()?)) };
        let mut arms = Vec::new();
        while self.eat_kw("WHEN") {
            let when = self.expr()?;
            self.expect_kw("THEN")?;
            arms.push((when, self.expr()?));
        }
        if arms.is_empty() {
            return Err(self.error("CASE needs a WHEN"));
        }
        let otherwise = if self.eat_kw("ELSE") { Some(Box::new(self.expr()?)) } else { None };
        self.expect_kw("END")?;
        Ok(Expr::Case { subject, arms, otherwise })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verbatim_queries_parse() {
        let q =
            parse("MATCH (c:Chunk)-[:MENTIONS]->(o) WHERE o.name IN $names RETURN c.text, o.name, o.label").expect("1");
        let Some(Clause::Return(p)) = q.clauses.last() else { panic!("return") };
        let names: Vec<&str> = p.items.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(names, ["c.text", "o.name", "o.label"]);
        let q =
            parse("MATCH p=(a:`__Entity__` {name: $src})-[*1..2]-(b) RETURN [n IN nodes(p) | n.name] AS path LIMIT 25")
                .expect("2");
        let Clause::Match { patterns, .. } = &q.clauses[0] else { panic!("match") };
        assert_eq!(patterns[0].path.as_deref(), Some("p"));
        assert_eq!(patterns[0].start.labels, ["__Entity__"]);
        assert_eq!(patterns[0].steps[0].0.hops, Some((1, 2)));
        assert_eq!(patterns[0].steps[0].0.dir, Dir::Either);
    }

    #[test]
    fn writes_and_procedures_are_refused_by_name() {
        for (q, construct) in [
            ("CREATE (n:X) RETURN n", "CREATE"),
            ("MATCH (n) SET n.x = 1 RETURN n", "SET"),
            ("MATCH (n) DETACH DELETE n RETURN 1", "DETACH"),
            ("MERGE (n:X {id: 1}) RETURN n", "MERGE"),
            ("MATCH (n) REMOVE n.x RETURN n", "REMOVE"),
            ("CALL db.labels() YIELD label RETURN label", "CALL"),
            ("MATCH (n) RETURN n UNION MATCH (m) RETURN m", "UNION"),
            ("LOAD CSV FROM 'x' AS row RETURN row", "LOAD"),
            ("MATCH (n) WHERE n.name =~ 'a.*' RETURN n", "=~ (regular expressions)"),
            ("RETURN apoc.text.join(['a'], ',')", "apoc.text.join() (procedures and plugins)"),
        ] {
            match parse(q) {
                Err(Error::UnsupportedCypher { construct: c }) => assert_eq!(c, construct, "{q}"),
                other => panic!("{q}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_queries_say_where() {
        for q in [
            "MATCH (n RETURN n",
            "MATCH (n)",
            "RETURN",
            "MATCH (n)-[:R]->(m RETURN m",
            "RETURN 1 RETURN 2",
            "RETURN (1",
        ] {
            assert!(matches!(parse(q), Err(Error::InvalidQuery(_))), "{q}");
        }
        let deep = format!("RETURN {}1{}", "(".repeat(200), ")".repeat(200));
        assert!(matches!(parse(&deep), Err(Error::LimitExceeded { .. })), "nesting is bounded");
    }
}
