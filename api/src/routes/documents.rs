//! Documents of a patient's record: multipart upload, list, metadata and content.

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use concerto_domain::ErrorCode;
use concerto_domain::document::{DocumentType, MAX_DOCUMENT_BYTES};
use concerto_persistence::documents::{self, Document, NewDocument};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::common::{List, Paging, created};
use crate::caller::Caller;
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// The largest `metadata` part: a few short fields.
const MAX_METADATA_BYTES: usize = 16 * 1024;
/// The largest multipart body read: a document, its metadata and the multipart framing.
const MAX_UPLOAD_BYTES: usize = MAX_DOCUMENT_BYTES + MAX_METADATA_BYTES + 64 * 1024;

/// A document's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    /// Opaque id.
    pub id: String,
    /// Whose record it belongs to.
    pub patient_id: String,
    /// Title.
    pub title: String,
    /// Kind (report, imaging, pathology, letter, …).
    pub kind: String,
    /// When the document was written.
    pub document_date: NaiveDate,
    /// `application/pdf`, `image/png`, `image/jpeg` or `text/plain`.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// SHA-256 of the content, lowercase hex (the content's `ETag`).
    pub sha256: String,
    /// Who added it.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

impl From<Document> for DocumentView {
    fn from(d: Document) -> Self {
        Self {
            id: d.id,
            patient_id: d.patient_id,
            title: d.title,
            kind: d.kind,
            document_date: d.document_date,
            content_type: d.content_type.as_str().to_owned(),
            size_bytes: d.size_bytes,
            sha256: d.sha256,
            uploaded_by: d.uploaded_by,
            uploaded_at: d.uploaded_at.and_utc(),
        }
    }
}

/// The `metadata` part of an upload (JSON).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DocumentMetadata {
    /// Title (1–200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub title: String,
    /// Kind (1–100 characters): report, imaging, pathology, letter, …
    #[schema(min_length = 1, max_length = 100)]
    pub kind: String,
    /// When the document was written (`YYYY-MM-DD`).
    pub document_date: NaiveDate,
}

/// The multipart body of `POST /patients/{id}/documents`: these two parts and no other (an
/// unexpected part is 422).
// `Deserialize` and `deny_unknown_fields` only make the schema say `additionalProperties:
// false`: the form itself is read part by part, never deserialized.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentUpload {
    /// JSON `{title, kind, document_date}`.
    pub metadata: DocumentMetadata,
    /// The file, with its own `Content-Type`: `application/pdf`, `image/png`, `image/jpeg` or
    /// `text/plain` (UTF-8); at most 10 MiB. Its content must match the declared type.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// The bytes of a document, as `GET /documents/{id}/content` answers them.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct DocumentBytes(pub Vec<u8>);

fn unsupported(detail: impl Into<String>) -> ApiError {
    ApiError::UnsupportedMediaType { code: ErrorCode::UnsupportedDocumentType, detail: detail.into() }
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => ApiError::UnsupportedMediaType {
            code: ErrorCode::UnsupportedMediaType,
            detail: "the body must be multipart/form-data with the parts `metadata` and `file`".to_owned(),
        },
        other => {
            ApiError::BadRequest { code: ErrorCode::MalformedMultipart, detail: format!("the multipart body cannot be read: {other}") }
        }
    }
}

/// Reads a part, giving up as soon as it holds more than `limit` bytes (`None`): the rest of an
/// oversized upload is never buffered.
async fn read_part(field: &mut Field, limit: usize) -> Result<Option<Vec<u8>>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if bytes.len() + chunk.len() > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::invalid_field(ErrorCode::ValidationFailed, field, message)
}

async fn read_metadata(field: &mut Field) -> Result<DocumentMetadata, ApiError> {
    let bytes = read_part(field, MAX_METADATA_BYTES).await?.ok_or_else(|| invalid("metadata", "the metadata part is too large"))?;
    let meta: DocumentMetadata =
        serde_json::from_slice(&bytes).map_err(|e| invalid("metadata", &format!("expected JSON {{title, kind, document_date}}: {e}")))?;
    let mut errors = Vec::new();
    for (name, value, max) in [("metadata.title", &meta.title, 200), ("metadata.kind", &meta.kind, 100)] {
        let n = value.trim().chars().count();
        if n == 0 || n > max {
            errors.push(FieldError { field: name.to_owned(), message: format!("must hold 1 to {max} characters") });
        }
    }
    if errors.is_empty() {
        Ok(meta)
    } else {
        Err(ApiError::Unprocessable { code: ErrorCode::ValidationFailed, detail: "the metadata has invalid fields".to_owned(), errors })
    }
}

/// Reads the file part: its declared type must be accepted (checked before reading), its size
/// within the limit, and its content of the declared type.
async fn read_file(field: &mut Field) -> Result<(DocumentType, Vec<u8>), ApiError> {
    // RFC 7578: a part without a Content-Type is text/plain (and must then be UTF-8 text).
    let declared = field.content_type().map_or_else(|| DocumentType::Text.as_str().to_owned(), |m| m.essence_str().to_owned());
    let kind = DocumentType::from_media_type(&declared)
        .ok_or_else(|| unsupported(format!("`{declared}` is not accepted: send application/pdf, image/png, image/jpeg or text/plain")))?;
    let bytes = read_part(field, MAX_DOCUMENT_BYTES).await?.ok_or_else(too_large)?;
    if !kind.matches(&bytes) {
        return Err(unsupported(format!("the file's content is not {}", kind.as_str())));
    }
    Ok((kind, bytes))
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge { code: ErrorCode::DocumentTooLarge, detail: format!("a document holds at most {MAX_DOCUMENT_BYTES} bytes") }
}

