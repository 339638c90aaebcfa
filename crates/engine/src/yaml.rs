//! YAML with positions and exact numbers: a node tree built from yaml-rust2's event parser,
//! and a serde `Deserializer` over it.
//!
//! Off-the-shelf YAML deserializers turn `0.07` into the nearest binary float before we can see it
//! and forget where a value came from. Here every scalar keeps the text as written and its
//! line and column, so numbers are parsed exactly (SPEC §3) and every error points at the
//! offending key. Unknown keys and bad numbers are collected as diagnostics and parsing goes
//! on, so a user sees all such problems at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use indexmap::IndexMap;
use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::error::Code;
use crate::number::{NumberStyle, parse_decimal, parse_input};

/// How a scalar was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    Quoted,
    Block,
}

/// A YAML node with the position it was written at. Its shape is read through [`Node::get`],
/// [`Node::as_str`] and [`Node::entries`]; the tree itself is the YAML layer's own.
#[derive(Clone, Debug)]
pub struct Node {
    pub span: Span,
    pub(crate) kind: NodeKind,
}

#[derive(Clone, Debug)]
pub enum NodeKind {
    Scalar { text: String, style: ScalarStyle },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn null(span: Span) -> Node {
        Node { span, kind: NodeKind::Scalar { text: String::new(), style: ScalarStyle::Plain } }
    }

    /// The node as JSON, the way an editor's YAML language server sees it: plain scalars
    /// that read as numbers are numbers, `true`/`false` booleans, `~`/`null` null (for
    /// validating a plan against its JSON Schema; amounts are never computed from this).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Map(entries) => Value::Object(
                entries.iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_string(), v.to_json())).collect(),
            ),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Scalar { text, style } => {
                if *style != ScalarStyle::Plain {
                    return Value::String(text.clone());
                }
                match text.as_str() {
                    "" | "~" | "null" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => match parse_decimal(text, NumberStyle::PlainYaml) {
                        Ok(_) => serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.clone())),
                        Err(_) => Value::String(text.clone()),
                    },
                }
            }
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, style: ScalarStyle::Plain }
            if text.is_empty() || text == "~" || text == "null" || text == "Null" || text == "NULL")
    }

    /// The scalar text, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The value under `key` in a mapping, to change it.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        match &mut self.kind {
            NodeKind::Map(entries) => entries.iter_mut().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The entries of a mapping, empty for anything else.
    pub fn entries(&self) -> &[(Node, Node)] {
        match &self.kind {
            NodeKind::Map(entries) => entries,
            _ => &[],
        }
    }

    fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "nothing (null)",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// A percent where the plan takes a fraction (`5%`): the fraction to write instead.
fn percent_hint(text: &str) -> Option<String> {
    let percent = text.trim().strip_suffix('%')?;
    let value = parse_decimal(percent.trim(), NumberStyle::Text).ok()?;
    let fraction = value.checked_div(Decimal::ONE_HUNDRED)?.normalize();
    Some(format!("did you mean `{fraction}`? Rates and ratios are written as fractions: {fraction} is {text}"))
}

fn span_of(mark: &Marker, len: usize) -> Span {
    Span { line: mark.line() as u32, col: mark.col() as u32 + 1, len: len as u32 }
}

/// Parses one YAML document into a node tree. Syntax errors are fatal (one diagnostic);
/// duplicate keys are reported and the first occurrence kept.
pub fn parse(text: &str, file: &Arc<str>) -> Result<(Node, Vec<Diagnostic>), Diagnostic> {
    // YAML allows a byte order mark at the start; it is not part of the first key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_characters(text, file)?;
    let mut builder = Builder { file: file.clone(), ..Builder::default() };
    let mut parser = Parser::new_from_str(text);
    if let Err(err) = parser.load(&mut builder, true) {
        let (message, help, span) = syntax_error(err.info(), text, span_of(err.marker(), 1));
        let diag = Diagnostic::error(message).at(file, span).with_code(Code::PlanYaml);
        return Err(match help {
            Some(help) => diag.with_help(help),
            None => diag,
        });
    }
    if let Some(diag) = builder.fatal {
        return Err(diag);
    }
    if builder.documents > 1 {
        return Err(Diagnostic::error("a plan file holds one YAML document; found several `---`")
            .at(file, Span { line: 1, col: 1, len: 0 })
            .with_code(Code::PlanYaml));
    }
    let root = builder.root.unwrap_or_else(|| Node::null(Span { line: 1, col: 1, len: 0 }));
    Ok((root, builder.diagnostics))
}

