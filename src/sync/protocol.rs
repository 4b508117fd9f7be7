//! The y-websocket wire protocol over `yrs::sync` messages: framing, and the URL of a room.

use crate::replica::claims;
use yrs::encoding::read::Cursor;
use yrs::sync::{Message, SyncMessage};
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed frame: {0}")]
pub struct ProtocolError(pub String);

/// Reads every message of one WebSocket frame (servers such as @y/hub pack several in one).
/// The bytes are walked by hand so that a truncated message, trailing bytes or a message whose
/// content decodes to fewer bytes (duplicate awareness entries) are told apart correctly.
pub fn decode_frame(frame: &[u8]) -> Result<Vec<Message>, ProtocolError> {
    Ok(read_frame(frame)?
        .into_iter()
        .map(MessageRef::into_owned)
        .collect())
}

/// A y-websocket message whose document update, if it carries one, is borrowed from the frame.
enum MessageRef<'a> {
    Sync(SyncRef<'a>),
    Other(Message),
}

impl MessageRef<'_> {
    fn into_owned(self) -> Message {
        match self {
            MessageRef::Sync(sync) => Message::Sync(sync.into_owned()),
            MessageRef::Other(message) => message,
        }
    }
}

/// A sync message, its update borrowed from the frame.
enum SyncRef<'a> {
    Step1(StateVector),
    Step2(&'a [u8]),
    Update(&'a [u8]),
}

impl SyncRef<'_> {
    fn into_owned(self) -> SyncMessage {
        match self {
            SyncRef::Step1(sv) => SyncMessage::SyncStep1(sv),
            SyncRef::Step2(update) => SyncMessage::SyncStep2(update.to_vec()),
            SyncRef::Update(update) => SyncMessage::Update(update.to_vec()),
        }
    }
}

fn received_ref(sync: SyncRef<'_>) -> Received<'_> {
    match sync {
        SyncRef::Step2(update) => Received::Document {
            answer: true,
            update,
        },
        SyncRef::Update(update) => Received::Document {
            answer: false,
            update,
        },
        SyncRef::Step1(sv) => Received::Other(Incoming::Sync(SyncMessage::SyncStep1(sv))),
    }
}

fn read_frame(frame: &[u8]) -> Result<Vec<MessageRef<'_>>, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError("empty frame".into()));
    }
    let mut cursor = Cursor::new(frame);
    let mut messages = Vec::new();
    while cursor.next < frame.len() {
        messages.push(read_message(&mut cursor)?);
    }
    Ok(messages)
}

fn bad(e: yrs::encoding::read::Error) -> ProtocolError {
    ProtocolError(e.to_string())
}

/// A length-prefixed buffer. The length is checked here: yrs' own check adds it to the
/// position, which wraps on wasm32 for lengths near 4 GiB and then panics slicing.
fn read_buf<'a>(cursor: &mut Cursor<'a>) -> Result<&'a [u8], ProtocolError> {
    use yrs::encoding::read::Read;
    let len: u32 = cursor.read_var().map_err(bad)?;
    let left = cursor.buf.len() - cursor.next;
    if len as usize > left {
        return Err(ProtocolError(format!(
            "a length of {len} bytes at byte {} with only {left} bytes left",
            cursor.next
        )));
    }
    let start = cursor.next;
    cursor.next += len as usize;
    Ok(&cursor.buf[start..cursor.next])
}

fn read_string<'a>(cursor: &mut Cursor<'a>) -> Result<&'a str, ProtocolError> {
    std::str::from_utf8(read_buf(cursor)?)
        .map_err(|_| ProtocolError("a string is not UTF-8".into()))
}

/// An awareness update, its claims checked before yrs reserves memory for them.
fn awareness(bytes: &[u8]) -> Result<yrs::sync::AwarenessUpdate, ProtocolError> {
    check_claims(bytes, claims::check_awareness)?;
    yrs::sync::AwarenessUpdate::decode_v1(bytes).map_err(bad)
}

fn check_claims(
    bytes: &[u8],
    check: fn(&[u8]) -> Result<(), claims::Refusal>,
) -> Result<(), ProtocolError> {
    check(bytes).map_err(ProtocolError)
}

