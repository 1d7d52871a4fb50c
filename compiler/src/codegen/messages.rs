//! Script locations for the `errorf`/`warnf` events: the manifest's
//! `EventSpec::Message` names the file, line and column range of the call,
//! computed here from the action's span, as bpftrace prints them
//! (`stdin:1:9-24`, the end column one past the call's last character;
//! `stdin:1-3` for a call over several lines).

use crate::ir::{Action, Program};
use crate::manifest::EventSpec;
use crate::source::SourceFile;

/// Fills in the location of every message event of `events` (which follow
/// the printf formats and the exit event, in action order).
pub(crate) fn locate(
    program: &Program,
    source: &SourceFile,
    mut events: Vec<EventSpec>,
) -> Vec<EventSpec> {
    let first_action = program.formats.len() + 1;
    for (action, spec) in program
        .actions
        .iter()
        .zip(events.iter_mut().skip(first_action))
    {
        if let (
            Action::Message { span, .. },
            EventSpec::Message {
                filename,
                line,
                col,
                end_line,
                end_col,
                ..
            },
        ) = (action, spec)
        {
            (*line, *col) = source.line_col(span.start);
            (*end_line, *end_col) = source.line_col(span.end);
            *filename = source.name.clone();
        }
    }
    events
}
