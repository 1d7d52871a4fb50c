//! The ferrotrace runtime: kernel facts for the compiler, loading and
//! attaching compiled artifacts, the event loop, map reading and printing.
//! It never re-derives language semantics: it follows the compiler's
//! `Manifest`.

pub mod bpf;
pub mod btf;
pub mod btf_types;
pub mod buffering;
pub mod cgroups;
pub mod child;
pub mod cli;
pub mod config_effects;
pub mod elf_symbols;
pub mod explain;
pub mod flamegraph;
pub mod generate;
pub mod kernel_info;
pub mod listing;
pub mod output;
pub mod params;
pub mod session;
pub mod signals;
pub mod symbolize;
pub mod tai;
pub mod testmode;
pub mod tracefs;
pub mod type_listing;
pub mod unsafe_actions;
pub mod usdt;
pub mod user_data;
pub mod user_listing;