/// A YAML syntax error in words a plan's author reads: what is wrong on which line, not the
/// parser's state. Indentation is read from the text around the error; anything not
/// recognised keeps the parser's words after a plain sentence.
fn syntax_error(info: &str, text: &str, at: Span) -> (String, Option<String>, Span) {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let line_no = (at.line as usize).clamp(1, lines.len().max(1));
    let line = lines.get(line_no - 1).copied().unwrap_or("");
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    // Blank and comment-only lines say nothing about structure.
    let significant = |l: &str| !l.trim().is_empty() && !l.trim_start().starts_with('#');
    let whole_line = |n: usize, l: &str| Span {
        line: n as u32,
        col: indent(l) as u32 + 1,
        len: l.trim().chars().count().max(1) as u32,
    };
    let first_word = |l: &str| {
        let t = l.trim_start();
        t.split(':').next().unwrap_or(t).trim().to_string()
    };

    if info.contains("tab") {
        let tab_line = (1..=line_no)
            .rev()
            .find(|&n| lines[n - 1][..lines[n - 1].len() - lines[n - 1].trim_start().len()].contains('\t'))
            .unwrap_or(line_no);
        return (
            format!("line {tab_line} is indented with a tab; YAML indents with spaces only"),
            Some("replace the tab with spaces (two per level, like the lines around it)".into()),
            Span { line: tab_line as u32, col: 1, len: 1 },
        );
    }
    if info.contains("quoted scalar") {
        return (
            format!("a quote opened on line {} is not closed", at.line),
            Some("close the text with the same quote mark (`\"` or `'`) on the same line".into()),
            at,
        );
    }
    // A `[` or `{` left open on an earlier line: the parser only notices lines later.
    // (A list may span lines when it is closed later: only brackets still open at the error
    // line count.)
    let code = |n: usize| lines[n - 1].split(" #").next().unwrap_or("");
    let unclosed = (1..=line_no).rev().take(50).find_map(|n| {
        [('[', ']'), ('{', '}')].into_iter().find_map(|(open, close)| {
            let opened = code(n).matches(open).count() > code(n).matches(close).count();
            let balance: isize = (n..=line_no)
                .map(|k| code(k).matches(open).count() as isize - code(k).matches(close).count() as isize)
                .sum();
            (opened && balance > 0).then(|| (n, open, close, code(n).rfind(open).unwrap_or(0)))
        })
    });
    if let Some((n, open, close, byte)) = unclosed.filter(|(n, ..)| *n < line_no || info.contains("end of stream")) {
        let col = lines[n - 1][..byte].chars().count() as u32 + 1;
        return (
            format!("the `{open}` on line {n} is not closed"),
            Some(format!("close it with `{close}` on the same line (`{open} a, b {close}`)")),
            Span { line: n as u32, col, len: 1 },
        );
    }
    if info.contains("flow sequence") || info.contains("flow mapping") {
        let (open, close) = if info.contains("sequence") { ('[', ']') } else { ('{', '}') };
        return (
            format!(
                "a `{open} … {close}` on line {} is missing a `,` between two items or its closing `{close}`",
                at.line
            ),
            Some(format!("separate the items with commas: `{open} a, b {close}`")),
            at,
        );
    }
    if info.contains("simple key") || info.contains("expected ':'") {
        // `year:2027` is one word to YAML: the next line then lacks its `:`.
        if let Some(n) = (1..=line_no).rev().filter(|&n| significant(lines[n - 1])).find(|&n| {
            let t = lines[n - 1].trim_start().trim_start_matches("- ");
            t.split_once(':').is_some_and(|(key, rest)| {
                !key.is_empty() && !key.contains(' ') && !rest.is_empty() && !rest.starts_with(' ')
            })
        }) {
            let key = first_word(lines[n - 1]);
            return (
                format!("`{key}:` on line {n} needs a space after the colon"),
                Some(format!(
                    "write `{key}: value`; without the space YAML reads `{}` as one word",
                    lines[n - 1].trim()
                )),
                whole_line(n, lines[n - 1]),
            );
        }
    }
    // Indentation: the columns a key on this line could start at are those of the blocks
    // open above it (each line less indented than all the lines after it), the previous
    // line's own, and, after a `key:` with no value, anything deeper.
    if significant(line) {
        let mine = indent(line);
        let previous = (1..line_no).rev().find(|&n| significant(lines[n - 1]));
        if let Some(p) = previous {
            let prev = lines[p - 1];
            let opens_block = prev.trim_end().ends_with(':') || prev.trim_end().ends_with('-');
            let mut open: Vec<(usize, usize)> = Vec::new(); // (column, line)
            let mut lowest = usize::MAX;
            for n in (1..=p).rev().filter(|&n| significant(lines[n - 1])) {
                let l = lines[n - 1];
                let i = indent(l);
                if i < lowest {
                    lowest = i;
                    open.push((i, n));
                    // The keys of a list item start after its `- `.
                    if l.trim_start().starts_with("- ") {
                        open.push((i + 2, n));
                    }
                }
            }
            let fits = open.iter().any(|(i, _)| *i == mine) || (opens_block && mine > indent(prev));
            let word = first_word(line);
            // The column of the previous line's key (after the `- ` of a list item).
            let prev_key = indent(prev) + if prev.trim_start().starts_with("- ") { 2 } else { 0 };
            if !opens_block && mine > prev_key {
                let key = first_word(prev.trim_start().trim_start_matches("- "));
                return (
                    format!(
                        "`{word}` on line {line_no} is indented under `{key}` (line {p}), which already has a value"
                    ),
                    Some(format!(
                        "indent `{word}` like `{key}` (by {}) if it is a key of its own; a value cannot also hold keys",
                        spaces(prev_key)
                    )),
                    whole_line(line_no, line),
                );
            }
            if !fits {
                let (column, near) = open
                    .iter()
                    .filter(|(i, _)| *i <= mine + 2)
                    .min_by_key(|(i, _)| i.abs_diff(mine))
                    .or_else(|| open.first())
                    .copied()
                    .unwrap_or((0, p));
                return (
                    format!(
                        "`{word}` on line {line_no} is indented by {}, which lines it up with nothing above it",
                        spaces(mine)
                    ),
                    Some(format!(
                        "YAML reads what belongs together from the indentation: to keep `{word}` next to `{}` (line {near}), \
                         indent it by {} like that line",
                        first_word(lines[near - 1]),
                        spaces(column)
                    )),
                    whole_line(line_no, line),
                );
            }
        }
    }
    if info.contains("mapping values") {
        return (
            format!("line {} has a second `: ` after a value", at.line),
            Some("put a value that contains `: ` in quotes (`title: \"VP: Sales\"`)".into()),
            at,
        );
    }
    if info.contains("did not find expected key") || info.contains("'-' indicator") {
        return (
            format!(
                "line {} does not fit the lines above it: a list item (`- `) and a `key:` are mixed at the same level",
                at.line
            ),
            Some("in one block, write either keys (`key: value`) or list items (`- …`), lined up in one column".into()),
            at,
        );
    }
    (format!("the plan is not valid YAML at line {}, column {} (the parser says: {info})", at.line, at.col), None, at)
}