/// One y-protocols message: `type` then its payload.
fn read_message<'a>(cursor: &mut Cursor<'a>) -> Result<MessageRef<'a>, ProtocolError> {
    use yrs::encoding::read::Read;
    let kind: u32 = cursor.read_var().map_err(bad)?;
    if kind == 0 {
        return Ok(MessageRef::Sync(read_sync(cursor)?));
    }
    Ok(MessageRef::Other(match kind {
        1 => Message::Awareness(awareness(read_buf(cursor)?)?),
        2 => {
            let denied = cursor.read_var::<u32>().map_err(bad)? == 0;
            Message::Auth(if denied {
                Some(read_string(cursor)?.to_string())
            } else {
                None
            })
        }
        3 => Message::AwarenessQuery,
        other => {
            let tag = u8::try_from(other)
                .map_err(|_| ProtocolError(format!("unknown message type {other}")))?;
            Message::Custom(tag, read_buf(cursor)?.to_vec())
        }
    }))
}

/// A sync message: sub-type then one length-prefixed payload.
fn read_sync<'a>(cursor: &mut Cursor<'a>) -> Result<SyncRef<'a>, ProtocolError> {
    use yrs::encoding::read::Read;
    let kind: u32 = cursor.read_var().map_err(bad)?;
    let payload = read_buf(cursor)?;
    match kind {
        0 => Ok(SyncRef::Step1(state_vector(payload)?)),
        1 => Ok(SyncRef::Step2(payload)),
        2 => Ok(SyncRef::Update(payload)),
        other => Err(ProtocolError(format!("unknown sync message type {other}"))),
    }
}

pub fn sync_step1(state_vector: &StateVector) -> Vec<u8> {
    Message::Sync(SyncMessage::SyncStep1(state_vector.clone())).encode_v1()
}

pub fn sync_step2(update: Vec<u8>) -> Vec<u8> {
    Message::Sync(SyncMessage::SyncStep2(update)).encode_v1()
}

pub fn update(update: Vec<u8>) -> Vec<u8> {
    Message::Sync(SyncMessage::Update(update)).encode_v1()
}

/// Decodes a state vector sent by a peer.
pub fn state_vector(bytes: &[u8]) -> Result<StateVector, ProtocolError> {
    check_claims(bytes, claims::check_state_vector)?;
    StateVector::decode_v1(bytes).map_err(|e| ProtocolError(format!("state vector: {e}")))
}

/// `endpoint/room?params`, as y-websocket builds it: the room goes in as it is, so the URL
/// parser (the browser's, or `ws`'s) turns it into the same request path and
/// `@y/websocket-server` files it under the same document name as for a plain y-websocket
/// client (`org/team:1` stays `org/team:1`, a space becomes `%20` for both). Only `?` and `#`
/// are escaped: y-websocket would cut the room short there.
pub fn room_url(endpoint: &str, room: &str, params: &[(String, String)]) -> String {
    let room = room.replace('?', "%3F").replace('#', "%23");
    let url = format!("{}/{}", endpoint.trim_end_matches('/'), room);
    with_params(url, params)
}

/// `url?key=value&...` with percent-encoding.
fn with_params(mut url: String, params: &[(String, String)]) -> String {
    for (i, (key, value)) in params.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(&encode_component(key));
        url.push('=');
        url.push_str(&encode_component(value));
    }
    url
}

/// Percent-encodes everything but unreserved characters (RFC 3986), like encodeURIComponent.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for byte in s.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A message as the engine takes it in: a document update borrowed from its frame (a sync
/// answer holds the whole document for a new client, hundreds of megabytes for a large one: it
/// is applied where it lies, never copied), or any other message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Received<'a> {
    /// A SyncStep2 (`answer`: the answer to a SyncStep1) or an Update.
    Document {
        answer: bool,
        update: &'a [u8],
    },
    Other(Incoming),
}

impl Received<'_> {
    pub(crate) fn into_owned(self) -> Incoming {
        match self {
            Received::Document {
                answer: true,
                update,
            } => Incoming::Sync(SyncMessage::SyncStep2(update.to_vec())),
            Received::Document {
                answer: false,
                update,
            } => Incoming::Sync(SyncMessage::Update(update.to_vec())),
            Received::Other(incoming) => incoming,
        }
    }
}

