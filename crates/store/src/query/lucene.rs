//! A parser for the subset of the Lucene query-string syntax that `_string` queries use.
//!
//! Supported: `field:value`, `field:"a phrase"`, bare words and phrases (full text over the
//! whole document), `AND`/`OR`/`NOT`, `&&`/`||`/`!`, `+`/`-` prefixes, parentheses (also
//! `field:(a OR b)`), wildcards `*` and `?`, ranges `field:[a TO b]`, `field:{a TO b}` (mixed
//! brackets and `*` bounds allowed), comparisons `field:>=5`, `_exists_:field`, `*`/`*:*`,
//! backslash escapes; boosts (`^2`) and fuzziness (`~1`) are accepted and ignored.
//!
//! Precedence, loosest first: `OR`, `AND`, juxtaposition, prefixes. Juxtaposed clauses follow
//! Lucene's boolean rules with `OR` as the default operator: `+` clauses are required, `-`
//! clauses are excluded, and when no clause is required at least one plain clause must match.
//!
//! A value on a field means: a number or `true`/`false` an exact match, a word or phrase a
//! [`Query::Like`] match of its words, a pattern with wildcards a [`Query::Wildcard`], and `*`
//! that the field exists.

use serde_json::Value;

use super::dsl::MAX_DEPTH;
use super::{Query, RangeOp};
use crate::{Result, StoreError};

/// Parses a `_string` query into a tree. Empty text matches everything.
pub fn parse_query_string(text: &str) -> Result<Query> {
    let tokens = lex(text)?;
    let mut parser = Parser {
        tokens,
        position: 0,
    };
    if parser.tokens.is_empty() {
        return Ok(Query::All);
    }
    let query = parser.parse_or(None, 0)?;
    match parser.peek() {
        None => Ok(query),
        Some(Token::RParen) => Err(invalid("a `)` has no matching `(`")),
        Some(other) => Err(invalid(format!(
            "unexpected {} in the query string",
            other.describe()
        ))),
    }
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::InvalidQuery(format!("_string: {}", message.into()))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Plus,
    Minus,
    /// `name:`
    Field(String),
    /// A word: its unescaped text, its text with escapes kept, and whether it holds an
    /// unescaped `*` or `?`.
    Term {
        text: String,
        pattern: String,
        wildcard: bool,
    },
    Phrase(String),
    Range {
        lower: String,
        upper: String,
        lower_inclusive: bool,
        upper_inclusive: bool,
    },
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::LParen => "`(`".into(),
            Token::RParen => "`)`".into(),
            Token::And => "AND".into(),
            Token::Or => "OR".into(),
            Token::Not => "NOT".into(),
            Token::Plus => "`+`".into(),
            Token::Minus => "`-`".into(),
            Token::Field(name) => format!("field `{name}:`"),
            Token::Term { text, .. } => format!("`{text}`"),
            Token::Phrase(text) => format!("phrase \"{text}\""),
            Token::Range { .. } => "a range".into(),
        }
    }
}

/// Characters that end a word.
fn is_special(character: char) -> bool {
    matches!(
        character,
        '(' | ')' | '[' | ']' | '{' | '}' | '"' | ':' | '^' | '~'
    ) || character.is_whitespace()
}

fn lex(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let character = chars[index];
        let glued_to_field =
            matches!(tokens.last(), Some(Token::Field(_))) && index > 0 && chars[index - 1] == ':';
        match character {
            c if c.is_whitespace() => index += 1,
            '(' => {
                tokens.push(Token::LParen);
                index += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                index += 1;
                index = skip_suffix(&chars, index);
            }
            '"' => {
                let (phrase, next) = lex_phrase(&chars, index + 1)?;
                tokens.push(Token::Phrase(phrase));
                index = skip_suffix(&chars, next);
            }
            '[' | '{' => {
                let (range, next) = lex_range(&chars, index)?;
                tokens.push(range);
                index = skip_suffix(&chars, next);
            }
            ']' | '}' => return Err(invalid(format!("a `{character}` closes no range"))),
            ':' => return Err(invalid("a `:` has no field name before it")),
            '^' | '~' => index = skip_suffix(&chars, index),
            '&' if chars.get(index + 1) == Some(&'&') => {
                tokens.push(Token::And);
                index += 2;
            }
            '|' if chars.get(index + 1) == Some(&'|') => {
                tokens.push(Token::Or);
                index += 2;
            }
            '+' | '-' | '!' if !(glued_to_field && starts_number(&chars, index + 1)) => {
                tokens.push(if character == '+' {
                    Token::Plus
                } else {
                    Token::Minus
                });
                index += 1;
            }
            _ => {
                let (token, next) = lex_word(&chars, index)?;
                tokens.push(token);
                index = next;
            }
        }
    }
    Ok(tokens)
}

