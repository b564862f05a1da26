//! The secretary's worklist: the validated reports still to send ("Envoi des CR validés"),
//! kept in a table of their own by the writes that move them and read filtered in SQL by the
//! rules of `concerto_domain::delegation`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{NaiveDate, NaiveDateTime};
use concerto_domain::delegation::Grant;
use concerto_domain::dossier::DossierStatus;
use concerto_domain::principal::Principal;
use concerto_domain::professional::display_name;
use diesel::prelude::*;

use crate::audit;
use crate::page::{cursor_time, parse_cursor_time};
use crate::schema::{
    dossiers, patient_correspondents, patients, professionals, rcps, report_transmission_recipients, report_transmissions, reports_to_send,
};
use crate::{DbConnection, Error, Page, PageRequest};

// The requester and the treating physician of a report to send, named with the page.
diesel::alias!(professionals as requester_names: RequesterNames, professionals as treating_names: TreatingNames);

/// Keeps the worklist row of one dossier in step: present while it is validated and some
/// default recipient has not received its report. Called in the transaction of every change
/// that can move it (validation, sending, a change of the patient's physicians).
pub(crate) fn refresh(conn: &mut DbConnection, dossier_id: &str) -> Result<(), Error> {
    let row = dossiers::table
        .inner_join(patients::table)
        .filter(dossiers::id.eq(dossier_id))
        .select((dossiers::status, dossiers::requester_id, dossiers::validated_at, patients::id, patients::treating_physician_id))
        .first::<(String, String, Option<NaiveDateTime>, String, Option<String>)>(conn)
        .optional()?;
    let pending = match &row {
        Some((status, requester, Some(_), patient, treating)) if status == DossierStatus::Validated.as_str() => {
            let of = [(dossier_id.to_owned(), patient.clone(), requester.clone(), treating.clone())];
            !waiting(conn, &of)?.is_empty()
        }
        _ => false,
    };
    let listed = reports_to_send::table.find(dossier_id).select(reports_to_send::dossier_id).first::<String>(conn).optional()?.is_some();
    match (pending, listed, row) {
        (true, false, Some((_, requester, Some(validated_at), _, _))) => {
            diesel::insert_into(reports_to_send::table)
                .values((
                    reports_to_send::dossier_id.eq(dossier_id),
                    reports_to_send::requester_id.eq(requester),
                    reports_to_send::validated_at.eq(validated_at),
                ))
                .execute(conn)?;
        }
        (false, true, _) => {
            diesel::delete(reports_to_send::table.find(dossier_id)).execute(conn)?;
        }
        _ => {}
    }
    Ok(())
}

/// Of these validated dossiers (`(dossier, patient, requester, treating physician)`), those
/// whose report has not reached some default recipient yet: the rule of the worklist, shared by
/// [`refresh`] and `concerto check`.
pub(crate) fn waiting(conn: &mut DbConnection, of: &[(String, String, String, Option<String>)]) -> Result<BTreeSet<String>, Error> {
    let keys: Vec<(String, String, Option<String>)> = of.iter().map(|(_, p, r, t)| (p.clone(), r.clone(), t.clone())).collect();
    let (defaults, _) = default_recipients(conn, &keys)?;
    let ids: Vec<String> = of.iter().map(|(d, _, _, _)| d.clone()).collect();
    let reached = reached(conn, &ids)?;
    Ok(of
        .iter()
        .filter(|(dossier, patient, requester, _)| {
            defaults
                .get(&(patient.clone(), requester.clone()))
                .into_iter()
                .flatten()
                .any(|(who, _)| !reached.contains(&(dossier.clone(), who.clone())))
        })
        .map(|(dossier, _, _, _)| dossier.clone())
        .collect())
}

