//! The output layer: turning raw bytes from BPF maps and ring-buffer
//! events into the text bpftrace prints. `value` defines the decoded
//! `Value`, `decode` reads values out of bytes using the layouts in the
//! compiler's `Manifest`, `names` prints `syscall_name`/`signal_name`/`strerror` values,
//! `printf` formats `printf()` events, `located` the messages tied to a
//! script location (failed `assert`s, helper errors), `hist` holds
//! histogram buckets and labels, `tseries` combines and draws `tseries()`
//! maps, `order` sorts a map's entries into print
//! order, `text` prints maps in bpftrace's text
//! format and `json` as its JSON records, and `printer` sends output in the
//! chosen format to the chosen writers (`rawbytes` carries string bytes
//! that are not UTF-8 through to the output unchanged). Everything here is pure: no
//! kernel access, and output goes only to a caller-supplied writer or into
//! returned strings.

pub mod data;
pub mod decode;
pub mod folded;
pub mod hist;
pub mod json;
pub mod located;
pub mod names;
pub mod order;
pub mod printer;
pub mod printf;
pub mod rawbytes;
pub mod stack;
pub mod text;
pub mod timefmt;
pub mod tseries;
pub mod value;

pub use decode::{decode_field, decode_fields, decode_map, MapDatum, MapSnapshot};
pub use printer::{Captured, Format, Printer};
pub use printf::{format_pieces, format_printf};
pub use text::{
    format_key, print_map, print_map_top, print_maps, print_maps_at_exit, sorted_entries,
};
pub use value::{cmp_value_lists, cmp_values, Value};
