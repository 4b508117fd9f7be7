//! How much a server may make the replica hold: the size of one frame by kind
//! (`maxFrameBytes` for document updates, `maxMessageBytes` for anything else) and how many
//! bytes may wait in either direction (`maxBacklogBytes`).

use super::protocol::FrameKind;
use crate::config::SyncConfig;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// The largest frame carrying document updates (`maxFrameBytes`).
    pub max_frame: usize,
    /// The largest frame of any other kind, and the most presence others may hold.
    pub max_message: usize,
    /// How many bytes of one server's frames may wait to be taken in (`maxBacklogBytes`),
    /// and how many bytes of our answers it may leave unread.
    pub max_backlog: usize,
}

impl Limits {
    pub fn new(config: &SyncConfig) -> Limits {
        Limits {
            max_frame: config.max_frame_bytes as usize,
            max_message: config.max_message_bytes() as usize,
            max_backlog: config.max_backlog_bytes as usize,
        }
    }

    /// Whether a frame of `len` bytes is large enough that its kind decides.
    pub fn needs_kind(&self, len: usize) -> bool {
        len > self.max_message
    }

    /// Why a frame of `len` bytes (of `kind`, when known) is refused, if it is.
    pub fn refusal(&self, len: usize, kind: Option<FrameKind>) -> Option<String> {
        let (max_frame, max_message) = (self.max_frame, self.max_message);
        if len > max_frame {
            let what = match kind {
                Some(FrameKind::Document(what) | FrameKind::Other(what)) => what,
                None => "message",
            };
            return Some(format!(
                "a {len}-byte {what} is over maxFrameBytes ({max_frame}); the connection was dropped"
            ));
        }
        match kind {
            Some(FrameKind::Other(what)) if len > max_message => Some(format!(
                "a {len}-byte {what} is over maxMessageBytes ({max_message}), the limit for messages that are not document updates; the connection was dropped"
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_frame: 1_000,
        max_message: 100,
        max_backlog: 5_000,
    };

    #[test]
    fn documents_may_be_larger_than_other_messages() {
        assert!(!LIMITS.needs_kind(100) && LIMITS.needs_kind(101));
        assert_eq!(
            LIMITS.refusal(500, Some(FrameKind::Document("update"))),
            None
        );
        let other = LIMITS.refusal(500, Some(FrameKind::Other("awareness update")));
        assert!(other.is_some_and(|why| why.contains("maxMessageBytes (100)")));
        let huge = LIMITS.refusal(1_001, None);
        assert!(
            huge.is_some_and(|why| why.starts_with("a 1001-byte message is over maxFrameBytes"))
        );
    }
}
