//! The y-websocket wire protocol over `yrs::sync` messages: framing, and the URL of a room.

use yrs::encoding::read::Cursor;
use yrs::sync::{Message, MessageReader, SyncMessage};
use yrs::updates::decoder::{Decode, DecoderV1};
use yrs::updates::encoder::Encode;
use yrs::StateVector;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed frame: {0}")]
pub struct ProtocolError(pub String);

/// Reads every message of one WebSocket frame (servers such as @y/hub pack several in one).
pub fn decode_frame(frame: &[u8]) -> Result<Vec<Message>, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError("empty frame".into()));
    }
    let mut decoder = DecoderV1::new(Cursor::new(frame));
    let messages: Vec<Message> = MessageReader::new(&mut decoder)
        .map(|m| m.map_err(|e| ProtocolError(e.to_string())))
        .collect::<Result<_, _>>()?;
    // The reader stops quietly at the end of the buffer, also inside a truncated message. lib0
    // writes canonical encodings, so the messages re-encode to exactly the frame's length.
    let read: usize = messages.iter().map(|m| m.encode_v1().len()).sum();
    if read != frame.len() {
        return Err(ProtocolError(format!(
            "{} of {} bytes form whole messages (truncated or trailing bytes)",
            read,
            frame.len()
        )));
    }
    Ok(messages)
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
    StateVector::decode_v1(bytes).map_err(|e| ProtocolError(format!("state vector: {e}")))
}

/// `endpoint/room?params`, as y-websocket builds it (the room is one path segment).
pub fn room_url(endpoint: &str, room: &str, params: &[(String, String)]) -> String {
    let mut url = endpoint.trim_end_matches('/').to_string();
    url.push('/');
    url.push_str(&encode_component(room));
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
