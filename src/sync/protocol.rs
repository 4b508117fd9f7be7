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
fn read_message(cursor: &mut Cursor) -> Result<Message, ProtocolError> {
    use yrs::encoding::read::Read;
    let kind: u32 = cursor.read_var().map_err(bad)?;
    Ok(match kind {
        0 => Message::Sync(read_sync(cursor)?),
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
    })
}

/// A sync message: sub-type then one length-prefixed payload.
fn read_sync(cursor: &mut Cursor) -> Result<SyncMessage, ProtocolError> {
    use yrs::encoding::read::Read;
    let kind: u32 = cursor.read_var().map_err(bad)?;
    let payload = read_buf(cursor)?;
    match kind {
        0 => Ok(SyncMessage::SyncStep1(state_vector(payload)?)),
        1 => Ok(SyncMessage::SyncStep2(payload.to_vec())),
        2 => Ok(SyncMessage::Update(payload.to_vec())),
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
        match self {
            Dialect::YWebsocket => Ok(decode_frame(frame)?.into_iter().map(incoming).collect()),
            Dialect::Hocuspocus { .. } => decode_hocuspocus(frame),
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

fn decode_hocuspocus(frame: &[u8]) -> Result<Vec<Incoming>, ProtocolError> {
    use yrs::encoding::read::Read;
    if frame == [HOCUSPOCUS_PING] {
        return Ok(vec![Incoming::Ping]);
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
            0 | 4 => Incoming::Sync(read_sync(&mut cursor)?),
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
        out.push(message);
    }
    Ok(out)
}
