//! SCIM filters (RFC 7644 §3.4.2.2): a bounded recursive-descent parser and an evaluator over
//! a resource's JSON. Bounds: `MAX_FILTER_LEN` bytes and `MAX_DEPTH` nested groups, checked
//! before any recursion can grow, so a hostile filter costs at most a few kilobytes of work.
//!
//! Attribute names are case-insensitive; string comparisons are too, except for the
//! case-exact attributes `id` and `externalId` (RFC 7643 §3.1).

use serde_json::Value;

use super::{strip_core_urn, ScimError};

pub const MAX_FILTER_LEN: usize = 2048;
pub const MAX_DEPTH: usize = 16;
const MAX_TOKENS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
    Present(String),
    Compare(String, CompOp, Value),
    /// `emails[type eq "work"]`: some element of `attr` matches the inner filter.
    ValuePath(String, Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
}

fn invalid(msg: impl Into<String>) -> ScimError {
    ScimError::InvalidFilter(msg.into())
}

fn tokenize(s: &str) -> Result<Vec<Tok>, ScimError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if out.len() > MAX_TOKENS {
            return Err(invalid("filter has too many terms"));
        }
        match c {
            // Any Unicode white space separates (a word stops at it too, so every pass of this
            // loop consumes at least one character).
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    _ => Tok::RBracket,
                });
            }
            '"' => {
                // A JSON string: find its end honouring backslash escapes, then let serde decode.
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| invalid("unterminated string"))?;
                let lit: String = serde_json::from_str(&s[i..=end]).map_err(|_| invalid("bad string literal"))?;
                out.push(Tok::Str(lit));
            }
            _ => {
                let start = i;
                let mut end = s.len();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '[' | ']' | '"') {
                        end = j;
                        break;
                    }
                    chars.next();
                }
                out.push(Tok::Word(s[start..end].to_string()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw))
    }
    fn expect(&mut self, tok: Tok) -> Result<(), ScimError> {
        if self.next() == Some(tok.clone()) {
            Ok(())
        } else {
            Err(invalid(format!("expected {tok:?}")))
        }
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.unary(depth)?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("filter nests deeper than {MAX_DEPTH}")));
        }
        if self.keyword("not") && matches!(self.toks.get(self.pos + 1), Some(Tok::LParen)) {
            self.pos += 2;
            let inner = self.or(depth + 1)?;
            self.expect(Tok::RParen)?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::LParen) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        let attr = match self.next() {
            Some(Tok::Word(w)) => attr_name(&w)?,
            other => return Err(invalid(format!("expected an attribute, found {other:?}"))),
        };
        if self.peek() == Some(&Tok::LBracket) {
            self.pos += 1;
            let inner = self.or(depth + 1)?;
            self.expect(Tok::RBracket)?;
            return Ok(Filter::ValuePath(attr, Box::new(inner)));
        }
        let op = match self.next() {
            Some(Tok::Word(w)) => w.to_ascii_lowercase(),
            _ => return Err(invalid("expected an operator")),
        };
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(attr)),
            "eq" => CompOp::Eq,
            "ne" => CompOp::Ne,
            "co" => CompOp::Co,
            "sw" => CompOp::Sw,
            "ew" => CompOp::Ew,
            "gt" => CompOp::Gt,
            "ge" => CompOp::Ge,
            "lt" => CompOp::Lt,
            "le" => CompOp::Le,
            other => return Err(invalid(format!("unknown operator {other:?}"))),
        };
        let value = match self.next() {
            Some(Tok::Str(s)) => Value::String(s),
            Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                _ => number(&w).ok_or_else(|| invalid(format!("bad value {w:?}")))?,
            },
            _ => return Err(invalid("expected a value")),
        };
        Ok(Filter::Compare(attr, op, value))
    }
}

/// A JSON number. serde_json checks the grammar; a fraction or exponent is then read by the
/// standard library, which rounds correctly (serde_json's default float parser can be one unit
/// off, and a filter must read back the same from its own text).
fn number(w: &str) -> Option<Value> {
    let n = serde_json::from_str::<serde_json::Number>(w).ok()?;
    if n.is_f64() {
        serde_json::Number::from_f64(w.parse::<f64>().ok()?).map(Value::Number)
    } else {
        Some(Value::Number(n))
    }
}