fn starts_number(chars: &[char], index: usize) -> bool {
    chars.get(index).is_some_and(|c| c.is_ascii_digit())
}

/// Skips a boost (`^2.5`) or fuzziness (`~`, `~2`) suffix.
fn skip_suffix(chars: &[char], mut index: usize) -> usize {
    while let Some('^' | '~') = chars.get(index) {
        index += 1;
        while chars
            .get(index)
            .is_some_and(|c| c.is_ascii_digit() || *c == '.')
        {
            index += 1;
        }
    }
    index
}

fn lex_phrase(chars: &[char], mut index: usize) -> Result<(String, usize)> {
    let mut phrase = String::new();
    while let Some(&character) = chars.get(index) {
        match character {
            '"' => return Ok((phrase, index + 1)),
            '\\' => {
                let escaped = chars
                    .get(index + 1)
                    .ok_or_else(|| invalid("the query ends with a `\\`"))?;
                phrase.push(*escaped);
                index += 2;
            }
            other => {
                phrase.push(other);
                index += 1;
            }
        }
    }
    Err(invalid("a phrase has no closing `\"`"))
}

fn lex_range(chars: &[char], start: usize) -> Result<(Token, usize)> {
    let lower_inclusive = chars[start] == '[';
    let mut index = start + 1;
    let mut content = String::new();
    let mut in_quotes = false;
    while let Some(&character) = chars.get(index) {
        match character {
            '"' => in_quotes = !in_quotes,
            ']' | '}' if !in_quotes => {
                let upper_inclusive = character == ']';
                let parts = split_range(&content);
                let [lower, to, upper] = parts.as_slice() else {
                    return Err(invalid(format!(
                        "range `{content}` is not of the form `a TO b`"
                    )));
                };
                if to != "TO" {
                    return Err(invalid(format!(
                        "range `{content}` is not of the form `a TO b`"
                    )));
                }
                let range = Token::Range {
                    lower: lower.clone(),
                    upper: upper.clone(),
                    lower_inclusive,
                    upper_inclusive,
                };
                return Ok((range, index + 1));
            }
            '\\' => {
                index += 1;
                let escaped = chars
                    .get(index)
                    .ok_or_else(|| invalid("the query ends with a `\\`"))?;
                content.push(*escaped);
                index += 1;
                continue;
            }
            _ => {}
        }
        if character != '"' {
            content.push(if in_quotes && character.is_whitespace() {
                '\u{0}'
            } else {
                character
            });
        }
        index += 1;
    }
    Err(invalid("a range has no closing `]` or `}`"))
}

/// Splits range content on whitespace; whitespace inside quotes was replaced by NUL.
fn split_range(content: &str) -> Vec<String> {
    content
        .split_whitespace()
        .map(|part| part.replace('\u{0}', " "))
        .collect()
}

fn lex_word(chars: &[char], start: usize) -> Result<(Token, usize)> {
    let mut text = String::new();
    let mut pattern = String::new();
    let mut wildcard = false;
    let mut escaped_any = false;
    let mut index = start;
    while let Some(&character) = chars.get(index) {
        if character == '\\' {
            let escaped = *chars
                .get(index + 1)
                .ok_or_else(|| invalid("the query ends with a `\\`"))?;
            text.push(escaped);
            pattern.push('\\');
            pattern.push(escaped);
            escaped_any = true;
            index += 2;
            continue;
        }
        if is_special(character) {
            break;
        }
        if character == '*' || character == '?' {
            wildcard = true;
        }
        text.push(character);
        pattern.push(character);
        index += 1;
    }
    if chars.get(index) == Some(&':') {
        return Ok((Token::Field(text), index + 1));
    }
    let index = skip_suffix(chars, index);
    let token = match text.as_str() {
        "AND" if !escaped_any => Token::And,
        "OR" if !escaped_any => Token::Or,
        "NOT" if !escaped_any => Token::Not,
        _ => Token::Term {
            text,
            pattern,
            wildcard,
        },
    };
    Ok((token, index))
}

