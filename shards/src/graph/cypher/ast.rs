//! The typed plan of a read-only Cypher query: clauses in order, patterns, expressions.

use serde_json::Value;

/// A query: its clauses in order, the last a `RETURN`.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The clauses.
    pub clauses: Vec<Clause>,
}

/// One clause.
#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    /// `[OPTIONAL] MATCH patterns [WHERE pred]`.
    Match {
        /// `OPTIONAL MATCH`: rows without a match are kept, the pattern's variables null.
        optional: bool,
        /// Comma-separated patterns.
        patterns: Vec<Pattern>,
        /// The filter.
        filter: Option<Expr>,
    },
    /// `UNWIND list AS name`.
    Unwind {
        /// The list.
        list: Expr,
        /// The variable each element is bound to.
        name: String,
    },
    /// `WITH projection [WHERE pred]`.
    With {
        /// What is carried on.
        projection: Projection,
        /// The filter, applied after projecting.
        filter: Option<Expr>,
    },
    /// `RETURN projection`.
    Return(Projection),
}

/// The items of a `WITH` or `RETURN`, and its `DISTINCT`, `ORDER BY`, `SKIP`, `LIMIT`.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// `DISTINCT`.
    pub distinct: bool,
    /// `*`: every variable in scope, then the items.
    pub star: bool,
    /// `(expression, name)`: the name is the alias, else the expression's text.
    pub items: Vec<(Expr, String)>,
    /// `ORDER BY` keys, descending when true.
    pub order: Vec<(Expr, bool)>,
    /// `SKIP n`.
    pub skip: Option<Expr>,
    /// `LIMIT n`.
    pub limit: Option<Expr>,
}

/// `p = (a)-[r]->(b)...`: a node, then relation and node steps.
#[derive(Clone, Debug, PartialEq)]
pub struct Pattern {
    /// A named path's variable.
    pub path: Option<String>,
    /// The first node.
    pub start: NodePattern,
    /// Each hop and the node it reaches.
    pub steps: Vec<(RelPattern, NodePattern)>,
}

/// `(var:Label:Other {key: expr})`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodePattern {
    /// The variable.
    pub var: Option<String>,
    /// Labels the node must all carry.
    pub labels: Vec<String>,
    /// Properties the node must have.
    pub props: Vec<(String, Expr)>,
}

/// Which way a relation pattern points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// `-[]->`.
    Out,
    /// `<-[]-`.
    In,
    /// `-[]-`.
    Either,
}

impl Dir {
    /// The same pattern read from the other end.
    pub fn flip(self) -> Self {
        match self {
            Dir::Out => Dir::In,
            Dir::In => Dir::Out,
            Dir::Either => Dir::Either,
        }
    }
}

/// `-[var:TYPE|OTHER*min..max {key: expr}]->`.
#[derive(Clone, Debug, PartialEq)]
pub struct RelPattern {
    /// The variable (a list of relations when variable-length).
    pub var: Option<String>,
    /// Types, any of which matches (none: any type).
    pub types: Vec<String>,
    /// Which way.
    pub dir: Dir,
    /// Hops `(min, max)` of a variable-length pattern (none: exactly one).
    pub hops: Option<(usize, usize)>,
    /// Properties the relation must have.
    pub props: Vec<(String, Expr)>,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `OR`.
    Or,
    /// `XOR`.
    Xor,
    /// `AND`.
    And,
    /// `=`.
    Eq,
    /// `<>`.
    Ne,
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `IN`.
    In,
    /// `STARTS WITH`.
    StartsWith,
    /// `ENDS WITH`.
    EndsWith,
    /// `CONTAINS`.
    Contains,
    /// `+`.
    Add,
    /// `-`.
    Sub,
    /// `*`.
    Mul,
    /// `/`.
    Div,
    /// `%`.
    Mod,
}

/// `ANY`, `ALL`, `NONE`, `SINGLE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    /// At least one element passes.
    Any,
    /// Every element passes.
    All,
    /// No element passes.
    None,
    /// Exactly one passes.
    Single,
}

