//! The untyped syntax tree. Every node carries the `Span` of the text it came
//! from. Nothing here is resolved: names are strings, attach points are their
//! colon-separated parts. Types are never written back onto these nodes; the
//! checker produces a separate typed IR.

use crate::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Probe(Probe),
    /// `config = { key = value; ... }`.
    Config(ConfigBlock),
    /// `let @name = hash(N);`
    MapDecl(MapDecl),
    /// `macro name(params) { body }`
    Macro(MacroDef),
    /// `import "path";`
    Import {
        path: String,
        span: Span,
    },
    /// A C `struct`/`union` definition, as written (`text` starts at `span.start`).
    CDefinition {
        text: String,
        span: Span,
    },
}

/// A user macro. Its body is expanded at each call, hygienically: the
/// body's own scratch variables are private to each expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct MacroDef {
    pub name: String,
    pub params: Vec<MacroParam>,
    /// The body's statements, without its final value.
    pub body: Block,
    /// The body's final expression when it is not ended by `;`.
    pub value: Option<Expr>,
    pub span: Span,
}

/// A macro parameter: `$x` takes a scratch variable, `@m` a map, `e` any
/// expression.
#[derive(Debug, Clone, PartialEq)]
pub enum MacroParam {
    Var(String),
    Map(String),
    Expr(String),
}

/// A `config = { ... }` block; keys are checked by `sema`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigBlock {
    pub entries: Vec<ConfigEntry>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub key: String,
    pub key_span: Span,
    pub value: ConfigValue,
    pub value_span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    Int(u64),
    Str(String),
    /// A bare word such as `perf` or `warn`.
    Word(String),
}

/// `let @name = kind(max_entries);` with `kind` one of `hash`, `lruhash`,
/// `percpuhash`, `percpulruhash` (checked by `sema`).
#[derive(Debug, Clone, PartialEq)]
pub struct MapDecl {
    /// The map name without `@`.
    pub name: String,
    pub kind: String,
    pub kind_span: Span,
    pub size: u64,
    pub span: Span,
}

/// A type written in the script: `uint8`, `int64`, `bool`, `string`, with
/// `pointer_depth` trailing `*`s.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeName {
    pub name: String,
    pub pointer_depth: u8,
    pub span: Span,
    /// `typeof(expr)`: the type is that of this expression (`name` is
    /// then `typeof`).
    pub of: Option<Box<Expr>>,
}

/// An action block: `attach[, attach...] /predicate/ { body }`.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub attach_points: Vec<AttachPoint>,
    pub predicate: Option<Expr>,
    pub body: Block,
    pub span: Span,
}

