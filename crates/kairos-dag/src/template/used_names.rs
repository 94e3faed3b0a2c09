//! The top-level names a template reads, from its parse tree alone. Compiling a
//! template to ask minijinja folds constant expressions (`'x' * 100000000`),
//! which a pushed DAG file must not be able to make the servers do; parsing
//! evaluates nothing. A name the template assigns anywhere (`set`, `for`,
//! `with`, macro arguments, imports) counts as its own everywhere: the check
//! errs toward accepting.

use std::collections::BTreeSet;

use minijinja::machinery::ast::{CallArg, Expr, Stmt};
use minijinja::machinery::parse;
use minijinja::syntax::SyntaxConfig;

#[derive(Default)]
struct Names<'a> {
    read: BTreeSet<&'a str>,
    assigned: BTreeSet<&'a str>,
}

/// The names `template` reads and does not assign, sorted; the parse error
/// when it does not parse.
pub(super) fn used_names(template: &str) -> Result<Vec<String>, String> {
    let root = parse(template, "template", SyntaxConfig::default()).map_err(|e| e.to_string())?;
    let mut names = Names::default();
    stmt(&root, &mut names);
    Ok(names
        .read
        .iter()
        .filter(|n| !names.assigned.contains(*n))
        .map(|n| n.to_string())
        .collect())
}

fn stmts<'a>(body: &[Stmt<'a>], n: &mut Names<'a>) {
    body.iter().for_each(|s| stmt(s, n));
}

fn stmt<'a>(s: &Stmt<'a>, n: &mut Names<'a>) {
    match s {
        Stmt::Template(t) => stmts(&t.children, n),
        Stmt::EmitExpr(e) => expr(&e.expr, n),
        Stmt::EmitRaw(_) | Stmt::Continue(_) | Stmt::Break(_) => {}
        Stmt::ForLoop(f) => {
            target(&f.target, n);
            n.assigned.insert("loop");
            expr(&f.iter, n);
            if let Some(e) = &f.filter_expr {
                expr(e, n);
            }
            stmts(&f.body, n);
            stmts(&f.else_body, n);
        }
        Stmt::IfCond(i) => {
            expr(&i.expr, n);
            stmts(&i.true_body, n);
            stmts(&i.false_body, n);
        }
        Stmt::WithBlock(w) => {
            for (t, e) in &w.assignments {
                target(t, n);
                expr(e, n);
            }
            stmts(&w.body, n);
        }
        Stmt::Set(set) => {
            target(&set.target, n);
            expr(&set.expr, n);
        }
        Stmt::SetBlock(set) => {
            target(&set.target, n);
            if let Some(f) = &set.filter {
                expr(f, n);
            }
            stmts(&set.body, n);
        }
        Stmt::AutoEscape(a) => {
            expr(&a.enabled, n);
            stmts(&a.body, n);
        }
        Stmt::FilterBlock(f) => {
            expr(&f.filter, n);
            stmts(&f.body, n);
        }
        Stmt::Block(b) => stmts(&b.body, n),
        Stmt::Import(i) => {
            expr(&i.expr, n);
            target(&i.name, n);
        }
        Stmt::FromImport(i) => {
            expr(&i.expr, n);
            for (name, alias) in &i.names {
                target(alias.as_ref().unwrap_or(name), n);
            }
        }
        Stmt::Extends(e) => expr(&e.name, n),
        Stmt::Include(i) => expr(&i.name, n),
        Stmt::Macro(m) => {
            n.assigned.insert(m.name);
            m.args.iter().for_each(|a| target(a, n));
            m.defaults.iter().for_each(|d| expr(d, n));
            stmts(&m.body, n);
        }
        Stmt::CallBlock(c) => {
            n.assigned.insert("caller");
            expr(&c.call.expr, n);
            c.call.args.iter().for_each(|a| arg(a, n));
            c.macro_decl.args.iter().for_each(|a| target(a, n));
            stmts(&c.macro_decl.body, n);
        }
        Stmt::Do(d) => {
            expr(&d.call.expr, n);
            d.call.args.iter().for_each(|a| arg(a, n));
        }
    }
}

/// The names an assignment target binds (`x`, `a, b`).
fn target<'a>(e: &Expr<'a>, n: &mut Names<'a>) {
    match e {
        Expr::Var(v) => {
            n.assigned.insert(v.id);
        }
        Expr::Tuple(t) => t.items.iter().for_each(|i| target(i, n)),
        Expr::List(l) => l.items.iter().for_each(|i| target(i, n)),
        // `set ns.x = ...` reads `ns`.
        other => expr(other, n),
    }
}

fn arg<'a>(a: &CallArg<'a>, n: &mut Names<'a>) {
    match a {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => {
            expr(e, n)
        }
    }
}

fn expr<'a>(e: &Expr<'a>, n: &mut Names<'a>) {
    match e {
        Expr::Var(v) => {
            n.read.insert(v.id);
        }
        Expr::Const(_) => {}
        Expr::Slice(s) => {
            expr(&s.expr, n);
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                expr(part, n);
            }
        }
        Expr::UnaryOp(u) => expr(&u.expr, n),
        Expr::BinOp(b) => {
            expr(&b.left, n);
            expr(&b.right, n);
        }
        Expr::Compare(c) => {
            expr(&c.expr, n);
            c.ops.iter().for_each(|op| expr(&op.expr, n));
        }
        Expr::IfExpr(i) => {
            expr(&i.test_expr, n);
            expr(&i.true_expr, n);
            if let Some(f) = &i.false_expr {
                expr(f, n);
            }
        }
        Expr::Filter(f) => {
            if let Some(inner) = &f.expr {
                expr(inner, n);
            }
            f.args.iter().for_each(|a| arg(a, n));
        }
        Expr::Test(t) => {
            expr(&t.expr, n);
            t.args.iter().for_each(|a| arg(a, n));
        }
        Expr::GetAttr(g) => expr(&g.expr, n),
        Expr::GetItem(g) => {
            expr(&g.expr, n);
            expr(&g.subscript_expr, n);
        }
        Expr::Call(c) => {
            expr(&c.expr, n);
            c.args.iter().for_each(|a| arg(a, n));
        }
        Expr::List(l) => l.items.iter().for_each(|i| expr(i, n)),
        Expr::Tuple(t) => t.items.iter().for_each(|i| expr(i, n)),
        Expr::Map(m) => {
            m.keys.iter().for_each(|k| expr(k, n));
            m.values.iter().for_each(|v| expr(v, n));
        }
    }
}