/// An attribute path as written in a filter, without the core schema URN.
fn attr_name(raw: &str) -> Result<String, ScimError> {
    let name = strip_core_urn(raw);
    let ok = !name.is_empty()
        && name.len() <= 200
        && name.split('.').all(|seg| {
            !seg.is_empty() && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        });
    if ok {
        Ok(name.to_string())
    } else {
        Err(invalid(format!("bad attribute path {raw:?}")))
    }
}

pub fn parse(s: &str) -> Result<Filter, ScimError> {
    if s.len() > MAX_FILTER_LEN {
        return Err(invalid(format!("filter longer than {MAX_FILTER_LEN} bytes")));
    }
    let toks = tokenize(s)?;
    if toks.is_empty() {
        return Err(invalid("empty filter"));
    }
    let mut p = Parser { toks, pos: 0 };
    let f = p.or(0)?;
    if p.pos != p.toks.len() {
        return Err(invalid("unexpected text after the filter"));
    }
    Ok(f)
}

/// The key of `obj` matching `name` case-insensitively.
pub fn get_ci<'a>(obj: &'a Value, name: &str) -> Option<&'a Value> {
    obj.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Values at a dotted path, flattening multi-valued attributes on the way.
fn values_at<'a>(root: &'a Value, path: &str) -> Vec<&'a Value> {
    let mut cur = vec![root];
    for seg in path.split('.') {
        let mut next = Vec::new();
        for v in cur {
            match v {
                Value::Array(items) => next.extend(items.iter().filter_map(|i| get_ci(i, seg))),
                _ => next.extend(get_ci(v, seg)),
            }
        }
        cur = next
            .into_iter()
            .flat_map(|v| match v {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            })
            .collect();
    }
    cur
}

fn case_exact(attr: &str) -> bool {
    attr.eq_ignore_ascii_case("id") || attr.eq_ignore_ascii_case("externalId")
}

fn compare(actual: &Value, op: CompOp, expected: &Value, exact: bool) -> bool {
    match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = if exact { (a.clone(), e.clone()) } else { (a.to_lowercase(), e.to_lowercase()) };
            match op {
                CompOp::Eq => a == e,
                CompOp::Ne => a != e,
                CompOp::Co => a.contains(&e),
                CompOp::Sw => a.starts_with(&e),
                CompOp::Ew => a.ends_with(&e),
                CompOp::Gt => a > e,
                CompOp::Ge => a >= e,
                CompOp::Lt => a < e,
                CompOp::Le => a <= e,
            }
        }
        (Value::Bool(a), Value::Bool(e)) => match op {
            CompOp::Eq => a == e,
            CompOp::Ne => a != e,
            _ => false,
        },
        (Value::Number(a), Value::Number(e)) => {
            let (Some(a), Some(e)) = (a.as_f64(), e.as_f64()) else { return false };
            match op {
                CompOp::Eq => a == e,
                CompOp::Ne => a != e,
                CompOp::Gt => a > e,
                CompOp::Ge => a >= e,
                CompOp::Lt => a < e,
                CompOp::Le => a <= e,
                _ => false,
            }
        }
        _ => false,
    }
}

impl Filter {
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(a) => !a.matches(resource),
            Filter::Present(attr) => values_at(resource, attr).iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                _ => true,
            }),
            Filter::Compare(attr, op, expected) => {
                let values = values_at(resource, attr);
                if expected.is_null() {
                    // `attr eq null` holds for an unassigned attribute.
                    return match op {
                        CompOp::Eq => values.iter().all(|v| v.is_null()),
                        CompOp::Ne => values.iter().any(|v| !v.is_null()),
                        _ => false,
                    };
                }
                let exact = case_exact(attr);
                match op {
                    CompOp::Ne => !values.iter().any(|v| compare(v, CompOp::Eq, expected, exact)),
                    _ => values.iter().any(|v| compare(v, *op, expected, exact)),
                }
            }
            Filter::ValuePath(attr, inner) => match get_ci_path(resource, attr) {
                Some(Value::Array(items)) => items.iter().any(|i| inner.matches(i)),
                Some(v @ Value::Object(_)) => inner.matches(v),
                _ => false,
            },
        }
    }

    /// `userName eq "x"`: the lookup IdPs make before deciding between create and update.
    pub fn as_user_name_eq(&self) -> Option<&str> {
        match self {
            Filter::Compare(attr, CompOp::Eq, Value::String(s)) if attr.eq_ignore_ascii_case("userName") => Some(s),
            _ => None,
        }
    }
}

