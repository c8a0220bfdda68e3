//! A simulated guest's stdout and stderr: each line goes into the
//! transcript, stamped with the virtual time it was written.

use std::sync::Arc;

use super::transcript::{Recorder, What};
use crate::runtime::output::{Lines, Outputs};

/// Which stream.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// The lines of one of a host's streams, into the transcript.
struct Transcribed {
    host: Arc<str>,
    stream: Stream,
    recorder: Recorder,
}

impl Lines for Transcribed {
    fn line(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line).into_owned();
        let what = match self.stream {
            Stream::Stdout => What::Stdout(text),
            Stream::Stderr => What::Stderr(text),
        };
        self.recorder.record(&self.host, what);
    }
}

/// The two streams of `host`'s guest, recorded by `recorder`, for one of
/// its lives.
pub(crate) fn transcribed(host: &str, recorder: &Recorder) -> Outputs {
    let to = |stream| -> Arc<dyn Lines> {
        Arc::new(Transcribed {
            host: host.into(),
            stream,
            recorder: recorder.clone(),
        })
    };
    Outputs::new(to(Stream::Stdout), to(Stream::Stderr))
}
