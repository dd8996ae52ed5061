//! SyncML response status codes (OMA SyncML RepPro 1.2 §10; DM 1.2.1 RepPro) and alert codes (DM 1.2.1
//! RepPro §4.2, Protocol §2.3).
//!
//! Both are `u16` newtypes with named constants for every code the specs define, so unknown values from a
//! peer are kept as they are and printed with their number.
//!
//! Codes the research digest marks as from memory (201, 203–211, 411, 417, 503, 517) follow RepPro 1.2 §10 as
//! we read it: they are used only for naming, and no behaviour depends on a name.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A SyncML `Status/Data` code (RepPro 1.2 §10).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusCode(pub u16);

macro_rules! codes {
    ($ty:ident { $($name:ident = $v:literal, $text:literal;)* }) => {
        impl $ty {
            $(
                #[doc = concat!("`", stringify!($v), "` ", $text)]
                pub const $name: Self = Self($v);
            )*

            /// The spec's name for this code, if it has one.
            #[must_use]
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $($v => Some($text),)*
                    _ => None,
                }
            }
        }
    };
}

codes!(StatusCode {
    IN_PROGRESS = 101, "In progress";
    OK = 200, "OK";
    ITEM_ADDED = 201, "Item added";
    ACCEPTED = 202, "Accepted for processing";
    NON_AUTHORITATIVE = 203, "Non-authoritative response";
    NO_CONTENT = 204, "No content";
    RESET_CONTENT = 205, "Reset content";
    PARTIAL_CONTENT = 206, "Partial content";
    CONFLICT_MERGED = 207, "Conflict resolved with merge";
    CONFLICT_CLIENT_WON = 208, "Conflict resolved with client's command winning";
    CONFLICT_DUPLICATE = 209, "Conflict resolved with duplicate";
    DELETE_WITHOUT_ARCHIVE = 210, "Delete without archive";
    ITEM_NOT_DELETED = 211, "Item not deleted";
    AUTHENTICATION_ACCEPTED = 212, "Authentication accepted";
    CHUNK_ACCEPTED = 213, "Chunked item accepted and buffered";
    OPERATION_CANCELLED = 214, "Operation cancelled";
    NOT_EXECUTED = 215, "Not executed";
    ATOMIC_ROLLBACK_OK = 216, "Atomic roll back OK";
    MULTIPLE_CHOICES = 300, "Multiple choices";
    MOVED_PERMANENTLY = 301, "Moved permanently";
    FOUND = 302, "Found";
    SEE_OTHER = 303, "See other URI";
    NOT_MODIFIED = 304, "Not modified";
    USE_PROXY = 305, "Use proxy";
    BAD_REQUEST = 400, "Bad request";
    INVALID_CREDENTIALS = 401, "Invalid credentials";
    PAYMENT_REQUIRED = 402, "Payment required";
    FORBIDDEN = 403, "Forbidden";
    NOT_FOUND = 404, "Not found";
    COMMAND_NOT_ALLOWED = 405, "Command not allowed";
    OPTIONAL_FEATURE_NOT_SUPPORTED = 406, "Optional feature not supported";
    MISSING_CREDENTIALS = 407, "Missing credentials";
    REQUEST_TIMEOUT = 408, "Request timeout";
    CONFLICT = 409, "Conflict";
    GONE = 410, "Gone";
    SIZE_REQUIRED = 411, "Size required";
    INCOMPLETE_COMMAND = 412, "Incomplete command";
    REQUEST_ENTITY_TOO_LARGE = 413, "Request entity too large";
    URI_TOO_LONG = 414, "URI too long";
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported media type or format";
    REQUESTED_SIZE_TOO_BIG = 416, "Requested size too big";
    RETRY_LATER = 417, "Retry later";
    ALREADY_EXISTS = 418, "Already exists";
    CONFLICT_SERVER_DATA = 419, "Conflict resolved with server data";
    DEVICE_FULL = 420, "Device full";
    UNKNOWN_SEARCH_GRAMMAR = 421, "Unknown search grammar";
    BAD_CGI_SCRIPT = 422, "Bad CGI script";
    SOFT_DELETE_CONFLICT = 423, "Soft-delete conflict";
    SIZE_MISMATCH = 424, "Size mismatch";
    PERMISSION_DENIED = 425, "Permission denied";
    COMMAND_FAILED = 500, "Command failed";
    NOT_IMPLEMENTED = 501, "Command not implemented";
    BAD_GATEWAY = 502, "Bad gateway";
    SERVICE_UNAVAILABLE = 503, "Service unavailable";
    GATEWAY_TIMEOUT = 504, "Gateway timeout";
    DTD_VERSION_NOT_SUPPORTED = 505, "DTD version not supported";
    PROCESSING_ERROR = 506, "Processing error";
    ATOMIC_FAILED = 507, "Atomic failed";
    REFRESH_REQUIRED = 508, "Refresh required";
    RECIPIENT_EXCEPTION_RESERVED = 509, "Reserved";
    DATASTORE_FAILURE = 510, "Data store failure";
    SERVER_FAILURE = 511, "Server failure";
    SYNCHRONIZATION_FAILED = 512, "Synchronization failed";
    PROTOCOL_VERSION_NOT_SUPPORTED = 513, "Protocol version not supported";
    OPERATION_CANCELLED_SERVER = 514, "Operation cancelled";
    ATOMIC_ROLLBACK_FAILED = 516, "Atomic roll back failed";
    ATOMIC_RESPONSE_TOO_LARGE = 517, "Atomic response too large to fit";
});

