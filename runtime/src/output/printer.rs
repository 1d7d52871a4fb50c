//! Where program output goes and in which format: `Printer` writes printf
//! text, printed values and maps, and the lifecycle lines (`Attached N
//! probes`, `Lost N events`) either as bpftrace's text (lifecycle lines on
//! the error stream) or as its JSON records (everything on the output
//! stream). The writers are the caller's: stdout or the `-o` file, and
//! stderr.

use std::io::Write;

use super::decode::MapSnapshot;
use super::json;
use super::text::{print_map_top, print_maps};
use super::value::Value;

/// The output format chosen with `-f`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Program output and informational lines, in one format.
pub struct Printer<'w> {
    format: Format,
    out: Box<dyn Write + 'w>,
    err: Box<dyn Write + 'w>,
    /// `--no-warnings`: `warnf()` messages are dropped.
    no_warnings: bool,
}

impl<'w> Printer<'w> {
    pub fn new(format: Format, out: Box<dyn Write + 'w>, err: Box<dyn Write + 'w>) -> Self {
        // Strings' raw bytes (see `rawbytes`) are restored on the way out.
        let out: Box<dyn Write + 'w> = Box::new(super::rawbytes::Unescape::new(out));
        Printer {
            format,
            out,
            err,
            no_warnings: false,
        }
    }

    /// Drops warnings from now on (`--no-warnings`).
    pub fn silence_warnings(&mut self) {
        self.no_warnings = true;
    }

    /// Whether `--no-warnings` asked to drop warnings.
    pub fn warnings_silenced(&self) -> bool {
        self.no_warnings
    }

    /// The output of one `printf()`.
    pub fn printf(&mut self, text: &str) {
        self.text("printf", text);
    }

    /// The output of a `system()` command (a `syscall` record in JSON, as
    /// bpftrace names it).
    pub fn system(&mut self, text: &str) {
        self.text("syscall", text);
    }

    /// The contents of a file printed by `cat()`.
    pub fn cat(&mut self, text: &str) {
        self.text("cat", text);
    }

    /// The text of `time()`.
    pub fn time(&mut self, text: &str) {
        self.text("time", text);
    }

    /// The strings of `join()`, joined by `sep`: a line of text, or a
    /// `join` record without the newline.
    pub fn join(&mut self, args: &[String], sep: &str) {
        let joined = args.join(sep);
        match self.format {
            Format::Text => self.text("join", &format!("{joined}\n")),
            Format::Json => self.text("join", &joined),
        }
    }

    /// Text as it is, or as a JSON record of type `kind`.
    fn text(&mut self, kind: &str, text: &str) {
        let _ = match self.format {
            Format::Text => self.out.write_all(text.as_bytes()),
            Format::Json => self
                .out
                .write_all(json::record(kind, json::Json::Str(text.into())).as_bytes()),
        };
    }