fn spaces(n: usize) -> String {
    match n {
        1 => "1 space".into(),
        n => format!("{n} spaces"),
    }
}

/// The most nodes that aliases may add to a plan: far above any real plan's reuse, far below
/// what a "billion laughs" file would expand to.
const MAX_ALIAS_NODES: usize = 100_000;

/// The deepest nesting of lists and mappings a plan may have (a real plan nests a handful of
/// levels; thousands would overflow the stack of the code that walks the tree).
const MAX_DEPTH: usize = 128;

/// Rejects NUL and other control characters: the YAML parser stops at a NUL, so a plan cut
/// there would lose everything after it (a modifier, a role) without an error.
fn check_characters(text: &str, file: &Arc<str>) -> Result<(), Diagnostic> {
    for (number, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let bad = line.char_indices().find(|&(_, c)| {
            (c.is_control() && c != '\t' && c != '\u{85}') || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}'
        });
        if let Some((byte, c)) = bad {
            let col = line[..byte].chars().count() as u32 + 1;
            return Err(Diagnostic::error(format!(
                "the plan holds a control character (U+{:04X}); a plan file is plain text",
                c as u32
            ))
            .at(file, Span { line: number as u32 + 1, col, len: 1 })
            .with_code(Code::PlanYaml));
        }
    }
    Ok(())
}