impl StatusCode {
    /// 1xx: informational.
    #[must_use]
    pub const fn is_informational(self) -> bool {
        self.0 >= 100 && self.0 < 200
    }
    /// 2xx: the command succeeded (212 and 213 included).
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 >= 200 && self.0 < 300
    }
    /// 4xx: originator error.
    #[must_use]
    pub const fn is_client_error(self) -> bool {
        self.0 >= 400 && self.0 < 500
    }
    /// 5xx: recipient error.
    #[must_use]
    pub const fn is_server_error(self) -> bool {
        self.0 >= 500 && self.0 < 600
    }
}

impl fmt::Debug for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} {n}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A SyncML `Alert/Data` code (DM 1.2.1 RepPro §4.2; the DS sync codes 200–210 are not used by DM).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlertCode(pub u16);

codes!(AlertCode {
    DISPLAY = 1100, "Display";
    CONFIRM_OR_REJECT = 1101, "Confirm or reject";
    TEXT_INPUT = 1102, "Text input";
    SINGLE_CHOICE = 1103, "Single choice";
    MULTIPLE_CHOICE = 1104, "Multiple choice";
    SERVER_INITIATED_MGMT = 1200, "Server-initiated management";
    CLIENT_INITIATED_MGMT = 1201, "Client-initiated management";
    NEXT_MESSAGE = 1222, "Next message";
    SESSION_ABORT = 1223, "Session abort";
    CLIENT_EVENT = 1224, "Client event";
    NO_END_OF_DATA = 1225, "No end of data";
    GENERIC_ALERT = 1226, "Generic alert";
});

impl AlertCode {
    /// 1100–1104: user-interaction alerts.
    #[must_use]
    pub const fn is_ui(self) -> bool {
        self.0 >= 1100 && self.0 <= 1104
    }
}

impl fmt::Debug for AlertCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{} {n}", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl fmt::Display for AlertCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_classes() {
        assert_eq!(StatusCode(212).name(), Some("Authentication accepted"));
        assert_eq!(StatusCode::ATOMIC_FAILED.to_string(), "507 Atomic failed");
        assert_eq!(StatusCode(299).to_string(), "299");
        assert!(StatusCode::CHUNK_ACCEPTED.is_success());
        assert!(StatusCode::PERMISSION_DENIED.is_client_error());
        assert!(!StatusCode::NOT_FOUND.is_success());
        assert_eq!(AlertCode(1226), AlertCode::GENERIC_ALERT);
        assert!(AlertCode::MULTIPLE_CHOICE.is_ui() && !AlertCode::NEXT_MESSAGE.is_ui());
        assert_eq!(serde_json::to_string(&StatusCode::OK).unwrap(), "200");
        assert_eq!(serde_json::from_str::<AlertCode>("1201").unwrap(), AlertCode::CLIENT_INITIATED_MGMT);
    }
}