    /// Text already laid out in this printer's format (`--test` and
    /// `--bench` results), written as it is.
    pub fn raw(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// Whether records are JSON lines.
    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// `print(value)`.
    pub fn value(&mut self, v: &Value) {
        let _ = match self.format {
            Format::Text => writeln!(self.out, "{v}"),
            Format::Json => self
                .out
                .write_all(json::record("value", json::value(v)).as_bytes()),
        };
    }

    /// `print(@map, top, div)`.
    pub fn map(&mut self, m: &MapSnapshot, top: u64, div: u64) {
        let _ = match self.format {
            Format::Text => print_map_top(&mut self.out, m, top, div),
            Format::Json => self.out.write_all(json::map(m, top, div).as_bytes()),
        };
    }

    /// Every non-empty map at exit, ordered by name; the text format starts
    /// with two newlines, JSON writes no blank lines.
    pub fn maps_at_exit(&mut self, maps: &[MapSnapshot]) {
        match self.format {
            Format::Text => {
                let _ = self.out.write_all(b"\n\n");
                let _ = print_maps(&mut self.out, maps);
            }
            Format::Json => {
                let mut ordered: Vec<&MapSnapshot> =
                    maps.iter().filter(|m| !m.is_empty()).collect();
                ordered.sort_by(|a, b| a.name.cmp(&b.name));
                for m in ordered {
                    let _ = self.out.write_all(json::map(m, 0, 1).as_bytes());
                }
            }
        }
    }

    /// `Attached N probes`.
    pub fn attached(&mut self, n: u64) {
        let _ = match self.format {
            Format::Text => writeln!(
                self.err,
                "Attached {n} probe{}",
                if n == 1 { "" } else { "s" }
            ),
            Format::Json => self.out.write_all(json::attached_probes(n).as_bytes()),
        };
    }

    /// `Lost N events`: records the BPF programs could not send.
    pub fn lost(&mut self, n: u64) {
        let _ = match self.format {
            Format::Text => writeln!(self.err, "Lost {n} events"),
            Format::Json => self.out.write_all(json::lost_events(n).as_bytes()),
        };
    }

    /// A message tied to a script location (`output::located`): its text
    /// on the error stream, or its JSON record.
    pub fn located(&mut self, text: &str, json: &str) {
        let _ = match self.format {
            // Output so far comes first, so the message follows what the
            // probe printed before it, as on a terminal.
            Format::Text => self
                .out
                .flush()
                .and_then(|()| self.err.write_all(text.as_bytes()))
                .and_then(|()| self.err.flush()),
            Format::Json => self.out.write_all(json.as_bytes()),
        };
    }

    /// `WARNING: Total lost event count: N` at exit, in text mode.
    pub fn lost_total(&mut self, n: u64) {
        if self.format == Format::Text && n > 0 {
            let _ = writeln!(self.err, "WARNING: Total lost event count: {n}");
        }
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
        let _ = self.err.flush();
    }
}

/// A writer into memory whose bytes every clone can read back: `--test`
/// keeps a test's output this way, to show it only if the test fails.
#[derive(Clone, Default)]
pub struct Captured(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything written so far, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::output::decode::MapDatum;

    fn run(format: Format, f: impl FnOnce(&mut Printer)) -> (String, String) {
        let (out, err) = (Captured::default(), Captured::default());
        let mut p = Printer::new(format, Box::new(out.clone()), Box::new(err.clone()));
        f(&mut p);
        p.flush();
        drop(p);
        (out.text(), err.text())
    }

    #[test]
    fn text_and_json_sessions() {
        let maps = vec![
            MapSnapshot {
                name: "@b".into(),
                entries: vec![(vec![], MapDatum::Count(2))],
            },
            MapSnapshot {
                name: "@a".into(),
                entries: vec![(vec![], MapDatum::Value(Value::Str("x".into())))],
            },
        ];
        let session = |p: &mut Printer| {
            p.attached(2);
            p.printf("hi 5\n");
            p.time("12:00:00\n");
            p.join(&["ls".into(), "-l".into()], " ");
            p.value(&Value::Int(123));
            p.lost(3);
            p.maps_at_exit(&maps);
        };
        let (out, err) = run(Format::Text, session);
        assert_eq!(out, "hi 5\n12:00:00\nls -l\n123\n\n\n@a: x\n@b: 2\n");
        assert_eq!(err, "Attached 2 probes\nLost 3 events\n");
        let (out, err) = run(Format::Json, session);
        assert_eq!(
            out,
            "{\"type\": \"attached_probes\", \"count\": 2, \"data\": {\"probes\": 2}}\n\
             {\"type\": \"printf\", \"data\": \"hi 5\\n\"}\n\
             {\"type\": \"time\", \"data\": \"12:00:00\\n\"}\n\
             {\"type\": \"join\", \"data\": \"ls -l\"}\n\
             {\"type\": \"value\", \"data\": 123}\n\
             {\"type\": \"lost_events\", \"count\": 3, \"data\": {\"events\": 3}}\n\
             {\"type\": \"map\", \"data\": {\"@a\": \"x\"}}\n\
             {\"type\": \"map\", \"data\": {\"@b\": 2}}\n"
        );
        assert_eq!(err, "");
    }
}