/// An expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A literal (JSON: null, bool, number, string).
    Lit(Value),
    /// `$name`.
    Param(String),
    /// A variable.
    Var(String),
    /// `expr.key`.
    Prop(Box<Expr>, String),
    /// `n:Label:Other`: the node carries every label.
    HasLabels(Box<Expr>, Vec<String>),
    /// `[a, b, ...]`.
    List(Vec<Expr>),
    /// `{key: expr, ...}`.
    Map(Vec<(String, Expr)>),
    /// `a op b`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `NOT a`.
    Not(Box<Expr>),
    /// `-a`.
    Neg(Box<Expr>),
    /// `a IS NULL` (`IS NOT NULL` when negated).
    IsNull(Box<Expr>, bool),
    /// `list[index]`.
    Index(Box<Expr>, Box<Expr>),
    /// `list[from..to]`.
    Slice(Box<Expr>, Option<Box<Expr>>, Option<Box<Expr>>),
    /// `name(DISTINCT? args)`; `count(*)` has no argument.
    Call {
        /// The function, lower-cased.
        name: String,
        /// `DISTINCT` (aggregates).
        distinct: bool,
        /// The arguments.
        args: Vec<Expr>,
    },
    /// `[var IN list WHERE pred | map]`.
    Comprehension {
        /// The element variable.
        var: String,
        /// The list.
        list: Box<Expr>,
        /// Which elements.
        filter: Option<Box<Expr>>,
        /// What each becomes.
        map: Option<Box<Expr>>,
    },
    /// `ANY(var IN list WHERE pred)` and its kin.
    Quantified {
        /// Which.
        kind: Quantifier,
        /// The element variable.
        var: String,
        /// The list.
        list: Box<Expr>,
        /// The predicate.
        pred: Box<Expr>,
    },
    /// `CASE [subject] WHEN a THEN b ... [ELSE c] END`.
    Case {
        /// The compared value (simple form), if any.
        subject: Option<Box<Expr>>,
        /// `(when, then)` pairs.
        arms: Vec<(Expr, Expr)>,
        /// The value when no arm matches.
        otherwise: Option<Box<Expr>>,
    },
}

/// The aggregating functions.
pub const AGGREGATES: [&str; 6] = ["count", "collect", "min", "max", "avg", "sum"];

impl Expr {
    /// Whether an aggregate appears in it (outside list comprehensions' own scopes).
    pub fn has_aggregate(&self) -> bool {
        match self {
            Expr::Call { name, args, .. } => {
                AGGREGATES.contains(&name.as_str()) || args.iter().any(Expr::has_aggregate)
            }
            Expr::Lit(_) | Expr::Param(_) | Expr::Var(_) => false,
            Expr::Prop(e, _) | Expr::HasLabels(e, _) | Expr::Not(e) | Expr::Neg(e) | Expr::IsNull(e, _) => {
                e.has_aggregate()
            }
            Expr::List(items) => items.iter().any(Expr::has_aggregate),
            Expr::Map(items) => items.iter().any(|(_, e)| e.has_aggregate()),
            Expr::Bin(_, a, b) | Expr::Index(a, b) => a.has_aggregate() || b.has_aggregate(),
            Expr::Slice(a, b, c) => {
                a.has_aggregate()
                    || b.as_ref().is_some_and(|e| e.has_aggregate())
                    || c.as_ref().is_some_and(|e| e.has_aggregate())
            }
            Expr::Comprehension { list, .. } | Expr::Quantified { list, .. } => list.has_aggregate(),
            Expr::Case { subject, arms, otherwise } => {
                subject.as_ref().is_some_and(|e| e.has_aggregate())
                    || arms.iter().any(|(a, b)| a.has_aggregate() || b.has_aggregate())
                    || otherwise.as_ref().is_some_and(|e| e.has_aggregate())
            }
        }
    }
}
