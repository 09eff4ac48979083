//! NOTIFICATION error codes and subcodes (IANA "BGP Error (Notification) Codes"
//! and "BGP Error Subcodes": RFC 4271, 4486, 5492, 6608, 7313, 8203/9003,
//! 8538, 9234, 9384).

/// Subcode 0: no more specific subcode applies (RFC 4271 4.5).
pub const SUBCODE_UNSPECIFIC: u8 = 0;

/// Error code 1: Message Header Error (RFC 4271 6.1).
pub const MESSAGE_HEADER_ERROR: u8 = 1;
/// Header subcode 1: the marker is not all ones.
pub const HEADER_CONNECTION_NOT_SYNCHRONIZED: u8 = 1;
/// Header subcode 2: the length field is out of range for the message type.
pub const HEADER_BAD_MESSAGE_LENGTH: u8 = 2;
/// Header subcode 3: unknown message type.
pub const HEADER_BAD_MESSAGE_TYPE: u8 = 3;

/// Error code 2: OPEN Message Error (RFC 4271 6.2).
pub const OPEN_MESSAGE_ERROR: u8 = 2;
/// OPEN subcode 1: version other than 4.
pub const OPEN_UNSUPPORTED_VERSION_NUMBER: u8 = 1;
/// OPEN subcode 2: the peer's AS is not the expected one.
pub const OPEN_BAD_PEER_AS: u8 = 2;
/// OPEN subcode 3: the BGP Identifier is not acceptable.
pub const OPEN_BAD_BGP_IDENTIFIER: u8 = 3;
/// OPEN subcode 4: an optional parameter type is not recognised.
pub const OPEN_UNSUPPORTED_OPTIONAL_PARAMETER: u8 = 4;
/// OPEN subcode 6: hold time 1 or 2 seconds (or refused by policy).
pub const OPEN_UNACCEPTABLE_HOLD_TIME: u8 = 6;
/// OPEN subcode 7: a required capability is missing (RFC 5492).
pub const OPEN_UNSUPPORTED_CAPABILITY: u8 = 7;
/// OPEN subcode 11: BGP roles do not match (RFC 9234).
pub const OPEN_ROLE_MISMATCH: u8 = 11;

/// Error code 3: UPDATE Message Error (RFC 4271 6.3).
pub const UPDATE_MESSAGE_ERROR: u8 = 3;
/// UPDATE subcode 1: the attribute list cannot be parsed.
pub const UPDATE_MALFORMED_ATTRIBUTE_LIST: u8 = 1;
/// UPDATE subcode 2: a well-known attribute is not recognised.
pub const UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE: u8 = 2;
/// UPDATE subcode 3: a well-known mandatory attribute is missing.
pub const UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE: u8 = 3;
/// UPDATE subcode 4: attribute flags conflict with the attribute type.
pub const UPDATE_ATTRIBUTE_FLAGS_ERROR: u8 = 4;
/// UPDATE subcode 5: attribute length wrong for the attribute type.
pub const UPDATE_ATTRIBUTE_LENGTH_ERROR: u8 = 5;
/// UPDATE subcode 6: ORIGIN value undefined.
pub const UPDATE_INVALID_ORIGIN_ATTRIBUTE: u8 = 6;
/// UPDATE subcode 8: NEXT_HOP syntactically incorrect.
pub const UPDATE_INVALID_NEXT_HOP_ATTRIBUTE: u8 = 8;
/// UPDATE subcode 9: a recognised optional attribute is malformed.
pub const UPDATE_OPTIONAL_ATTRIBUTE_ERROR: u8 = 9;
/// UPDATE subcode 10: the NLRI or withdrawn routes are syntactically incorrect.
pub const UPDATE_INVALID_NETWORK_FIELD: u8 = 10;
/// UPDATE subcode 11: AS_PATH syntactically incorrect.
pub const UPDATE_MALFORMED_AS_PATH: u8 = 11;

/// Error code 4: Hold Timer Expired (RFC 4271 6.5).
pub const HOLD_TIMER_EXPIRED: u8 = 4;