/// What a frame is, as far as limits go, told from its first bytes only (so a driver can
/// decide before copying a large frame in): one that starts with a document update may be as
/// large as the document; any other is bounded by `maxMessageBytes`. The text names the kind
/// in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Document(&'static str),
    Other(&'static str),
}

fn kind_of_sync(sub_type: Option<u32>) -> FrameKind {
    match sub_type {
        Some(0) => FrameKind::Other("state vector (SyncStep1)"),
        Some(1) => FrameKind::Document("sync answer (SyncStep2)"),
        Some(2) => FrameKind::Document("update"),
        _ => FrameKind::Other("sync message"),
    }
}

/// What a server sent, in either dialect.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Sync(yrs::sync::SyncMessage),
    Awareness(yrs::sync::AwarenessUpdate),
    AwarenessQuery,
    /// Auth: PermissionDenied with its reason.
    Denied(String),
    /// Hocuspocus Authenticated with its scope ("readonly" or "read-write").
    Authenticated(String),
    /// Hocuspocus SyncStatus: whether the server applied our SyncStep2 / Update.
    SyncStatus(bool),
    /// Hocuspocus v4 application ping (answered with a pong).
    Ping,
    /// Hocuspocus CLOSE with its reason.
    Close(String),
    /// Anything else (stateless messages, unknown types): counts as liveness only.
    Other,
}

/// The server dialect: the y-websocket protocol, or Hocuspocus' (the document name before
/// every message, token auth, SyncStatus acknowledgements). The failover engine is the same.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialect {
    YWebsocket,
    Hocuspocus { document: String, token: String },
}

const HOCUSPOCUS_PING: u8 = 9;
const HOCUSPOCUS_PONG: u8 = 10;

impl Dialect {
    /// The URL to open: y-websocket puts the room in the path, Hocuspocus in every message.
    pub fn url(&self, endpoint: &str, room: &str, params: &[(String, String)]) -> String {
        match self {
            Dialect::YWebsocket => room_url(endpoint, room, params),
            Dialect::Hocuspocus { .. } => with_params(endpoint.to_string(), params),
        }
    }

    /// Wraps a y-websocket-encoded message for the wire.
    pub fn frame(&self, message: Vec<u8>) -> Vec<u8> {
        match self {
            Dialect::YWebsocket => message,
            Dialect::Hocuspocus { document, .. } => {
                let mut framed = Vec::with_capacity(document.len() + 5 + message.len());
                write_var_string(&mut framed, document);
                framed.extend(message);
                framed
            }
        }
    }

    /// What to send as soon as a link opens, before SyncStep1 (Hocuspocus: the token).
    pub fn on_open(&self) -> Option<Vec<u8>> {
        match self {
            Dialect::YWebsocket => None,
            Dialect::Hocuspocus { token, .. } => {
                let mut auth = vec![2, 0]; // Auth, Token
                write_var_string(&mut auth, token);
                Some(self.frame(auth))
            }
        }
    }

    pub fn pong(&self) -> Vec<u8> {
        vec![HOCUSPOCUS_PONG]
    }

    /// Whether updates are acknowledged by SyncStatus messages (else by probe answers).
    pub fn acks_with_sync_status(&self) -> bool {
        matches!(self, Dialect::Hocuspocus { .. })
    }

    pub fn decode(&self, frame: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
        Ok(self
            .decode_ref(frame)?
            .into_iter()
            .map(Received::into_owned)
            .collect())
    }