#[derive(Clone, Copy, PartialEq)]
enum Modifier {
    Optional,
    Required,
    Prohibited,
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.position).cloned();
        self.position += 1;
        token
    }

    fn parse_or(&mut self, field: Option<&str>, depth: usize) -> Result<Query> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let mut alternatives = vec![self.parse_and(field, depth)?];
        while self.peek() == Some(&Token::Or) {
            self.position += 1;
            if matches!(self.peek(), None | Some(Token::RParen)) {
                return Err(invalid("OR has nothing after it"));
            }
            alternatives.push(self.parse_and(field, depth)?);
        }
        Ok(single_or(alternatives, Query::Or))
    }

    fn parse_and(&mut self, field: Option<&str>, depth: usize) -> Result<Query> {
        let mut parts = vec![self.parse_group(field, depth)?];
        while self.peek() == Some(&Token::And) {
            self.position += 1;
            if matches!(self.peek(), None | Some(Token::RParen)) {
                return Err(invalid("AND has nothing after it"));
            }
            parts.push(self.parse_group(field, depth)?);
        }
        Ok(single_or(parts, Query::And))
    }

    /// Juxtaposed clauses, combined with Lucene's boolean rules.
    fn parse_group(&mut self, field: Option<&str>, depth: usize) -> Result<Query> {
        let mut required = Vec::new();
        let mut optional = Vec::new();
        let mut prohibited = Vec::new();
        loop {
            match self.peek() {
                None | Some(Token::RParen | Token::And | Token::Or) => break,
                Some(_) => {}
            }
            let (modifier, query) = self.parse_clause(field, depth)?;
            match modifier {
                Modifier::Required => required.push(query),
                Modifier::Optional => optional.push(query),
                Modifier::Prohibited => prohibited.push(query),
            }
        }
        if required.is_empty() && prohibited.is_empty() {
            return match optional.len() {
                0 => Err(self.missing_clause()),
                _ => Ok(single_or(optional, Query::Or)),
            };
        }
        let mut parts = required;
        if parts.is_empty() && !optional.is_empty() {
            parts.push(single_or(optional, Query::Or));
        }
        parts.extend(
            prohibited
                .into_iter()
                .map(|query| Query::Not(Box::new(query))),
        );
        Ok(single_or(parts, Query::And))
    }

    fn missing_clause(&self) -> StoreError {
        match self.peek() {
            Some(Token::And) => invalid("AND has nothing before it"),
            Some(Token::Or) => invalid("OR has nothing before it"),
            Some(Token::RParen) => invalid("empty parentheses or a `)` without `(`"),
            _ => invalid("the query ends where a term was expected"),
        }
    }

    fn parse_clause(&mut self, field: Option<&str>, depth: usize) -> Result<(Modifier, Query)> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let Some(token) = self.next() else {
            return Err(invalid("the query ends where a term was expected"));
        };
        match token {
            Token::Plus | Token::Minus | Token::Not => {
                if matches!(
                    self.peek(),
                    None | Some(Token::RParen | Token::And | Token::Or)
                ) {
                    return Err(invalid(format!(
                        "{} has nothing after it",
                        token.describe()
                    )));
                }
                let (inner_modifier, inner) = self.parse_clause(field, depth + 1)?;
                let inner = match inner_modifier {
                    Modifier::Prohibited => Query::Not(Box::new(inner)),
                    _ => inner,
                };
                let modifier = if token == Token::Plus {
                    Modifier::Required
                } else {
                    Modifier::Prohibited
                };
                Ok((modifier, inner))
            }
            Token::LParen => Ok((Modifier::Optional, self.parse_parenthesised(field, depth)?)),
            Token::Field(name) => Ok((Modifier::Optional, self.parse_field_value(&name, depth)?)),
            Token::And | Token::Or | Token::RParen => {
                self.position -= 1;
                Err(self.missing_clause())
            }
            value => Ok((Modifier::Optional, value_query(field, value)?)),
        }
    }

    fn parse_parenthesised(&mut self, field: Option<&str>, depth: usize) -> Result<Query> {
        if self.peek() == Some(&Token::RParen) {
            return Err(invalid("empty parentheses"));
        }
        let query = self.parse_or(field, depth + 1)?;
        match self.next() {
            Some(Token::RParen) => Ok(query),
            _ => Err(invalid("a `(` has no matching `)`")),
        }
    }

    fn parse_field_value(&mut self, name: &str, depth: usize) -> Result<Query> {
        if name.is_empty() {
            return Err(invalid("a `:` has no field name before it"));
        }
        match self.next() {
            Some(Token::LParen) => self.parse_parenthesised(Some(name), depth),
            Some(value @ (Token::Term { .. } | Token::Phrase(_) | Token::Range { .. })) => {
                if name == "_exists_" {
                    return match value {
                        Token::Term { text, .. } | Token::Phrase(text) if !text.is_empty() => {
                            Ok(Query::Exists(text))
                        }
                        _ => Err(invalid("_exists_ needs a field name")),
                    };
                }
                if name == "*" {
                    return value_query(None, value);
                }
                value_query(Some(name), value)
            }
            _ => Err(invalid(format!(
                "field `{name}` has no value after its `:`"
            ))),
        }
    }
}