/// Error code 5: Finite State Machine Error (RFC 4271 6.6, subcodes RFC 6608).
pub const FSM_ERROR: u8 = 5;
/// FSM subcode 1: unexpected message in OpenSent.
pub const FSM_UNEXPECTED_IN_OPEN_SENT: u8 = 1;
/// FSM subcode 2: unexpected message in OpenConfirm.
pub const FSM_UNEXPECTED_IN_OPEN_CONFIRM: u8 = 2;
/// FSM subcode 3: unexpected message in Established.
pub const FSM_UNEXPECTED_IN_ESTABLISHED: u8 = 3;

/// Error code 6: Cease (RFC 4271 6.7, subcodes RFC 4486).
pub const CEASE: u8 = 6;
/// Cease subcode 1: maximum number of prefixes reached.
pub const CEASE_MAX_PREFIXES_REACHED: u8 = 1;
/// Cease subcode 2: administrative shutdown (message per RFC 9003).
pub const CEASE_ADMINISTRATIVE_SHUTDOWN: u8 = 2;
/// Cease subcode 3: peer de-configured.
pub const CEASE_PEER_DECONFIGURED: u8 = 3;
/// Cease subcode 4: administrative reset (message per RFC 9003).
pub const CEASE_ADMINISTRATIVE_RESET: u8 = 4;
/// Cease subcode 5: connection rejected.
pub const CEASE_CONNECTION_REJECTED: u8 = 5;
/// Cease subcode 6: other configuration change.
pub const CEASE_OTHER_CONFIGURATION_CHANGE: u8 = 6;
/// Cease subcode 7: connection collision resolution.
pub const CEASE_CONNECTION_COLLISION_RESOLUTION: u8 = 7;
/// Cease subcode 8: out of resources.
pub const CEASE_OUT_OF_RESOURCES: u8 = 8;
/// Cease subcode 9: hard reset (RFC 8538).
pub const CEASE_HARD_RESET: u8 = 9;
/// Cease subcode 10: BFD down (RFC 9384).
pub const CEASE_BFD_DOWN: u8 = 10;

/// Error code 7: ROUTE-REFRESH Message Error (RFC 7313).
pub const ROUTE_REFRESH_MESSAGE_ERROR: u8 = 7;
/// ROUTE-REFRESH subcode 1: BoRR/EoRR with a length other than 23.
pub const ROUTE_REFRESH_INVALID_MESSAGE_LENGTH: u8 = 1;

/// Longest RFC 9003 shutdown communication, in octets.
pub const SHUTDOWN_MESSAGE_MAX: usize = 255;

/// Human name of an error code.
pub fn code_name(code: u8) -> Option<&'static str> {
    Some(match code {
        MESSAGE_HEADER_ERROR => "Message Header Error",
        OPEN_MESSAGE_ERROR => "OPEN Message Error",
        UPDATE_MESSAGE_ERROR => "UPDATE Message Error",
        HOLD_TIMER_EXPIRED => "Hold Timer Expired",
        FSM_ERROR => "Finite State Machine Error",
        CEASE => "Cease",
        ROUTE_REFRESH_MESSAGE_ERROR => "ROUTE-REFRESH Message Error",
        _ => return None,
    })
}