/// The number of nodes in a tree.
fn node_count(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Scalar { .. } => 1,
        NodeKind::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        NodeKind::Map(entries) => 1 + entries.iter().map(|(k, v)| node_count(k) + node_count(v)).sum::<usize>(),
    }
}

enum Frame {
    Seq { span: Span, anchor: usize, items: Vec<Node> },
    Map { span: Option<Span>, anchor: usize, entries: Vec<(Node, Node)>, key: Option<Node> },
}

#[derive(Default)]
struct Builder {
    file: Arc<str>,
    stack: Vec<Frame>,
    root: Option<Node>,
    /// Each anchor's node and its number of nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes added by aliases so far, against [`MAX_ALIAS_NODES`].
    alias_nodes: usize,
    diagnostics: Vec<Diagnostic>,
    fatal: Option<Diagnostic>,
    documents: usize,
}

impl Builder {
    fn push_node(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, span, .. }) => match key.take() {
                None => {
                    if span.is_none() {
                        *span = Some(node.span);
                    }
                    *key = Some(node);
                }
                Some(k) => entries.push((k, node)),
            },
        }
    }

    fn check_duplicates(&mut self, entries: &mut Vec<(Node, Node)>) {
        let mut seen: HashMap<String, Span> = HashMap::new();
        let mut keep = Vec::with_capacity(entries.len());
        for (key, value) in entries.drain(..) {
            if let Some(text) = key.as_str() {
                if let Some(first) = seen.get(text) {
                    self.diagnostics.push(
                        Diagnostic::error(format!("duplicate key `{text}` (first written at line {})", first.line))
                            .at(&self.file, key.span)
                            .with_code(Code::PlanYaml),
                    );
                    continue;
                }
                seen.insert(text.to_string(), key.span);
            }
            keep.push((key, value));
        }
        *entries = keep;
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.fatal.is_some() {
            return;
        }
        match event {
            Event::DocumentStart => self.documents += 1,
            Event::Scalar(text, style, anchor, tag) => {
                if let Some(tag) = tag {
                    self.fatal = Some(
                        Diagnostic::error(format!(
                            "YAML tags (`{}{}`) are not supported in plan files",
                            tag.handle, tag.suffix
                        ))
                        .at(&self.file, span_of(&mark, 1))
                        .with_code(Code::PlanYaml),
                    );
                    return;
                }
                let style = match style {
                    TScalarStyle::Plain => ScalarStyle::Plain,
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => ScalarStyle::Quoted,
                    TScalarStyle::Literal | TScalarStyle::Folded => ScalarStyle::Block,
                };
                let len = text.chars().count().max(1);
                let node = Node { span: span_of(&mark, len), kind: NodeKind::Scalar { text, style } };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push_node(node);
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.fatal = Some(
                    Diagnostic::error(format!("the plan nests lists and mappings more than {MAX_DEPTH} deep"))
                        .at(&self.file, span_of(&mark, 1))
                        .with_code(Code::PlanYaml),
                );
            }
            Event::SequenceStart(anchor, _) => {
                self.stack.push(Frame::Seq { span: span_of(&mark, 1), anchor, items: Vec::new() });
            }
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { span: None, anchor, entries: Vec::new(), key: None });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { span, anchor, items }) = self.stack.pop() {
                    let node = Node { span, kind: NodeKind::Seq(items) };
                    if anchor > 0 {
                        self.anchors.insert(anchor, (node.clone(), node_count(&node)));
                    }
                    self.push_node(node);
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { span, anchor, mut entries, .. }) = self.stack.pop() {
                    self.check_duplicates(&mut entries);
                    let span = span.unwrap_or_else(|| span_of(&mark, 1));
                    let node = Node { span, kind: NodeKind::Map(entries) };
                    if anchor > 0 {
                        self.anchors.insert(anchor, (node.clone(), node_count(&node)));
                    }
                    self.push_node(node);
                }
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor) {
                Some((_, size)) if self.alias_nodes + size > MAX_ALIAS_NODES => {
                    self.fatal = Some(
                        Diagnostic::error(format!(
                            "aliases expand the plan past {MAX_ALIAS_NODES} nodes (a \"billion laughs\" file?)"
                        ))
                        .at(&self.file, span_of(&mark, 1))
                        .with_code(Code::PlanYaml),
                    );
                }
                Some((node, size)) => {
                    self.alias_nodes += size;
                    let mut node = node.clone();
                    node.span = span_of(&mark, 1);
                    self.push_node(node);
                }
                None => {
                    self.fatal = Some(
                        Diagnostic::error("alias to an unknown anchor")
                            .at(&self.file, span_of(&mark, 1))
                            .with_code(Code::PlanYaml),
                    );
                }
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// serde

/// Where deserialization reports the problems it can step over, and what `$name` means.
pub struct DeContext<'a> {
    pub file: Arc<str>,
    pub params: Option<&'a IndexMap<String, Decimal>>,
    diagnostics: RefCell<Vec<Diagnostic>>,
    captured: RefCell<Vec<Node>>,
}

