//! Reading event records from the BPF ring buffer.
//!
//! `EventReader` wraps libbpf's `ring_buffer` over a duplicate of the events
//! map's fd, so it does not borrow the `LoadedObject`. libbpf calls a C
//! callback for each record; the callback is an `extern "C"` trampoline that
//! forwards to the caller's closure. The closure's address is stored in a
//! heap slot owned by the reader only for the duration of one `poll` call
//! (which takes `&mut self`), so the trampoline never sees a dangling
//! closure, and panics inside the closure are caught at the C boundary and
//! resumed after libbpf returns.

use std::any::Any;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::ptr::NonNull;
use std::time::Duration;

use super::error::{errno_text, libbpf_errno};
use super::BpfError;

/// The closure type records are forwarded to.
type RecordFn<'a> = dyn FnMut(&[u8]) + 'a;

/// State shared with the trampoline. Lives in a `Box` so its address is stable.
struct Slot {
    /// During `poll`: a pointer to the caller's `&mut dyn FnMut(&[u8])`; null otherwise.
    current: *mut (),
    /// A panic raised by the closure, resumed once libbpf has returned.
    panic: Option<Box<dyn Any + Send + 'static>>,
}

/// Reads records from the events ring buffer.
pub struct EventReader {
    rb: NonNull<libbpf_sys::ring_buffer>,
    /// From `Box::into_raw`; every access goes through this pointer (the
    /// trampoline gets the same one), and Drop frees it after the ring buffer.
    slot: NonNull<Slot>,
    /// Keeps the map alive for as long as libbpf uses it (libbpf mmaps it).
    _map: OwnedFd,
}

impl std::fmt::Debug for EventReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventReader")
            .field("map_fd", &self._map.as_raw_fd())
            .finish()
    }
}

// SAFETY: the ring buffer and slot are owned exclusively by the reader, libbpf
// keeps no thread-local state for them, and every use goes through `&mut self`.
unsafe impl Send for EventReader {}

/// Called by libbpf for each record; forwards it to the closure in the slot.
unsafe extern "C" fn trampoline(
    ctx: *mut libc::c_void,
    data: *mut libc::c_void,
    size: libbpf_sys::size_t,
) -> libc::c_int {
    // SAFETY: `ctx` is the address of the reader's boxed `Slot`, registered in
    // `EventReader::new`; libbpf calls us only from within
    // `ring_buffer__poll`, which runs while `poll` holds `&mut self`.
    let slot = unsafe { &mut *ctx.cast::<Slot>() };
    if slot.current.is_null() || slot.panic.is_some() {
        return 0;
    }
    let len = usize::try_from(size).unwrap_or(0);
    let bytes: &[u8] = if data.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: libbpf passes a pointer to `size` readable bytes of the
        // record, valid until this callback returns.
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
    };
    // SAFETY: `current` was set by `poll` to a `*mut &mut RecordFn` that
    // stays valid until `ring_buffer__poll` returns (it is reset after).
    let callback = unsafe { &mut *slot.current.cast::<&mut RecordFn<'_>>() };
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(bytes)))
    {
        slot.panic = Some(payload);
    }
    0
}

impl EventReader {
    /// A reader over the ring buffer map `map` (the fd is duplicated).
    pub fn new(map: BorrowedFd<'_>) -> Result<EventReader, BpfError> {
        super::load::quiet_libbpf();
        let map = map.try_clone_to_owned().map_err(|e| {
            BpfError::Events(format!(
                "could not set up the event ring buffer ({e}); raise `ulimit -n` and try again."
            ))
        })?;
        let slot = NonNull::from(Box::leak(Box::new(Slot {
            current: std::ptr::null_mut(),
            panic: None,
        })));
        let ctx: *mut Slot = slot.as_ptr();
        // SAFETY: the map fd is live and owned by the reader; `ctx` points to
        // the leaked slot, which the reader owns and frees only after
        // `ring_buffer__free`; null opts are allowed.
        let rb = unsafe {
            libbpf_sys::ring_buffer__new(
                map.as_raw_fd(),
                Some(trampoline),
                ctx.cast(),
                std::ptr::null(),
            )
        };
        let Some(rb) = NonNull::new(rb) else {
            // SAFETY: the slot came from `Box::leak` above and libbpf did not keep it.
            drop(unsafe { Box::from_raw(ctx) });
            let errno = super::error::last_errno();
            return Err(BpfError::Events(format!(
                "could not set up the event ring buffer: {}; check that this kernel supports BPF ring buffers (5.8 or newer).",
                errno_text(errno)
            )));
        };
        Ok(EventReader {
            rb,
            slot,
            _map: map,
        })
    }

