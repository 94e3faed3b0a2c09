//! Templates the server renders inside `apply` (a DateTimeSensor's `target_time`):
//! a small part of Jinja whose every value has a size known before rendering.
//!
//! Every node renders such a template on every apply of the entry that readies
//! the sensor, and again when it replays its log. minijinja bounds instructions
//! (fuel) but not memory, so `{{ "x" * 100000000 ~ ... }}` would allocate gigabytes
//! on every replica, after every restart. So a server-rendered template is held to
//! this grammar, checked when the DAG file is loaded and again in apply:
//!
//! - at most [`MAX_SERVER_TEMPLATE_BYTES`] of text, and no `{% ... %}` statements
//!   (no loops, `set`, macros): text and `{{ expression }}` only;
//! - names, constants, `.attr`, `[key]`, slices, `not`, `-x`, `+`, `-`, `~`,
//!   comparisons, `and`, `or`, `a if c else b`, tests (`is defined`);
//! - the date-time filters (`ds`, `ts`, ...), `default`, `trim`, `int`, `float`,
//!   `length`; the date-time methods (`add`, `strftime`, `in_timezone`, ...),
//!   `macros.datetime(...)` and its methods, `ds_add`, `ds_format`, `.get`, `.strip`.
//!
//! Nothing there repeats text or builds lists, so a value is at most the sum of the
//! values it is made of, times a small factor (16 for a `strftime` format). With the
//! run's context at hand, [`render_on_server`] adds up that bound over every value
//! the render may build and refuses past [`MAX_SERVER_RENDER_BYTES`] before rendering.
//! Compiling a template folds its constants (`"x" * 100000000` is computed by the
//! compiler), so the check reads the parser's tree and never compiles.

use std::collections::HashMap;

use minijinja::Value;
use minijinja::machinery::ast::{BinOpKind, CallArg, CallType, Expr, Stmt};
use minijinja::machinery::{Span, parse};
use minijinja::syntax::SyntaxConfig;
use minijinja::value::ValueKind;

use super::Renderer;

/// The longest template the server renders: a date-time needs a line.
pub const MAX_SERVER_TEMPLATE_BYTES: usize = 1024;

/// The most bytes one server render may build, all values and the output together.
pub const MAX_SERVER_RENDER_BYTES: usize = 4 * 1024 * 1024;

/// How much longer than its format a `strftime` result may be (`%+` gives 32 bytes).
const FORMAT_GROWTH: usize = 16;
/// The bound of a date-time, a number, a boolean as text.
const SMALL: usize = 64;
/// The bound of an object of the context (a date-time, `ti`, a macro) as text.
const OBJECT: usize = 1024;

/// Checks that `template` is one the server may render (see the module's grammar).
/// The error says what is refused, where in the template, and what to write instead.
pub fn check_server_template(template: &str) -> Result<(), String> {
    Walk::new(None).template(template).map(|_| ())
}

/// Renders a server template with `ctx` after checking it, refusing it when what it
/// may build with this context's values exceeds [`MAX_SERVER_RENDER_BYTES`].
pub fn render_on_server(
    renderer: &Renderer,
    template: &str,
    ctx: &Value,
) -> Result<String, String> {
    let bound = Walk::new(Some(ctx)).template(template)?;
    if bound > MAX_SERVER_RENDER_BYTES {
        return Err(format!(
            "the template could build up to {bound} bytes with this run's values (its conf \
             and params count in full wherever it names them); the server renders at most \
             {MAX_SERVER_RENDER_BYTES}. Name fewer or smaller values, e.g. \
             `dag_run.conf.get('key')` rather than the whole conf"
        ));
    }
    renderer.render(template, ctx).map_err(|e| e.to_string())
}

/// One pass over a template: checks the grammar and adds up the bound.
struct Walk<'c> {
    /// The context when rendering; `None` when only the grammar is checked.
    ctx: Option<&'c Value>,
    /// What the context's names weigh as text, computed once per name.
    weights: HashMap<String, usize>,
    /// Bytes of values the render may allocate.
    built: usize,
}

fn refused(span: Span, what: &str, instead: &str) -> String {
    let at = if span.start_line > 0 {
        format!(
            " at line {}, column {}",
            span.start_line,
            span.start_col + 1
        )
    } else {
        String::new()
    };
    format!(
        "{what} is not accepted{at} in a template the server renders (DateTimeSensor's \
         target_time): {instead}. See \"Templates the server renders\" in docs/dag-format.md"
    )
}