fn op_name(op: CompOp) -> &'static str {
    match op {
        CompOp::Eq => "eq",
        CompOp::Ne => "ne",
        CompOp::Co => "co",
        CompOp::Sw => "sw",
        CompOp::Ew => "ew",
        CompOp::Gt => "gt",
        CompOp::Ge => "ge",
        CompOp::Lt => "lt",
        CompOp::Le => "le",
    }
}

/// The filter as text that `parse` reads back to the same filter: `and` binds tighter than
/// `or`, both group to the left, and parentheses appear only where that needs them.
impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn group(f: &mut std::fmt::Formatter<'_>, x: &Filter, parens: bool) -> std::fmt::Result {
            if parens {
                write!(f, "({x})")
            } else {
                write!(f, "{x}")
            }
        }
        match self {
            Filter::Or(a, b) => {
                group(f, a, false)?;
                f.write_str(" or ")?;
                group(f, b, matches!(**b, Filter::Or(..)))
            }
            Filter::And(a, b) => {
                group(f, a, matches!(**a, Filter::Or(..)))?;
                f.write_str(" and ")?;
                group(f, b, matches!(**b, Filter::Or(..) | Filter::And(..)))
            }
            Filter::Not(x) => write!(f, "not ({x})"),
            Filter::Present(attr) => write!(f, "{attr} pr"),
            Filter::Compare(attr, op, v) => write!(f, "{attr} {} {v}", op_name(*op)),
            Filter::ValuePath(attr, inner) => write!(f, "{attr}[{inner}]"),
        }
    }
}

fn get_ci_path<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |v, seg| get_ci(v, seg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({"id": "ABC", "userName": "Alice@Example.com", "externalId": "Ext-1", "active": true,
               "name": {"givenName": "Alice"}, "emails": [{"value": "alice@example.com", "type": "work", "primary": true}],
               "meta": {"lastModified": "2026-01-02T00:00:00Z"}})
    }

    #[test]
    fn common_idp_filters_match() {
        let u = user();
        for (f, want) in [
            (r#"userName eq "alice@example.com""#, true),
            (r#"USERNAME Eq "ALICE@EXAMPLE.COM""#, true),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "alice@example.com""#, true),
            (r#"emails.value eq "alice@example.com""#, true),
            (r#"emails[type eq "work" and value co "@example"]"#, true),
            (r#"externalId eq "ext-1""#, false),
            (r#"externalId eq "Ext-1""#, true),
            (r#"userName eq "bob@example.com" or name.givenName sw "al""#, true),
            (r#"not (active eq true)"#, false),
            (r#"title pr"#, false),
            (r#"(userName ew ".com") and (meta.lastModified gt "2025-12-31T00:00:00Z")"#, true),
            (r#"displayName eq null"#, true),
        ] {
            assert_eq!(parse(f).unwrap().matches(&u), want, "{f}");
        }
    }

    #[test]
    fn bad_filters_are_invalid_filter_errors() {
        let deep = format!("{}userName pr{}", "(".repeat(40), ")".repeat(40));
        let long = format!("userName eq \"{}\"", "a".repeat(MAX_FILTER_LEN));
        for f in [
            "",
            "userName",
            "userName eq",
            "userName zz \"a\"",
            "(userName pr",
            "userName eq \"a",
            "a eq b c",
            &deep,
            &long,
            "userName eq \"a\"]",
        ] {
            assert!(matches!(parse(f), Err(ScimError::InvalidFilter(_))), "{f}");
        }
    }

    #[test]
    fn user_name_lookup_is_recognised() {
        assert_eq!(parse(r#"userName eq "a@b.c""#).unwrap().as_user_name_eq(), Some("a@b.c"));
        assert_eq!(parse(r#"userName co "a""#).unwrap().as_user_name_eq(), None);
    }
}