impl<'a> DeContext<'a> {
    pub fn new(file: Arc<str>, params: Option<&'a IndexMap<String, Decimal>>) -> Self {
        DeContext { file, params, diagnostics: RefCell::new(Vec::new()), captured: RefCell::new(Vec::new()) }
    }

    /// The nodes kept raw by [`CapturedNode`], in the order they were met.
    pub fn take_captured(&self) -> Vec<Node> {
        std::mem::take(&mut *self.captured.borrow_mut())
    }

    fn report(&self, diagnostic: Diagnostic) {
        self.diagnostics.borrow_mut().push(diagnostic);
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics.into_inner()
    }
}

/// Deserializes `T` from `node`. A structural error (a missing key, a list where a mapping
/// belongs) stops deserialization and comes back as the `Err`; problems that can be stepped
/// over land in the context.
pub fn from_node<'de, T: de::Deserialize<'de>>(node: &Node, cx: &DeContext<'_>) -> Result<T, Diagnostic> {
    T::deserialize(NodeDe { node, cx, lenient: false }).map_err(|err| {
        let span = err.span.unwrap_or(node.span);
        Diagnostic::error(err.message).at(&cx.file, span)
    })
}

/// A deserialization error, located at the innermost node that produced it.
#[derive(Debug)]
pub struct DeError {
    message: String,
    span: Option<Span>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError { message: msg.to_string(), span: None }
    }
}

impl DeError {
    fn at(mut self, span: Span) -> Self {
        if self.span.is_none() {
            self.span = Some(span);
        }
        self
    }

    fn new(message: impl Into<String>, span: Span) -> Self {
        DeError { message: message.into(), span: Some(span) }
    }
}

pub(crate) const NUMBER_MAGIC: &str = "$accrue::Number";
pub(crate) const SPANNED_MAGIC: &str = "$accrue::Spanned";
pub(crate) const CAPTURED_MAGIC: &str = "$accrue::Captured";
pub(crate) const SPAN_FIELDS: &[&str] = &["$line", "$col", "$len", "$param", "$value"];

#[derive(Clone, Copy)]
struct NodeDe<'a, 'c> {
    node: &'a Node,
    cx: &'a DeContext<'c>,
    /// Skip the unknown-key check for this node's own mapping (not for nested ones).
    lenient: bool,
}

impl<'a, 'c> NodeDe<'a, 'c> {
    fn scalar(&self) -> Result<(&'a str, ScalarStyle), DeError> {
        match &self.node.kind {
            NodeKind::Scalar { text, style } => Ok((text.as_str(), *style)),
            _ => Err(DeError::new(format!("expected a single value, found {}", self.node.describe()), self.node.span)),
        }
    }

