//! Documents of a patient's record: the formats accepted and how their content is recognised.

use crate::DomainError;
use crate::ErrorCode;

/// The largest document accepted, in bytes (10 MiB).
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// A format the record accepts: what clinicians exchange and any browser shows as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentType {
    /// `application/pdf`.
    Pdf,
    /// `image/png`.
    Png,
    /// `image/jpeg`.
    Jpeg,
    /// `text/plain`, UTF-8.
    Text,
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

impl DocumentType {
    /// Every accepted format.
    pub const ALL: [DocumentType; 4] = [Self::Pdf, Self::Png, Self::Jpeg, Self::Text];

    /// The media type, as stored and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Text => "text/plain",
        }
    }

    /// The format a declared media type names (parameters such as `charset` aside, any case);
    /// `None` when it is not accepted.
    pub fn from_media_type(media_type: &str) -> Option<Self> {
        let essence = media_type.split(';').next().unwrap_or_default().trim();
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(essence))
    }

    /// Whether the bytes really are of this format: the declared type is the sender's word, and
    /// a mislabelled file (an executable called a PDF) must not enter the record.
    pub fn matches(self, content: &[u8]) -> bool {
        match self {
            Self::Pdf => content.starts_with(b"%PDF-"),
            Self::Png => content.starts_with(&PNG_SIGNATURE),
            Self::Jpeg => content.starts_with(&[0xFF, 0xD8, 0xFF]),
            // NUL never occurs in text; it is how binary files betray themselves. A PDF may be
            // all ASCII: its signature still says what it is.
            Self::Text => !Self::Pdf.matches(content) && std::str::from_utf8(content).is_ok_and(|t| !t.contains('\0')),
        }
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for DocumentType {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            DomainError::invalid("content_type", ErrorCode::UnsupportedDocumentType, format!("`{s}` is not an accepted document type"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_types() {
        assert_eq!(DocumentType::from_media_type("application/pdf"), Some(DocumentType::Pdf));
        assert_eq!(DocumentType::from_media_type("Text/Plain; charset=utf-8"), Some(DocumentType::Text));
        assert_eq!(DocumentType::from_media_type("application/zip"), None);
        assert_eq!(DocumentType::from_media_type("application/x-msdownload"), None);
        assert_eq!(DocumentType::from_media_type(""), None);
    }

    #[test]
    fn content_must_match_the_declared_type() {
        assert!(DocumentType::Pdf.matches(b"%PDF-1.7\n..."));
        assert!(!DocumentType::Pdf.matches(b"MZ\x90\x00"));
        assert!(DocumentType::Png.matches(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0]));
        assert!(!DocumentType::Png.matches(b"\x89PNG"));
        assert!(DocumentType::Jpeg.matches(&[0xFF, 0xD8, 0xFF, 0xE0]));
        assert!(!DocumentType::Jpeg.matches(b"%PDF-"));
        assert!(DocumentType::Text.matches("Compte rendu opératoire\n".as_bytes()));
        assert!(!DocumentType::Text.matches(&[0xFF, 0xFE, 0x00]));
        assert!(!DocumentType::Text.matches(b"PK\x03\x04\x00\x00"));
        assert!(!DocumentType::Text.matches(b"%PDF-1.4 all ascii"));
    }
}