    /// Like [`Dialect::decode`], with document updates borrowed from `frame`.
    pub(crate) fn decode_ref<'a>(
        &self,
        frame: &'a [u8],
    ) -> Result<Vec<Received<'a>>, ProtocolError> {
        match self {
            Dialect::YWebsocket => Ok(read_frame(frame)?
                .into_iter()
                .map(|message| match message {
                    MessageRef::Sync(sync) => received_ref(sync),
                    MessageRef::Other(message) => Received::Other(incoming(message)),
                })
                .collect()),
            Dialect::Hocuspocus { .. } => decode_hocuspocus(frame),
        }
    }

    /// How many leading bytes of a frame [`Dialect::classify`] needs at most.
    pub(crate) fn head_bytes(&self) -> usize {
        match self {
            Dialect::YWebsocket => 16,
            // the document name (a var string) comes first; a few bytes of slack for a server
            // that addresses us by a longer name
            Dialect::Hocuspocus { document, .. } => 80 + document.len(),
        }
    }

    /// What a frame starting with `head` is (see [`FrameKind`]); a head that ends before its
    /// first message's kind is known reads as some other message.
    pub(crate) fn classify(&self, head: &[u8]) -> FrameKind {
        use yrs::encoding::read::Read;
        let mut cursor = Cursor::new(head);
        if let Dialect::Hocuspocus { .. } = self {
            if head == [HOCUSPOCUS_PING] {
                return FrameKind::Other("ping");
            }
            let name = cursor.read_var::<u32>().ok().map(|n| n as usize);
            match name {
                Some(n) if n <= head.len() - cursor.next => cursor.next += n,
                _ => return FrameKind::Other("Hocuspocus message"),
            }
        }
        let Ok(kind) = cursor.read_var::<u32>() else {
            return FrameKind::Other("message");
        };
        let sub_type = cursor.read_var::<u32>().ok();
        match (self, kind) {
            (_, 0) => kind_of_sync(sub_type),
            (Dialect::Hocuspocus { .. }, 4) => kind_of_sync(sub_type),
            (_, 1) => FrameKind::Other("awareness (presence) message"),
            (_, 2) => FrameKind::Other("auth message"),
            (_, 3) => FrameKind::Other("awareness query"),
            (Dialect::Hocuspocus { .. }, 5) => FrameKind::Other("stateless message"),
            (Dialect::Hocuspocus { .. }, 7) => FrameKind::Other("close message"),
            (Dialect::Hocuspocus { .. }, 8) => FrameKind::Other("sync status"),
            _ => FrameKind::Other("message of an unknown type"),
        }
    }
}

fn incoming(message: Message) -> Incoming {
    match message {
        Message::Sync(sync) => Incoming::Sync(sync),
        Message::Awareness(update) => Incoming::Awareness(update),
        Message::AwarenessQuery => Incoming::AwarenessQuery,
        Message::Auth(Some(reason)) => Incoming::Denied(reason),
        Message::Auth(None) | Message::Custom(..) => Incoming::Other,
    }
}

fn write_var_string(out: &mut Vec<u8>, s: &str) {
    use yrs::encoding::write::Write;
    out.write_string(s);
}

fn decode_hocuspocus(frame: &[u8]) -> Result<Vec<Received<'_>>, ProtocolError> {
    use yrs::encoding::read::Read;
    if frame == [HOCUSPOCUS_PING] {
        return Ok(vec![Received::Other(Incoming::Ping)]);
    }
    if frame.is_empty() {
        // (what the driver passes on for a text frame) not a message: it must not count as one
        return Err(ProtocolError("empty frame".into()));
    }
    let mut cursor = Cursor::new(frame);
    let mut out = Vec::new();
    while cursor.next < frame.len() {
        let _document = read_string(&mut cursor)?;
        let kind: u32 = cursor.read_var().map_err(bad)?;
        let message = match kind {
            // Sync and SyncReply carry a y-protocols sync message
            0 | 4 => {
                out.push(received_ref(read_sync(&mut cursor)?));
                continue;
            }
            1 => Incoming::Awareness(awareness(read_buf(&mut cursor)?)?),
            2 => match cursor.read_var::<u32>().map_err(bad)? {
                1 => Incoming::Denied(read_string(&mut cursor)?.to_string()),
                2 => Incoming::Authenticated(read_string(&mut cursor)?.to_string()),
                _ => Incoming::Other, // a token request: the token went out on open
            },
            3 => Incoming::AwarenessQuery,
            7 => Incoming::Close(read_string(&mut cursor).unwrap_or_default().to_string()),
            8 => Incoming::SyncStatus(cursor.read_var::<u32>().map_err(bad)? == 1),
            5 => {
                read_string(&mut cursor)?;
                Incoming::Other
            }
            other => {
                return Err(ProtocolError(format!(
                    "unknown Hocuspocus message type {other}"
                )))
            }
        };
        out.push(Received::Other(message));
    }
    Ok(out)
}