/// [`refresh`] for every validated dossier of a patient whose physicians changed.
pub(crate) fn refresh_patient(conn: &mut DbConnection, patient_id: &str) -> Result<(), Error> {
    let validated: Vec<String> = dossiers::table
        .filter(dossiers::patient_id.eq(patient_id))
        .filter(dossiers::status.eq(DossierStatus::Validated.as_str()))
        .select(dossiers::id)
        .load(conn)?;
    for id in validated {
        refresh(conn, &id)?;
    }
    Ok(())
}

/// Why a professional is a default recipient of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecipientRole {
    /// The requesting physician.
    Requester,
    /// The patient's treating physician.
    Treating,
    /// One of the patient's correspondents.
    Correspondent,
}

impl RecipientRole {
    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requester => "requester",
            Self::Treating => "treating",
            Self::Correspondent => "correspondent",
        }
    }
}

/// `(patient, requester)` → the default recipients of the reports and why.
type Recipients = BTreeMap<(String, String), Vec<(String, RecipientRole)>>;

/// The default recipients of each patient's reports for a requester: `(patient, requester,
/// treating)` → the professionals and why, without duplicates (a requester who also treats is
/// named once, as requester); with the display names of the correspondents, read by the same
/// statement.
fn default_recipients(
    conn: &mut DbConnection,
    of: &[(String, String, Option<String>)],
) -> Result<(Recipients, BTreeMap<String, String>), Error> {
    let patient_ids: Vec<&String> = of.iter().map(|(p, _, _)| p).collect();
    let mut correspondents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut names = BTreeMap::new();
    for (patient, who, family, given) in patient_correspondents::table
        .inner_join(professionals::table.on(professionals::id.eq(patient_correspondents::professional_id)))
        .filter(patient_correspondents::patient_id.eq_any(patient_ids))
        .select((
            patient_correspondents::patient_id,
            patient_correspondents::professional_id,
            professionals::family_name,
            professionals::given_name,
        ))
        .order((patient_correspondents::patient_id, patient_correspondents::professional_id))
        .load::<(String, String, String, String)>(conn)?
    {
        names.insert(who.clone(), display_name(&family, &given));
        correspondents.entry(patient).or_default().push(who);
    }
    let mut out = BTreeMap::new();
    for (patient, requester, treating) in of {
        let mut list = vec![(requester.clone(), RecipientRole::Requester)];
        let mut add = |who: &String, role| {
            if !list.iter().any(|(w, _)| w == who) {
                list.push((who.clone(), role));
            }
        };
        if let Some(t) = treating {
            add(t, RecipientRole::Treating);
        }
        for c in correspondents.get(patient).into_iter().flatten() {
            add(c, RecipientRole::Correspondent);
        }
        out.insert((patient.clone(), requester.clone()), list);
    }
    Ok((out, names))
}

/// `(dossier, recipient)` pairs whose report was sent.
fn reached(conn: &mut DbConnection, dossier_ids: &[String]) -> Result<BTreeSet<(String, String)>, Error> {
    Ok(report_transmissions::table
        .inner_join(report_transmission_recipients::table)
        .filter(report_transmissions::dossier_id.eq_any(dossier_ids))
        .select((report_transmissions::dossier_id, report_transmission_recipients::recipient_id))
        .distinct()
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// A default recipient of a report and whether it reached him.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// The professional.
    pub professional_id: String,
    /// "Given FAMILY".
    pub display_name: String,
    /// Why he receives it.
    pub role: RecipientRole,
    /// Whether a transmission already named him.
    pub reached: bool,
}

/// One validated report still to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportToSend {
    /// The dossier.
    pub dossier_id: String,
    /// The patient.
    pub patient_id: String,
    /// Family name.
    pub patient_family_name: String,
    /// Given name.
    pub patient_given_name: String,
    /// Birth date.
    pub patient_birth_date: NaiveDate,
    /// The requesting physician.
    pub requester_id: String,
    /// The RCP.
    pub rcp_id: String,
    /// Its name.
    pub rcp_name: String,
    /// The session.
    pub session_id: String,
    /// When the session started.
    pub session_starts_at: NaiveDateTime,
    /// When the dossier was validated.
    pub validated_at: NaiveDateTime,
    /// The default recipients, the requester first.
    pub recipients: Vec<Recipient>,
}