    /// Resolves a number: a `$param` reference or a literal parsed exactly. Problems are
    /// reported and replaced by zero so that the rest of the plan is still checked.
    fn number(&self) -> Result<(Decimal, Option<String>), DeError> {
        let (text, style) = self.scalar()?;
        if self.node.is_null() {
            return Err(DeError::new("expected a number, found nothing", self.node.span));
        }
        if let Some(name) = text.strip_prefix('$') {
            let Some(params) = self.cx.params else {
                self.cx.report(
                    Diagnostic::error(format!("`${name}`: parameters cannot refer to other parameters"))
                        .at(&self.cx.file, self.node.span)
                        .with_code(Code::PlanUnknownParameter),
                );
                return Ok((Decimal::ZERO, Some(name.to_string())));
            };
            return match params.get(name) {
                Some(value) => Ok((*value, Some(name.to_string()))),
                None => {
                    let mut diag = Diagnostic::error(format!("unknown parameter `${name}`"))
                        .at(&self.cx.file, self.node.span)
                        .with_code(Code::PlanUnknownParameter);
                    if let Some(best) = did_you_mean(name, params.keys().map(String::as_str)) {
                        diag = diag.with_help(format!("did you mean `${best}`?"));
                    } else if params.is_empty() {
                        diag = diag.with_help("declare it under `params:` at the top of the plan");
                    } else {
                        let known: Vec<_> = params.keys().map(|k| format!("${k}")).collect();
                        diag = diag.with_help(format!("known parameters: {}", known.join(", ")));
                    }
                    self.cx.report(diag);
                    Ok((Decimal::ZERO, Some(name.to_string())))
                }
            };
        }
        let number_style = match style {
            ScalarStyle::Plain => NumberStyle::PlainYaml,
            _ => NumberStyle::Text,
        };
        match parse_input(text, number_style) {
            Ok(value) => Ok((value, None)),
            Err(err) => {
                let mut diag =
                    Diagnostic::error(err.to_string()).at(&self.cx.file, self.node.span).with_code(Code::PlanBadNumber);
                if let Some(help) = percent_hint(text) {
                    diag = diag.with_help(help);
                }
                self.cx.report(diag);
                Ok((Decimal::ZERO, None))
            }
        }
    }

    fn integer(&self) -> Result<i64, DeError> {
        let (value, _) = self.number()?;
        if !value.fract().is_zero() {
            return Err(DeError::new(format!("expected a whole number, found `{value}`"), self.node.span));
        }
        i64::try_from(value).map_err(|_| DeError::new("number out of range", self.node.span))
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident as $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
            let span = self.node.span;
            let value = self.integer()?;
            let value = <$ty>::try_from(value)
                .map_err(|_| DeError::new(format!("{value} is out of range here"), span))?;
            visitor.$visit(value).map_err(|e: DeError| e.at(span))
        }
    )*};
}