/// Human name of a subcode of `code`.
pub fn subcode_name(code: u8, subcode: u8) -> Option<&'static str> {
    Some(match (code, subcode) {
        (MESSAGE_HEADER_ERROR, HEADER_CONNECTION_NOT_SYNCHRONIZED) => "Connection Not Synchronized",
        (MESSAGE_HEADER_ERROR, HEADER_BAD_MESSAGE_LENGTH) => "Bad Message Length",
        (MESSAGE_HEADER_ERROR, HEADER_BAD_MESSAGE_TYPE) => "Bad Message Type",
        (OPEN_MESSAGE_ERROR, OPEN_UNSUPPORTED_VERSION_NUMBER) => "Unsupported Version Number",
        (OPEN_MESSAGE_ERROR, OPEN_BAD_PEER_AS) => "Bad Peer AS",
        (OPEN_MESSAGE_ERROR, OPEN_BAD_BGP_IDENTIFIER) => "Bad BGP Identifier",
        (OPEN_MESSAGE_ERROR, OPEN_UNSUPPORTED_OPTIONAL_PARAMETER) => {
            "Unsupported Optional Parameter"
        }
        (OPEN_MESSAGE_ERROR, OPEN_UNACCEPTABLE_HOLD_TIME) => "Unacceptable Hold Time",
        (OPEN_MESSAGE_ERROR, OPEN_UNSUPPORTED_CAPABILITY) => "Unsupported Capability",
        (OPEN_MESSAGE_ERROR, OPEN_ROLE_MISMATCH) => "Role Mismatch",
        (UPDATE_MESSAGE_ERROR, UPDATE_MALFORMED_ATTRIBUTE_LIST) => "Malformed Attribute List",
        (UPDATE_MESSAGE_ERROR, UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE) => {
            "Unrecognized Well-known Attribute"
        }
        (UPDATE_MESSAGE_ERROR, UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE) => {
            "Missing Well-known Attribute"
        }
        (UPDATE_MESSAGE_ERROR, UPDATE_ATTRIBUTE_FLAGS_ERROR) => "Attribute Flags Error",
        (UPDATE_MESSAGE_ERROR, UPDATE_ATTRIBUTE_LENGTH_ERROR) => "Attribute Length Error",
        (UPDATE_MESSAGE_ERROR, UPDATE_INVALID_ORIGIN_ATTRIBUTE) => "Invalid ORIGIN Attribute",
        (UPDATE_MESSAGE_ERROR, UPDATE_INVALID_NEXT_HOP_ATTRIBUTE) => "Invalid NEXT_HOP Attribute",
        (UPDATE_MESSAGE_ERROR, UPDATE_OPTIONAL_ATTRIBUTE_ERROR) => "Optional Attribute Error",
        (UPDATE_MESSAGE_ERROR, UPDATE_INVALID_NETWORK_FIELD) => "Invalid Network Field",
        (UPDATE_MESSAGE_ERROR, UPDATE_MALFORMED_AS_PATH) => "Malformed AS_PATH",
        (FSM_ERROR, FSM_UNEXPECTED_IN_OPEN_SENT) => "Receive Unexpected Message in OpenSent State",
        (FSM_ERROR, FSM_UNEXPECTED_IN_OPEN_CONFIRM) => {
            "Receive Unexpected Message in OpenConfirm State"
        }
        (FSM_ERROR, FSM_UNEXPECTED_IN_ESTABLISHED) => {
            "Receive Unexpected Message in Established State"
        }
        (CEASE, CEASE_MAX_PREFIXES_REACHED) => "Maximum Number of Prefixes Reached",
        (CEASE, CEASE_ADMINISTRATIVE_SHUTDOWN) => "Administrative Shutdown",
        (CEASE, CEASE_PEER_DECONFIGURED) => "Peer De-configured",
        (CEASE, CEASE_ADMINISTRATIVE_RESET) => "Administrative Reset",
        (CEASE, CEASE_CONNECTION_REJECTED) => "Connection Rejected",
        (CEASE, CEASE_OTHER_CONFIGURATION_CHANGE) => "Other Configuration Change",
        (CEASE, CEASE_CONNECTION_COLLISION_RESOLUTION) => "Connection Collision Resolution",
        (CEASE, CEASE_OUT_OF_RESOURCES) => "Out of Resources",
        (CEASE, CEASE_HARD_RESET) => "Hard Reset",
        (CEASE, CEASE_BFD_DOWN) => "BFD Down",
        (ROUTE_REFRESH_MESSAGE_ERROR, ROUTE_REFRESH_INVALID_MESSAGE_LENGTH) => {
            "Invalid Message Length"
        }
        _ => return None,
    })
}