fn single_or(mut queries: Vec<Query>, combine: fn(Vec<Query>) -> Query) -> Query {
    if queries.len() == 1
        && let Some(query) = queries.pop()
    {
        return query;
    }
    combine(queries)
}

/// The query of a word, phrase or range, on a field or (without one) over the full text.
fn value_query(field: Option<&str>, token: Token) -> Result<Query> {
    let Some(field) = field else {
        return match token {
            Token::Term { text, .. } if text == "*" => Ok(Query::All),
            Token::Term { text, .. } | Token::Phrase(text) => Ok(Query::FullText(text)),
            Token::Range { .. } => Err(invalid("a range needs a field, as in `field:[a TO b]`")),
            other => Err(invalid(format!("unexpected {}", other.describe()))),
        };
    };
    let field = field.to_owned();
    match token {
        Token::Phrase(text) if field == "_id" => Ok(Query::Id(vec![text])),
        Token::Phrase(text) => Ok(Query::Like { field, text }),
        Token::Term { text, .. } if text == "*" => Ok(Query::Exists(field)),
        Token::Term {
            pattern,
            wildcard: true,
            ..
        } => Ok(Query::Wildcard { field, pattern }),
        Token::Term { text, .. } if field == "_id" => Ok(Query::Id(vec![text])),
        Token::Term { text, .. } => term_query(field, &text),
        Token::Range {
            lower,
            upper,
            lower_inclusive,
            upper_inclusive,
        } => {
            let lower_op = if lower_inclusive {
                RangeOp::Gte
            } else {
                RangeOp::Gt
            };
            let upper_op = if upper_inclusive {
                RangeOp::Lte
            } else {
                RangeOp::Lt
            };
            let mut bounds = Vec::new();
            if lower != "*" {
                bounds.push(Query::Range {
                    field: field.clone(),
                    op: lower_op,
                    value: typed(&lower),
                });
            }
            if upper != "*" {
                bounds.push(Query::Range {
                    field: field.clone(),
                    op: upper_op,
                    value: typed(&upper),
                });
            }
            Ok(match bounds.len() {
                0 => Query::Exists(field),
                _ => single_or(bounds, Query::And),
            })
        }
        other => Err(invalid(format!("unexpected {}", other.describe()))),
    }
}