impl<'de, 'a, 'c> de::Deserializer<'de> for NodeDe<'a, 'c> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let result = match &self.node.kind {
            NodeKind::Scalar { .. } if self.node.is_null() => visitor.visit_unit(),
            NodeKind::Scalar { text, style } => match (text.as_str(), style) {
                ("true" | "True" | "TRUE", ScalarStyle::Plain) => visitor.visit_bool(true),
                ("false" | "False" | "FALSE", ScalarStyle::Plain) => visitor.visit_bool(false),
                _ => visitor.visit_str(text),
            },
            NodeKind::Seq(items) => visitor.visit_seq(SeqDe { items: items.iter(), cx: self.cx }),
            NodeKind::Map(entries) => {
                visitor.visit_map(MapDe { entries: entries.iter(), cx: self.cx, value: None, fields: None })
            }
        };
        result.map_err(|e: DeError| e.at(span))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let (text, style) = self.scalar()?;
        let value = match (text, style) {
            ("true" | "True" | "TRUE", ScalarStyle::Plain) => true,
            ("false" | "False" | "FALSE", ScalarStyle::Plain) => false,
            _ => {
                return Err(DeError::new(format!("expected true or false, found `{text}`"), span));
            }
        };
        visitor.visit_bool(value).map_err(|e: DeError| e.at(span))
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8 as i8,
        deserialize_i16 => visit_i16 as i16,
        deserialize_i32 => visit_i32 as i32,
        deserialize_i64 => visit_i64 as i64,
        deserialize_u8 => visit_u8 as u8,
        deserialize_u16 => visit_u16 as u16,
        deserialize_u32 => visit_u32 as u32,
        deserialize_u64 => visit_u64 as u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::new("binary floating point is not used in plans", self.node.span))
    }

    fn deserialize_f64<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, DeError> {
        Err(DeError::new("binary floating point is not used in plans", self.node.span))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        if self.node.is_null() {
            return Err(DeError::new("expected text, found nothing", span));
        }
        let (text, _) = self.scalar()?;
        visitor.visit_str(text).map_err(|e: DeError| e.at(span))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.node.is_null() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        match &self.node.kind {
            NodeKind::Seq(items) => {
                visitor.visit_seq(SeqDe { items: items.iter(), cx: self.cx }).map_err(|e: DeError| e.at(span))
            }
            _ => Err(DeError::new(format!("expected a list, found {}", self.node.describe()), span)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        match &self.node.kind {
            NodeKind::Seq(items) if items.len() == len => {
                visitor.visit_seq(SeqDe { items: items.iter(), cx: self.cx }).map_err(|e: DeError| e.at(span))
            }
            NodeKind::Seq(items) => {
                Err(DeError::new(format!("expected a list of {len} values, found {}", items.len()), span))
            }
            _ => Err(DeError::new(format!("expected a list of {len} values, found {}", self.node.describe()), span)),
        }
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_tuple(len, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        match &self.node.kind {
            NodeKind::Map(entries) => visitor
                .visit_map(MapDe { entries: entries.iter(), cx: self.cx, value: None, fields: None })
                .map_err(|e: DeError| e.at(span)),
            _ if self.node.is_null() => visitor
                .visit_map(MapDe { entries: [].iter(), cx: self.cx, value: None, fields: None })
                .map_err(|e: DeError| e.at(span)),
            _ => Err(DeError::new(
                format!("expected a mapping (`key: value` lines), found {}", self.node.describe()),
                span,
            )),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.node.span;
        if name == NUMBER_MAGIC {
            let (value, param) = self.number()?;
            return visitor
                .visit_map(SpanDe { span, param, value: SpanValue::Number(value), index: 0 })
                .map_err(|e: DeError| e.at(span));
        }
        if name == CAPTURED_MAGIC {
            let index = {
                let mut captured = self.cx.captured.borrow_mut();
                captured.push(self.node.clone());
                captured.len() - 1
            };
            return visitor.visit_u64(index as u64).map_err(|e: DeError| e.at(span));
        }
        if name == SPANNED_MAGIC {
            return visitor
                .visit_map(SpanDe { span, param: None, value: SpanValue::Node(self), index: 0 })
                .map_err(|e: DeError| e.at(span));
        }
        match &self.node.kind {
            NodeKind::Map(entries) => visitor
                .visit_map(MapDe {
                    entries: entries.iter(),
                    cx: self.cx,
                    value: None,
                    fields: if self.lenient { None } else { Some(fields) },
                })
                .map_err(|e: DeError| e.at(span)),
            _ => Err(DeError::new(
                format!("expected a mapping (`key: value` lines), found {}", self.node.describe()),
                span,
            )),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let (text, _) = self.scalar()?;
        visitor.visit_enum(text.into_deserializer()).map_err(|e: DeError| e.at(span))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

struct SeqDe<'a, 'c> {
    items: std::slice::Iter<'a, Node>,
    cx: &'a DeContext<'c>,
}

impl<'de, 'a, 'c> de::SeqAccess<'de> for SeqDe<'a, 'c> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDe { node, cx: self.cx, lenient: false })
                .map(Some)
                .map_err(|e: DeError| e.at(node.span)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a, 'c> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    cx: &'a DeContext<'c>,
    value: Option<&'a Node>,
    /// The keys a struct accepts; others are reported (with a suggestion) and skipped.
    fields: Option<&'static [&'static str]>,
}

impl<'de, 'a, 'c> de::MapAccess<'de> for MapDe<'a, 'c> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        loop {
            let Some((key, value)) = self.entries.next() else {
                return Ok(None);
            };
            if let Some(fields) = self.fields {
                let known = key.as_str().is_some_and(|k| fields.contains(&k));
                if !known {
                    let text = key.as_str().unwrap_or("?");
                    let mut diag = Diagnostic::error(format!("unknown key `{text}`"))
                        .at(&self.cx.file, key.span)
                        .with_code(Code::PlanUnknownKey);
                    diag = match did_you_mean(text, fields.iter().copied()) {
                        Some(best) => diag.with_help(format!("did you mean `{best}`?")),
                        None => diag.with_help(format!("known keys here: {}", fields.join(", "))),
                    };
                    self.cx.report(diag);
                    continue;
                }
            }
            self.value = Some(value);
            return seed
                .deserialize(NodeDe { node: key, cx: self.cx, lenient: false })
                .map(Some)
                .map_err(|e: DeError| e.at(key.span));
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self.value.take().ok_or_else(|| de::Error::custom("value requested before key"))?;
        seed.deserialize(NodeDe { node, cx: self.cx, lenient: false }).map_err(|e: DeError| e.at(node.span))
    }
}

enum SpanValue<'a, 'c> {
    Number(Decimal),
    Node(NodeDe<'a, 'c>),
}

/// Feeds the magic `Number` and `Spanned` structs their position and value.
struct SpanDe<'a, 'c> {
    span: Span,
    param: Option<String>,
    value: SpanValue<'a, 'c>,
    index: usize,
}

impl<'de, 'a, 'c> de::MapAccess<'de> for SpanDe<'a, 'c> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if self.index >= SPAN_FIELDS.len() {
            return Ok(None);
        }
        let key = SPAN_FIELDS[self.index];
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let index = self.index;
        self.index += 1;
        match index {
            0 => seed.deserialize(self.span.line.into_deserializer()),
            1 => seed.deserialize(self.span.col.into_deserializer()),
            2 => seed.deserialize(self.span.len.into_deserializer()),
            3 => seed.deserialize(self.param.clone().unwrap_or_default().into_deserializer()),
            _ => match &self.value {
                SpanValue::Number(value) => seed.deserialize(value.to_string().into_deserializer()),
                SpanValue::Node(node) => seed.deserialize(*node),
            },
        }
    }
}

/// A node kept as YAML for a later reader (a component, read by its type). Deserializing one
/// through [`from_node`] stores the node in the context; `index` finds it again.
#[derive(Clone, Copy, Debug)]
pub struct CapturedNode {
    pub index: usize,
}

impl<'de> de::Deserialize<'de> for CapturedNode {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IndexVisitor;
        impl<'de> Visitor<'de> for IndexVisitor {
            type Value = CapturedNode;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_u64<E: de::Error>(self, index: u64) -> Result<CapturedNode, E> {
                Ok(CapturedNode { index: index as usize })
            }
        }
        deserializer.deserialize_struct(CAPTURED_MAGIC, &[], IndexVisitor)
    }
}