/// One attach point, split on `:` outside quotes, e.g.
/// `tracepoint:syscalls:sys_enter_openat` → parts
/// `["tracepoint", "syscalls", "sys_enter_openat"]`, and `BEGIN` → `["BEGIN"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachPoint {
    pub parts: Vec<AttachPart>,
    /// The attach point exactly as written.
    pub raw: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AttachPart {
    /// The text with surrounding quotes removed.
    pub text: String,
    pub quoted: bool,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stmt {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StmtKind {
    /// An expression evaluated for its effect: `printf(...)`, `@x++`, `exit()`.
    Expr(Expr),
    /// `target = value` or `target op= value`; the target is a map or a
    /// scratch variable (the checker rejects anything else).
    Assign {
        target: Expr,
        op: Option<BinaryOp>,
        value: Expr,
    },
    /// `if (cond) { } else if ... else { }`; an `else if` is an `else`
    /// block holding a single `If` statement.
    If {
        cond: Expr,
        then: Block,
        otherwise: Option<Block>,
    },
    /// `let $x;`, `let $x = e;`, `let $x: uint16 = e;`
    Let {
        name: String,
        name_span: Span,
        ty: Option<TypeName>,
        value: Option<Expr>,
    },
    /// A nested `{ ... }` block: its variables end with it.
    Block(Block),
    /// `while (cond) { }` (deprecated in bpftrace 0.25).
    While {
        cond: Expr,
        body: Block,
    },
    /// `unroll(N) { }`: the body repeated N times.
    Unroll {
        count: Expr,
        body: Block,
    },
    /// `for ($i : start..end) { }`, `end` exclusive.
    ForRange {
        var: String,
        var_span: Span,
        start: Expr,
        end: Expr,
        body: Block,
    },
    /// `for ($kv : @map) { }`.
    ForMap {
        var: String,
        var_span: Span,
        map: Expr,
        body: Block,
    },
    Break,
    Continue,
    Return,
    /// `return VALUE;`: leaves the probe with this return code (a `test:`
    /// probe fails with a non-zero one).
    ReturnValue(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// An integer literal's value (negative numbers are unary minus).
    Int(u64),
    /// A string literal with escapes already decoded.
    Str(String),
    /// A string literal whose decoded bytes are not valid UTF-8 (`"\xff"`).
    Bytes(Vec<u8>),
    /// `true` or `false`.
    Bool(bool),
    /// A positional parameter `$1`..`$N`.
    Positional(u32),
    /// `$#`, the number of positional parameters.
    ParamCount,
    /// `(a, b)`, `(a,)`, `()`.
    Tuple(Vec<Expr>),
    /// `(name = a, size = b)`: a record (named tuple), fields in order.
    Record(Vec<RecordField>),
    /// `base.N` on a tuple.
    TupleIndex {
        base: Box<Expr>,
        index: u32,
    },
    /// `(type)operand`.
    Cast {
        ty: TypeName,
        operand: Box<Expr>,
    },
    /// `sizeof(type)`.
    SizeofType(TypeName),
    /// `sizeof(expr)`.
    SizeofExpr(Box<Expr>),
    /// `{ stmts; value }` used as a value; `value` is `None` when the block
    /// ends with `;` or a non-expression statement.
    Block {
        stmts: Vec<Stmt>,
        value: Option<Box<Expr>>,
    },
    /// A bare identifier: a builtin variable (`pid`), `args`, or a zero-argument
    /// function called without parentheses.
    Ident(String),
    /// A scratch variable `$name` (the name without `$`).
    Var(String),
    /// A map `@name[keys]`; `name` is without `@`, empty for the anonymous map,
    /// and `keys` is empty for a scalar map.
    Map {
        name: String,
        keys: Vec<Expr>,
    },
    /// `name(args)`.
    Call {
        name: String,
        name_span: Span,
        args: Vec<Expr>,
    },
    /// `base.field` or `base->field` (`arrow` records which was written).
    Field {
        base: Box<Expr>,
        field: String,
        field_span: Span,
        arrow: bool,
    },
    Unary {
        op: UnaryOp,
        operand: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
    /// `cond ? then : otherwise`.
    Ternary {
        cond: Box<Expr>,
        then: Box<Expr>,
        otherwise: Box<Expr>,
    },
    /// `x++`, `++x`, `x--`, `--x` on a map or scratch variable.
    IncDec {
        target: Box<Expr>,
        increment: bool,
        prefix: bool,
    },
    /// `*p`.
    Deref(Box<Expr>),
    /// `&p->field`, `&a[i]`: the address of a C object.
    AddrOf(Box<Expr>),
    /// `base[index]` on an array or pointer (not a map).
    Index {
        base: Box<Expr>,
        index: Box<Expr>,
    },
    /// `offsetof(struct foo, a.b)`.
    Offsetof {
        ty: TypeName,
        path: Vec<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
    BitNot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    BitAnd,
    BitOr,
    BitXor,
    Shl,
    Shr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        use BinaryOp::*;
        match self {
            Add => "+",
            Sub => "-",
            Mul => "*",
            Div => "/",
            Mod => "%",
            BitAnd => "&",
            BitOr => "|",
            BitXor => "^",
            Shl => "<<",
            Shr => ">>",
            Eq => "==",
            Ne => "!=",
            Lt => "<",
            Le => "<=",
            Gt => ">",
            Ge => ">=",
            And => "&&",
            Or => "||",
        }
    }
}

impl UnaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Neg => "-",
            UnaryOp::Not => "!",
            UnaryOp::BitNot => "~",
        }
    }
}

/// One `name = value` of a record literal.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordField {
    pub name: String,
    pub name_span: Span,
    pub value: Expr,
}