/// A page row, with the requester's and the treating physician's names (family, given).
#[derive(Queryable)]
struct ToSendRow {
    dossier_id: String,
    patient_id: String,
    family: String,
    given: String,
    birth: NaiveDate,
    requester_id: String,
    rcp_id: String,
    rcp_name: String,
    session_id: String,
    starts_at: NaiveDateTime,
    validated_at: NaiveDateTime,
    treating: Option<String>,
    requester_name: (String, String),
    treating_name: (Option<String>, Option<String>),
}

/// Whose reports the caller sends: its own requests, and for a secretary those of P(S) in the
/// RCPs of her secretary centers (`delegation::in_rcp_passages_tab`).
pub(crate) fn requesters(p: &Principal) -> (Vec<String>, Vec<String>) {
    let (physicians, centers) = p.delegation();
    let mut who = vec![p.professional_id.clone()];
    who.extend(physicians);
    (who, centers)
}

/// A page of the reports to send, with the requester's and the treating physician's names. Written
/// by hand and kept prepared (`CachedSql`), which saves the parse; PostgreSQL still plans each
/// call, its parameters making the generic plan look dearer than a custom one.
fn to_send_page(conn: &mut DbConnection, p: &Principal, page: &PageRequest) -> Result<Vec<ToSendRow>, Error> {
    use crate::cached_sql::{Bind, CachedSql, placeholders};
    use diesel::sql_types::{Date, Nullable, Text, Timestamp};
    let (who, centers) = requesters(p);
    // The page is chosen on the worklist, its dossiers and their RCPs alone; patients, sessions
    // and names are joined to the page after its limit. A subquery with a limit is planned on its
    // own: PostgreSQL, which plans each call of a statement with parameters afresh, plans two
    // small statements faster than the seven joins as one.
    let mut sql = format!(
        "SELECT d.id, pa.id, pa.family_name, pa.given_name, pa.birth_date, d.requester_id, r.id, r.name, s.id, s.starts_at, \
         w.validated_at, pa.treating_physician_id, q.family_name, q.given_name, t.family_name, t.given_name \
         FROM (SELECT w.dossier_id, w.validated_at FROM reports_to_send w JOIN dossiers d ON d.id = w.dossier_id \
         JOIN rcps r ON r.id = d.rcp_id WHERE w.requester_id IN ({})",
        placeholders(who.len())
    );
    let mut binds: Vec<Bind> = who.iter().cloned().map(Bind::Text).collect();
    // Its own requests anywhere; its physicians' on its secretary centers.
    if centers.is_empty() {
        sql.push_str(" AND w.requester_id = ?");
    } else {
        sql.push_str(&format!(" AND (w.requester_id = ? OR r.cancer_center_id IN ({}))", placeholders(centers.len())));
    }
    binds.push(Bind::Text(p.professional_id.clone()));
    binds.extend(centers.iter().cloned().map(Bind::Text));
    if let Some((at, id)) = &page.after {
        let at = parse_cursor_time(at)?;
        sql.push_str(" AND (w.validated_at > ? OR (w.validated_at = ? AND w.dossier_id > ?))");
        binds.extend([Bind::Time(at), Bind::Time(at), Bind::Text(id.clone())]);
    }
    sql.push_str(
        " ORDER BY w.validated_at, w.dossier_id LIMIT ?) w JOIN dossiers d ON d.id = w.dossier_id \
         JOIN patients pa ON pa.id = d.patient_id JOIN rcps r ON r.id = d.rcp_id JOIN rcp_sessions s ON s.id = d.session_id \
         JOIN professionals q ON q.id = d.requester_id LEFT JOIN professionals t ON t.id = pa.treating_physician_id \
         ORDER BY w.validated_at, w.dossier_id",
    );
    binds.push(Bind::Int(page.fetch()));
    type Columns = (
        Text,
        Text,
        Text,
        Text,
        Date,
        Text,
        Text,
        Text,
        Text,
        Timestamp,
        Timestamp,
        Nullable<Text>,
        (Text, Text),
        (Nullable<Text>, Nullable<Text>),
    );
    Ok(binds.into_iter().fold(CachedSql::<Columns>::new(sql), CachedSql::bind).load::<ToSendRow>(conn)?)
}