fn term_query(field: String, text: &str) -> Result<Query> {
    for (prefix, op) in [
        (">=", RangeOp::Gte),
        ("<=", RangeOp::Lte),
        (">", RangeOp::Gt),
        ("<", RangeOp::Lt),
    ] {
        if let Some(bound) = text.strip_prefix(prefix) {
            if bound.is_empty() {
                return Err(invalid(format!("`{field}:{text}` has no bound")));
            }
            return Ok(Query::Range {
                field,
                op,
                value: typed(bound),
            });
        }
    }
    Ok(match typed(text) {
        Value::String(text) => Query::Like { field, text },
        value => Query::Eq { field, value },
    })
}

/// A number or boolean when the text is one, else the text.
fn typed(text: &str) -> Value {
    match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => serde_json::from_str::<serde_json::Number>(text)
            .map(Value::Number)
            .unwrap_or_else(|_| Value::String(text.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(text: &str) -> Query {
        match parse_query_string(text) {
            Ok(query) => query,
            Err(error) => panic!("{text:?} should parse: {error}"),
        }
    }

    fn error(text: &str) -> String {
        match parse_query_string(text) {
            Ok(query) => panic!("{text:?} should be refused, parsed as {query:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn full(text: &str) -> Query {
        Query::FullText(text.into())
    }

    fn like(field: &str, text: &str) -> Query {
        Query::Like {
            field: field.into(),
            text: text.into(),
        }
    }

    fn not(query: Query) -> Query {
        Query::Not(Box::new(query))
    }

    #[test]
    fn empty_text_and_stars_match_everything() {
        assert_eq!(parse(""), Query::All);
        assert_eq!(parse("   "), Query::All);
        assert_eq!(parse("*"), Query::All);
        assert_eq!(parse("*:*"), Query::All);
    }

    #[test]
    fn bare_words_and_phrases_are_full_text() {
        assert_eq!(parse("phishing"), full("phishing"));
        assert_eq!(parse("\"spear phishing\""), full("spear phishing"));
        assert_eq!(parse("phish*"), full("phish*"));
        assert_eq!(parse("été"), full("été"));
    }

    #[test]
    fn field_values_are_typed() {
        assert_eq!(
            parse("tlp:2"),
            Query::Eq {
                field: "tlp".into(),
                value: json!(2)
            }
        );
        assert_eq!(
            parse("score:-1.5"),
            Query::Eq {
                field: "score".into(),
                value: json!(-1.5)
            }
        );
        assert_eq!(
            parse("ioc:true"),
            Query::Eq {
                field: "ioc".into(),
                value: json!(true)
            }
        );
        assert_eq!(parse("status:Open"), like("status", "Open"));
        assert_eq!(parse("title:\"x y\""), like("title", "x y"));
        assert_eq!(parse("title: spaced"), like("title", "spaced"));
        assert_eq!(
            parse("data:*.example.com"),
            Query::Wildcard {
                field: "data".into(),
                pattern: "*.example.com".into()
            }
        );
        assert_eq!(parse("owner:*"), Query::Exists("owner".into()));
        assert_eq!(parse("_exists_:owner"), Query::Exists("owner".into()));
        assert_eq!(parse("_id:AWq-c4"), Query::Id(vec!["AWq-c4".into()]));
        assert_eq!(
            parse("customFields.cvss.number:7"),
            Query::Eq {
                field: "customFields.cvss.number".into(),
                value: json!(7)
            }
        );
    }

    #[test]
    fn escapes_keep_special_characters_literal() {
        assert_eq!(parse(r"url:http\://x"), like("url", "http://x"));
        assert_eq!(
            parse(r"data:a\*b*"),
            Query::Wildcard {
                field: "data".into(),
                pattern: r"a\*b*".into()
            }
        );
        assert_eq!(parse(r"AND\ x"), full("AND x"));
    }

    #[test]
    fn ranges_and_comparisons_become_bounds() {
        let range = |op, value| Query::Range {
            field: "n".into(),
            op,
            value,
        };
        assert_eq!(
            parse("n:[1 TO 5]"),
            Query::And(vec![
                range(RangeOp::Gte, json!(1)),
                range(RangeOp::Lte, json!(5))
            ])
        );
        assert_eq!(
            parse("n:{1 TO 5]"),
            Query::And(vec![
                range(RangeOp::Gt, json!(1)),
                range(RangeOp::Lte, json!(5))
            ])
        );
        assert_eq!(parse("n:[1 TO *}"), range(RangeOp::Gte, json!(1)));
        assert_eq!(parse("n:[* TO *]"), Query::Exists("n".into()));
        assert_eq!(parse("n:>=3"), range(RangeOp::Gte, json!(3)));
        assert_eq!(parse("n:<b"), range(RangeOp::Lt, json!("b")));
        assert_eq!(
            parse("n:[\"a b\" TO c]"),
            Query::And(vec![
                range(RangeOp::Gte, json!("a b")),
                range(RangeOp::Lte, json!("c"))
            ])
        );
    }

    #[test]
    fn boolean_operators_follow_precedence() {
        assert_eq!(
            parse("a OR b AND c"),
            Query::Or(vec![full("a"), Query::And(vec![full("b"), full("c")])])
        );
        assert_eq!(parse("a && b || c"), parse("(a AND b) OR c"));
        assert_eq!(parse("NOT a"), not(full("a")));
        assert_eq!(parse("!a"), not(full("a")));
        assert_eq!(
            parse("a AND NOT b"),
            Query::And(vec![full("a"), not(full("b"))])
        );
        assert_eq!(parse("NOT NOT a"), not(not(full("a"))));
    }

    #[test]
    fn juxtaposed_clauses_follow_lucene_boolean_rules() {
        assert_eq!(parse("a b"), Query::Or(vec![full("a"), full("b")]));
        assert_eq!(parse("+a b"), full("a"));
        assert_eq!(
            parse("+a -b c"),
            Query::And(vec![full("a"), not(full("b"))])
        );
        assert_eq!(parse("a -b"), Query::And(vec![full("a"), not(full("b"))]));
        assert_eq!(parse("foo-bar"), full("foo-bar"));
    }

    #[test]
    fn field_groups_apply_the_field_inside() {
        assert_eq!(
            parse("status:(Open OR Resolved)"),
            Query::Or(vec![like("status", "Open"), like("status", "Resolved")])
        );
        assert_eq!(
            parse("(title:\"x\" AND tlp:2) AND (a)"),
            Query::And(vec![
                Query::And(vec![
                    like("title", "x"),
                    Query::Eq {
                        field: "tlp".into(),
                        value: json!(2)
                    }
                ]),
                full("a")
            ])
        );
    }

    #[test]
    fn boosts_and_fuzziness_are_ignored() {
        assert_eq!(parse("title:x^2"), like("title", "x"));
        assert_eq!(parse("word~1"), full("word"));
        assert_eq!(parse("(a)^3"), full("a"));
        assert_eq!(parse("\"p q\"~2"), full("p q"));
    }

    #[test]
    fn malformed_strings_are_refused_with_a_message() {
        let cases = [
            ("a AND", "AND has nothing after it"),
            ("AND a", "AND has nothing before it"),
            ("a OR", "OR has nothing after it"),
            ("OR a", "OR has nothing before it"),
            ("(a", "no matching `)`"),
            ("a)", "no matching `(`"),
            ("()", "empty parentheses"),
            ("\"open", "no closing `\"`"),
            ("n:[1 TO 5", "no closing"),
            ("n:[1 5]", "a TO b"),
            ("a]", "closes no range"),
            (":a", "no field name"),
            ("title:", "has no value"),
            ("title: AND b", "has no value"),
            ("[1 TO 2]", "needs a field"),
            ("a\\", "ends with"),
            ("n:>", "has no bound"),
            ("-", "has nothing after it"),
            ("_exists_:\"\"", "needs a field name"),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(
                message.contains(expected),
                "{text:?}: {message:?} lacks {expected:?}"
            );
        }
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("{}a{}", "(".repeat(500), ")".repeat(500));
        assert!(error(&text).contains("nested deeper"));
        let text = format!("{}a", "-".repeat(500));
        assert!(error(&text).contains("nested deeper"));
    }
}
