//! `-B line|full|none`: how the program's output reaches its file or
//! standard output. Each mode is a standard writer around the destination:
//! `LineWriter` (written at each newline), a large `BufWriter` (written in
//! blocks, and at exit; the session also stops flushing after each batch
//! of events), or a writer that flushes after every write.

use crate::cli::Buffering;
use std::io::{BufWriter, LineWriter, Write};

/// Bytes held before a fully buffered writer writes.
const FULL_BUFFER: usize = 64 * 1024;

/// `dest` buffered as `mode` says.
pub fn wrap<W: Write + 'static>(dest: W, mode: Buffering) -> Box<dyn Write> {
    match mode {
        Buffering::Line => Box::new(LineWriter::new(dest)),
        Buffering::Full => Box::new(BufWriter::with_capacity(FULL_BUFFER, dest)),
        Buffering::None => Box::new(Unbuffered(dest)),
    }
}

/// Passes every write straight through and flushes it.
struct Unbuffered<W: Write>(W);

impl<W: Write> Write for Unbuffered<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        self.0.flush()?;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Records each write that reaches it.
    #[derive(Clone, Default)]
    struct Writes(Rc<RefCell<Vec<Vec<u8>>>>);

    impl Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn reached(mode: Buffering) -> Vec<Vec<u8>> {
        let w = Writes::default();
        let mut out = wrap(w.clone(), mode);
        out.write_all(b"a").unwrap();
        out.write_all(b"b\nc").unwrap();
        let seen = w.0.borrow().clone();
        seen
    }

    #[test]
    fn modes_pass_bytes_on_when_they_say() {
        assert_eq!(reached(Buffering::None), [b"a".to_vec(), b"b\nc".to_vec()]);
        assert_eq!(reached(Buffering::Line).concat(), b"ab\n");
        assert!(reached(Buffering::Full).is_empty());
    }
}