/// Reads the two parts of an upload, in any order.
async fn read_upload(mut payload: Multipart) -> Result<NewDocument, ApiError> {
    let (mut metadata, mut file) = (None, None);
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "metadata" if metadata.is_none() => metadata = Some(read_metadata(&mut field).await?),
            "file" if file.is_none() => file = Some(read_file(&mut field).await?),
            "metadata" | "file" => return Err(invalid(&name, "this part is sent twice")),
            _ => return Err(invalid(&name, "unexpected part: send `metadata` and `file` only")),
        }
    }
    let missing = |part: &str| invalid(part, "this part is missing");
    let meta = metadata.ok_or_else(|| missing("metadata"))?;
    let (content_type, content) = file.ok_or_else(|| missing("file"))?;
    Ok(NewDocument { title: meta.title, kind: meta.kind, document_date: meta.document_date, content_type, content })
}

/// Adds a document to a patient's record: the physicians and secretaries who see one of the
/// patient's dossiers, and whoever added the patient.
#[utoipa::path(
    tag = "patients",
    operation_id = "uploadDocument",
    params(("id" = String, Path, description = "Patient id")),
    request_body(content = DocumentUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Added", body = DocumentView),
        (status = 400, description = "`malformed_multipart`"),
        (status = 403, description = "`forbidden`: the caller reads the record but may not add to it"),
        (status = 404, description = "No such patient, or one the caller may not read"),
        (status = 413, description = "`document_too_large`: more than 10 MiB"),
        (status = 415, description = "`unsupported_document_type`: not PDF, PNG, JPEG or plain text, or the content does not match the declared type; `unsupported_media_type`: the body is not multipart/form-data"),
        (status = 422, description = "`validation_failed`: a part is missing, repeated or unknown, or the metadata is invalid"),
    )
)]
#[post("/patients/{id}/documents")]
pub async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: Caller,
    id: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    // A body announced larger than any valid upload is refused before a byte of it is read.
    let announced = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_UPLOAD_BYTES) {
        return Err(too_large());
    }
    // The `Caller` extractor read the rights of this request with a body and gave the connection
    // back: up to 10 MiB stream in at the client's pace, and the insert checks out another (an
    // upload costs two checkouts, not a stalled pool).
    let new = read_upload(payload).await?;
    let patient_id = id.into_inner();
    let document = state.db_as(&caller, move |c, p| documents::add(c, p, &patient_id, &new)).await?;
    Ok(created(&format!("/documents/{}", document.id)).json(DocumentView::from(document)))
}

/// The documents of a patient's record (metadata only), oldest first: whoever may read the record.
#[utoipa::path(
    tag = "patients",
    operation_id = "listPatientDocuments",
    params(("id" = String, Path, description = "Patient id"), Paging),
    responses(
        (status = 200, description = "A page of documents", body = List<DocumentView>),
        (status = 404, description = "No such patient, or one the caller may not read"),
    )
)]
#[get("/patients/{id}/documents")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    paging: web::Query<Paging>,
) -> Result<HttpResponse, ApiError> {
    let (patient_id, page) = (id.into_inner(), paging.request()?);
    let found = state.db_as(&caller, move |c, p| documents::list(c, p, &patient_id, &page)).await?;
    Ok(HttpResponse::Ok().json(List::from_page(found, DocumentView::from)))
}

/// A document's metadata: whoever may read the patient's record.
#[utoipa::path(
    tag = "patients",
    operation_id = "getDocument",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "The metadata", body = DocumentView),
        (status = 404, description = "No such document, or one the caller may not read"),
    )
)]
#[get("/documents/{id}")]
pub async fn describe(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let document = state.db_as(&caller, move |c, p| documents::metadata(c, p, &id)).await?;
    Ok(HttpResponse::Ok().json(DocumentView::from(document)))
}

/// A document's bytes with their content type and their SHA-256 as `ETag`: whoever may read
/// the patient's record.
#[utoipa::path(
    tag = "patients",
    operation_id = "getDocumentContent",
    params(("id" = String, Path, description = "Document id")),
    responses(
        (status = 200, description = "The bytes", headers(("ETag" = String, description = "SHA-256 of the bytes, lowercase hex, quoted")),
            content((DocumentBytes = "application/pdf"), (DocumentBytes = "image/png"), (DocumentBytes = "image/jpeg"), (DocumentBytes = "text/plain"))),
        (status = 404, description = "No such document, or one the caller may not read"),
    )
)]
#[get("/documents/{id}/content")]
pub async fn download(state: web::Data<AppState>, caller: Caller, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (document, bytes) = state.db_as(&caller, move |c, p| documents::content(c, p, &id)).await?;
    // Text was checked to be UTF-8 on the way in: say so, so accents show right.
    let extension = match document.content_type {
        DocumentType::Pdf => "pdf",
        DocumentType::Png => "png",
        DocumentType::Jpeg => "jpg",
        DocumentType::Text => "txt",
    };
    // Saved, never shown inline: a browser does not render user bytes in the API's origin.
    // Named after the document id, never its title, which may name the patient.
    let disposition = format!("attachment; filename=\"{}.{extension}\"", document.id);
    let content_type =
        if document.content_type == DocumentType::Text { "text/plain; charset=utf-8" } else { document.content_type.as_str() };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition))
        .insert_header((header::ETAG, format!("\"{}\"", document.sha256)))
        // The bytes come from users: the browser must not guess another type from them.
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}
