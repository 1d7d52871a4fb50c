//! Stage 1: script text → AST. A pest grammar (`grammar.pest`) recognises
//! the language; `parser` builds the span-carrying AST from pest's pairs and
//! turns pest errors into diagnostics in one function. The grammar contains
//! no builtin or probe names: those are resolved by `sema` via the stdlib.
//! `imports` brings the files named by `import` into the `SourceFile`
//! before parsing, through a reader the caller provides.

pub mod ast;
pub mod imports;
mod lexscan;
pub(crate) mod literal;
mod lower;
mod parser;
pub mod preprocess;
pub mod print;

pub use parser::parse;