/// Deserializes `T` from a mapping without rejecting keys `T` does not know: for readers
/// that split one mapping between several structs and check the union of their keys.
pub fn from_node_lenient<'de, T: de::Deserialize<'de>>(node: &Node, cx: &DeContext<'_>) -> Result<T, Diagnostic> {
    T::deserialize(NodeDe { node, cx, lenient: true }).map_err(|err| {
        let span = err.span.unwrap_or(node.span);
        Diagnostic::error(err.message).at(&cx.file, span)
    })
}

/// The keys a serde struct accepts, read from its `Deserialize` impl.
pub fn struct_fields<'de, T: de::Deserialize<'de>>() -> &'static [&'static str] {
    struct FieldsOf(Option<&'static [&'static str]>);
    struct Stop;
    impl fmt::Debug for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("stop")
        }
    }
    impl fmt::Display for Stop {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("stop")
        }
    }
    impl std::error::Error for Stop {}
    impl de::Error for Stop {
        fn custom<T: fmt::Display>(_msg: T) -> Self {
            Stop
        }
    }
    impl<'de> de::Deserializer<'de> for &mut FieldsOf {
        type Error = Stop;
        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Stop> {
            Err(Stop)
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Stop> {
            self.0 = Some(fields);
            Err(Stop)
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut probe = FieldsOf(None);
    let _ = T::deserialize(&mut probe);
    probe.0.unwrap_or(&[])
}