    /// Waits up to `timeout` for records and calls `on_record` for each one
    /// (the record's bytes). Returns how many were consumed. With a timeout,
    /// at most `MAX_BATCH` records are taken, so the caller gets control
    /// back even when records keep arriving as fast as they are read (a
    /// probe on the `write` calls that print its own output); with a zero
    /// timeout every waiting record is taken (the drain after detaching).
    pub fn poll(
        &mut self,
        timeout: Duration,
        on_record: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, BpfError> {
        let timeout_ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        let mut callback: &mut RecordFn<'_> = on_record;
        let slot = self.slot.as_ptr();
        // SAFETY: the slot is live until Drop, and no callback runs now.
        unsafe { (*slot).current = (&mut callback as *mut &mut RecordFn<'_>).cast() };
        // SAFETY: `rb` is live (freed only in Drop); the slot now points to
        // `callback`, which outlives this call.
        let ret = unsafe { self.consume(timeout_ms) };
        // SAFETY: as above; libbpf has returned, so no callback runs now.
        let panic = unsafe {
            (*slot).current = std::ptr::null_mut();
            (*slot).panic.take()
        };
        if let Some(payload) = panic {
            std::panic::resume_unwind(payload);
        }
        if ret >= 0 {
            return Ok(usize::try_from(ret).unwrap_or(0));
        }
        let errno = libbpf_errno(ret);
        if errno == libc::EINTR {
            return Ok(0);
        }
        Err(BpfError::Events(format!(
            "reading events from the ring buffer failed: {}.",
            errno_text(errno)
        )))
    }
}

impl EventReader {
    /// Takes waiting records: all of them when `timeout_ms` is 0, else up
    /// to `MAX_BATCH`, first waiting up to `timeout_ms` if none are there.
    ///
    /// # Safety
    /// The slot must point to a live callback for the whole call.
    unsafe fn consume(&mut self, timeout_ms: i32) -> i32 {
        let rb = self.rb.as_ptr();
        if timeout_ms == 0 {
            // SAFETY: `rb` is live; the caller set the slot.
            return unsafe { libbpf_sys::ring_buffer__consume(rb) };
        }
        // SAFETY: as above.
        let taken = unsafe { libbpf_sys::ring_buffer__consume_n(rb, MAX_BATCH) };
        if taken != 0 {
            return taken;
        }
        // SAFETY: `rb` is live; its epoll fd lives as long as `rb`.
        let epoll = unsafe { libbpf_sys::ring_buffer__epoll_fd(rb) };
        let mut ready = libc::epoll_event { events: 0, u64: 0 };
        // SAFETY: `ready` is a valid buffer of one event.
        let n = unsafe { libc::epoll_wait(epoll, &mut ready, 1, timeout_ms) };
        if n < 0 {
            return -std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINTR);
        }
        if n == 0 {
            return 0;
        }
        // SAFETY: as above.
        unsafe { libbpf_sys::ring_buffer__consume_n(rb, MAX_BATCH) }
    }
}

/// The most records one `poll` with a timeout takes before returning.
const MAX_BATCH: libbpf_sys::size_t = 1 << 16;

impl Drop for EventReader {
    fn drop(&mut self) {
        // SAFETY: `rb` came from `ring_buffer__new` and is freed exactly once;
        // the slot and the map fd are dropped after this.
        unsafe { libbpf_sys::ring_buffer__free(self.rb.as_ptr()) };
        // SAFETY: the slot came from `Box::leak` in `new`, libbpf no longer
        // holds it, and it is freed exactly once.
        drop(unsafe { Box::from_raw(self.slot.as_ptr()) });
    }
}