impl<'c> Walk<'c> {
    fn new(ctx: Option<&'c Value>) -> Walk<'c> {
        Walk {
            ctx,
            weights: HashMap::new(),
            built: 0,
        }
    }

    /// The template's bound: its output plus every value it may build.
    fn template(&mut self, template: &str) -> Result<usize, String> {
        if template.len() > MAX_SERVER_TEMPLATE_BYTES {
            return Err(format!(
                "the template is {} bytes; a template the server renders (DateTimeSensor's \
                 target_time) may be at most {MAX_SERVER_TEMPLATE_BYTES}",
                template.len()
            ));
        }
        let root = parse(template, "target_time", SyntaxConfig::default())
            .map_err(|e| format!("the template is not valid Jinja: {e}"))?;
        let Stmt::Template(root) = root else {
            return Err("the template is not valid Jinja".into());
        };
        let mut output = 0usize;
        for stmt in &root.children {
            output = output.saturating_add(match stmt {
                Stmt::EmitRaw(raw) => raw.raw.len(),
                Stmt::EmitExpr(emit) => self.expr(&emit.expr)?,
                other => {
                    return Err(refused(
                        stmt_span(other),
                        "a `{% ... %}` statement (loop, `if` block, `set`, macro, ...)",
                        "write text and `{{ expression }}` only; `a if c else b` chooses",
                    ));
                }
            });
        }
        Ok(output.saturating_add(self.built))
    }

    /// An expression's bound as text; what it allocates is added to `built`.
    fn expr(&mut self, e: &Expr<'_>) -> Result<usize, String> {
        Ok(match e {
            Expr::Var(v) => self.weight_of(v.id),
            Expr::Const(c) => display(&c.value, false),
            Expr::Slice(s) => {
                let base = self.expr(&s.expr)?;
                for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(part)?;
                }
                self.build(base)
            }
            Expr::UnaryOp(u) => {
                self.expr(&u.expr)?;
                self.build(SMALL)
            }
            Expr::BinOp(b) => {
                let left = self.expr(&b.left)?;
                let right = self.expr(&b.right)?;
                match b.op {
                    BinOpKind::Add | BinOpKind::Sub | BinOpKind::Concat => {
                        // Both sides turned into text, then joined.
                        let joined = left.saturating_add(right).saturating_add(SMALL);
                        self.build(joined.saturating_mul(2));
                        joined
                    }
                    BinOpKind::ScAnd | BinOpKind::ScOr => left.max(right),
                    BinOpKind::Eq
                    | BinOpKind::Ne
                    | BinOpKind::Lt
                    | BinOpKind::Lte
                    | BinOpKind::Gt
                    | BinOpKind::Gte
                    | BinOpKind::In => SMALL,
                    BinOpKind::Mul
                    | BinOpKind::Div
                    | BinOpKind::FloorDiv
                    | BinOpKind::Rem
                    | BinOpKind::Pow => {
                        return Err(refused(
                            e.span(),
                            "`*`, `/`, `//`, `%` or `**`",
                            "`*` repeats text; shift date-times with `.add(hours=1)` or \
                             `macros.ds_add(ds, 1)` instead of arithmetic",
                        ));
                    }
                }
            }
            Expr::Compare(c) => {
                self.expr(&c.expr)?;
                for op in &c.ops {
                    self.expr(&op.expr)?;
                }
                SMALL
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr)?;
                let yes = self.expr(&i.true_expr)?;
                let no = match &i.false_expr {
                    Some(no) => self.expr(no)?,
                    None => 0,
                };
                yes.max(no)
            }
            Expr::Filter(f) => {
                let base = match &f.expr {
                    Some(base) => self.expr(base)?,
                    None => 0,
                };
                let args = self.args(&f.args)?;
                match f.name {
                    "ds" | "ds_nodash" | "ts" | "ts_nodash" | "ts_nodash_with_tz" | "int"
                    | "float" | "length" | "count" => self.build(SMALL),
                    "default" | "d" => args.iter().fold(base, |a, b| a.max(*b)),
                    "trim" => self.build(base),
                    other => {
                        return Err(refused(
                            e.span(),
                            &format!("the filter `{other}`"),
                            "the filters accepted are ds, ds_nodash, ts, ts_nodash, \
                             ts_nodash_with_tz, default, trim, int, float and length",
                        ));
                    }
                }
            }
            Expr::Test(t) => {
                self.expr(&t.expr)?;
                self.args(&t.args)?;
                SMALL
            }
            Expr::GetAttr(g) => self.expr(&g.expr)?,
            Expr::GetItem(g) => {
                self.expr(&g.subscript_expr)?;
                self.expr(&g.expr)?
            }
            Expr::Call(call) => {
                let (name, receiver) = match call.identify_call() {
                    CallType::Function(name) => (name, None),
                    CallType::Method(receiver, name) => (name, Some(receiver)),
                    _ => {
                        return Err(refused(
                            e.span(),
                            "this call",
                            "call a date-time method, `macros.datetime(...)`, `ds_add`, \
                             `ds_format` or `.get`",
                        ));
                    }
                };
                let receiver = match receiver {
                    Some(r) => Some(self.expr(r)?),
                    None => None,
                };
                let args = self.args(&call.args)?;
                let last = args.last().copied().unwrap_or(0);
                match (name, receiver) {
                    ("ds_format", _) => self.build(last.saturating_mul(FORMAT_GROWTH) + SMALL),
                    ("strftime", Some(_)) => self.build(last.saturating_mul(FORMAT_GROWTH) + SMALL),
                    ("get", Some(map)) => args.get(1).map_or(map, |d| map.max(*d)),
                    ("strip", Some(text)) => self.build(text),
                    (
                        "ds_add" | "datetime" | "now" | "utcnow" | "strptime" | "fromisoformat"
                        | "isoformat" | "timestamp" | "to_date_string" | "date"
                        | "to_datetime_string" | "weekday" | "isoweekday" | "add" | "subtract"
                        | "in_timezone" | "in_tz" | "astimezone",
                        _,
                    ) => self.build(SMALL),
                    (other, _) => {
                        return Err(refused(
                            e.span(),
                            &format!("calling `{other}`"),
                            "the calls accepted are the date-time methods (add, subtract, \
                             strftime, isoformat, in_timezone, ...), macros.datetime and its \
                             now, utcnow, strptime, fromisoformat, ds_add, ds_format, .get and \
                             .strip; XComs and Variables are not available on the server",
                        ));
                    }
                }
            }
            Expr::List(_) | Expr::Tuple(_) | Expr::Map(_) => {
                return Err(refused(
                    e.span(),
                    "a list, tuple or map literal",
                    "a server-rendered template gives one date-time; build no collections",
                ));
            }
        })
    }

    /// The bounds of call arguments, in order; `*args` and `**kwargs` are refused.
    fn args(&mut self, args: &[CallArg<'_>]) -> Result<Vec<usize>, String> {
        let mut out = Vec::with_capacity(args.len());
        for arg in args {
            match arg {
                CallArg::Pos(e) | CallArg::Kwarg(_, e) => out.push(self.expr(e)?),
                CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
                    return Err(refused(
                        e.span(),
                        "`*args` or `**kwargs`",
                        "pass each argument by itself",
                    ));
                }
            }
        }
        Ok(out)
    }

    /// Counts a value the render allocates; returns its bound.
    fn build(&mut self, bytes: usize) -> usize {
        self.built = self.built.saturating_add(bytes);
        bytes
    }

    /// What the context's value `name` weighs as text (0 when only checking).
    fn weight_of(&mut self, name: &str) -> usize {
        let Some(ctx) = self.ctx else {
            return 0;
        };
        if let Some(w) = self.weights.get(name) {
            return *w;
        }
        let w = ctx
            .get_attr(name)
            .map_or(SMALL, |value| display(&value, false));
        self.weights.insert(name.to_string(), w);
        w
    }
}

