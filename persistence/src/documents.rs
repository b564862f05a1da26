//! Documents of a patient's record: stored with their SHA-256, readable by whoever may read the
//! patient's record (`delegation::may_read_patient`), added under `delegation::may_add_document`.

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::delegation;
use concerto_domain::document::DocumentType;
use concerto_domain::principal::Principal;
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::audit::Trail;
use crate::page::cursor_time;
use crate::schema::documents;
use crate::{DbConnection, Error, Page, PageRequest, audit, new_id, now, patients};

/// A document's metadata (everything but the bytes).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Document {
    /// Opaque id.
    pub id: String,
    /// Whose record it belongs to.
    pub patient_id: String,
    /// Title.
    pub title: String,
    /// Kind (report, imaging, pathology, letter, …), free text.
    pub kind: String,
    /// When the document was written.
    pub document_date: NaiveDate,
    /// Media type.
    #[diesel(deserialize_as = String)]
    pub content_type: DocumentType,
    /// Size of the bytes.
    pub size_bytes: i64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Who added it.
    pub uploaded_by: String,
    /// When.
    pub uploaded_at: NaiveDateTime,
}

const COLUMNS: (
    documents::id,
    documents::patient_id,
    documents::title,
    documents::kind,
    documents::document_date,
    documents::content_type,
    documents::size_bytes,
    documents::sha256,
    documents::uploaded_by,
    documents::uploaded_at,
) = (
    documents::id,
    documents::patient_id,
    documents::title,
    documents::kind,
    documents::document_date,
    documents::content_type,
    documents::size_bytes,
    documents::sha256,
    documents::uploaded_by,
    documents::uploaded_at,
);

/// A document to add; its type was checked against its content by the caller.
#[derive(Debug, Clone)]
pub struct NewDocument {
    /// Title.
    pub title: String,
    /// Kind.
    pub kind: String,
    /// When the document was written.
    pub document_date: NaiveDate,
    /// Checked format.
    pub content_type: DocumentType,
    /// The bytes.
    pub content: Vec<u8>,
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `POST /patients/{id}/documents`: a patient the caller may not read is missing (404); one it
/// reads but may not complete is `forbidden`.
pub fn add(conn: &mut DbConnection, p: &Principal, patient_id: &str, new: &NewDocument) -> Result<Document, Error> {
    audit::audited(conn, p, "document.create", "document", |c, trail| {
        trail.patient_id = Some(patient_id.to_owned());
        let (_, relations, _) = patients::readable(c, p, patient_id)?;
        trail.grant = delegation::may_add_document(p, &relations)?;
        // A length beyond i64 cannot be held in memory: the fallback is never taken.
        let size_bytes = i64::try_from(new.content.len()).unwrap_or(i64::MAX);
        let document = Document {
            id: new_id(),
            patient_id: patient_id.to_owned(),
            title: new.title.trim().to_owned(),
            kind: new.kind.trim().to_owned(),
            document_date: new.document_date,
            content_type: new.content_type,
            size_bytes,
            sha256: sha256_hex(&new.content),
            uploaded_by: p.professional_id.clone(),
            uploaded_at: now(),
        };
        trail.resource_id = Some(document.id.clone());
        diesel::insert_into(documents::table)
            .values((
                documents::id.eq(&document.id),
                documents::patient_id.eq(&document.patient_id),
                documents::title.eq(&document.title),
                documents::kind.eq(&document.kind),
                documents::document_date.eq(document.document_date),
                documents::content_type.eq(document.content_type.as_str()),
                documents::size_bytes.eq(document.size_bytes),
                documents::sha256.eq(&document.sha256),
                documents::content.eq(&new.content),
                documents::uploaded_by.eq(&document.uploaded_by),
                documents::uploaded_at.eq(document.uploaded_at),
            ))
            .execute(c)?;
        Ok(document)
    })
}

/// `GET /patients/{id}/documents`: the metadata of a record's documents, oldest first, for
/// whoever may read the record.
pub fn list(conn: &mut DbConnection, p: &Principal, patient_id: &str, page: &PageRequest) -> Result<Page<Document>, Error> {
    audit::audited_read(conn, p, "document.list", "document", |c, trail| {
        trail.patient_id = Some(patient_id.to_owned());
        let (_, _, grant) = patients::readable(c, p, patient_id)?;
        trail.grant = grant;
        let mut query = documents::table.filter(documents::patient_id.eq(patient_id.to_owned())).select(COLUMNS).into_boxed();
        if let Some((at, id)) = &page.after {
            let at = NaiveDateTime::parse_from_str(at, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| Error::NotFound("cursor"))?;
            query = query.filter(documents::uploaded_at.gt(at).or(documents::uploaded_at.eq(at).and(documents::id.gt(id.clone()))));
        }
        let rows = query.order((documents::uploaded_at, documents::id)).limit(page.fetch()).load::<Document>(c)?;
        Ok(Page::from_rows(rows, page, |d| (cursor_time(d.uploaded_at), d.id.clone())))
    })
}

/// The document if the caller may read its patient's record; missing otherwise.
fn visible(conn: &mut DbConnection, p: &Principal, id: &str, trail: &mut Trail) -> Result<Document, Error> {
    trail.resource_id = Some(id.to_owned());
    let document = documents::table.find(id).select(COLUMNS).first::<Document>(conn).optional()?.ok_or(Error::NotFound("document"))?;
    trail.patient_id = Some(document.patient_id.clone());
    let (_, _, grant) = patients::readable(conn, p, &document.patient_id).map_err(|e| match e {
        Error::NotFound(_) => Error::NotFound("document"),
        other => other,
    })?;
    trail.grant = grant;
    Ok(document)
}

/// `GET /documents/{id}`: the metadata, for whoever may read the patient's record.
pub fn metadata(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<Document, Error> {
    audit::audited_read(conn, p, "document.read", "document", |c, trail| visible(c, p, id, trail))
}

/// `GET /documents/{id}/content`: the metadata and the bytes, for whoever may read the
/// patient's record.
pub fn content(conn: &mut DbConnection, p: &Principal, id: &str) -> Result<(Document, Vec<u8>), Error> {
    audit::audited_read(conn, p, "document.download", "document", |c, trail| {
        let document = visible(c, p, id, trail)?;
        let bytes = documents::table.find(id).select(documents::content).first::<Vec<u8>>(c)?;
        Ok((document, bytes))
    })
}