/// `GET /me/reports-to-send`: the validated dossiers the caller may see whose report has not
/// reached each default recipient, oldest validation first. One audit event.
pub fn reports_to_send(conn: &mut DbConnection, p: &Principal, page: &PageRequest) -> Result<Page<ReportToSend>, Error> {
    audit::audited_read_planned(conn, crate::db::Plans::Kept, p, "report.worklist", "report", |c, trail| {
        let rows = to_send_page(c, p, page)?;
        let page = Page::from_rows(rows, page, |r| (cursor_time(r.validated_at), r.dossier_id.clone()));
        let ids: Vec<String> = page.items.iter().map(|r| r.dossier_id.clone()).collect();
        let of: Vec<(String, String, Option<String>)> =
            page.items.iter().map(|r| (r.patient_id.clone(), r.requester_id.clone(), r.treating.clone())).collect();
        let (defaults, mut names) = default_recipients(c, &of)?;
        let reached = reached(c, &ids)?;
        for ToSendRow { requester_id: requester, treating, requester_name: (family, given), treating_name, .. } in &page.items {
            names.insert(requester.clone(), display_name(family, given));
            if let (Some(treating), (Some(family), Some(given))) = (treating, treating_name) {
                names.insert(treating.clone(), display_name(family, given));
            }
        }
        trail.grant = delegated_requesters(p, page.items.iter().map(|r| &r.requester_id));
        Ok(page.map(
            |ToSendRow {
                 dossier_id,
                 patient_id,
                 family,
                 given,
                 birth,
                 requester_id,
                 rcp_id,
                 rcp_name,
                 session_id,
                 starts_at,
                 validated_at,
                 ..
             }| {
                let recipients = defaults
                    .get(&(patient_id.clone(), requester_id.clone()))
                    .into_iter()
                    .flatten()
                    .map(|(who, role)| Recipient {
                        display_name: names.get(who).cloned().unwrap_or_else(|| who.clone()),
                        reached: reached.contains(&(dossier_id.clone(), who.clone())),
                        professional_id: who.clone(),
                        role: *role,
                    })
                    .collect();
                ReportToSend {
                    dossier_id,
                    patient_id,
                    patient_family_name: family,
                    patient_given_name: given,
                    patient_birth_date: birth,
                    requester_id,
                    rcp_id,
                    rcp_name,
                    session_id,
                    session_starts_at: starts_at,
                    validated_at,
                    recipients,
                }
            },
        ))
    })
}

/// The badge of the worklist: how many reports wait (no patient data: not audited).
pub fn reports_to_send_count(conn: &mut DbConnection, p: &Principal) -> Result<i64, Error> {
    let (who, centers) = requesters(p);
    Ok(reports_to_send::table
        .inner_join(dossiers::table.inner_join(rcps::table))
        .filter(reports_to_send::requester_id.eq_any(&who))
        .filter(reports_to_send::requester_id.eq(&p.professional_id).or(rcps::cancer_center_id.eq_any(&centers)))
        .count()
        .get_result(conn)?)
}

/// The physicians of P(S) among these requesters: on whose behalf a secretary read.
fn delegated_requesters<'a>(p: &Principal, requesters: impl Iterator<Item = &'a String>) -> Grant {
    let ps = p.represented_physicians();
    Grant::delegated(requesters.filter(|r| **r != p.professional_id && ps.contains(r)).cloned())
}