/// How long `value` may be as text: a string as itself at the top, escaped (at most
/// six bytes per byte, `\u{1f}`) inside a list or a map; a collection as the sum of
/// its items and separators.
fn display(value: &Value, nested: bool) -> usize {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None | ValueKind::Bool | ValueKind::Number => SMALL,
        ValueKind::String => {
            let len = value.as_str().map_or(0, str::len);
            if nested {
                len.saturating_mul(6).saturating_add(2)
            } else {
                len
            }
        }
        ValueKind::Bytes => value
            .as_bytes()
            .map_or(0, <[u8]>::len)
            .saturating_mul(4)
            .saturating_add(3),
        ValueKind::Seq => value.try_iter().map_or(OBJECT, |items| {
            items.fold(2usize, |sum, item| {
                sum.saturating_add(display(&item, true)).saturating_add(2)
            })
        }),
        ValueKind::Map => value.try_iter().map_or(OBJECT, |keys| {
            keys.fold(2usize, |sum, key| {
                let item = value.get_item(&key).unwrap_or_default();
                sum.saturating_add(display(&key, true))
                    .saturating_add(display(&item, true))
                    .saturating_add(4)
            })
        }),
        _ => OBJECT,
    }
}

fn stmt_span(stmt: &Stmt<'_>) -> Span {
    match stmt {
        Stmt::Template(s) => s.span(),
        Stmt::EmitExpr(s) => s.span(),
        Stmt::EmitRaw(s) => s.span(),
        Stmt::ForLoop(s) => s.span(),
        Stmt::IfCond(s) => s.span(),
        Stmt::WithBlock(s) => s.span(),
        Stmt::Set(s) => s.span(),
        Stmt::SetBlock(s) => s.span(),
        Stmt::AutoEscape(s) => s.span(),
        Stmt::FilterBlock(s) => s.span(),
        Stmt::Do(s) => s.span(),
        _ => Span::default(),
    }
}

#[cfg(test)]
mod tests;
