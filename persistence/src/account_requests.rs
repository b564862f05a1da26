//! Account requests: a center asks the platform to open an account; the platform administrator
//! fulfils or rejects it.

use chrono::NaiveDateTime;
use concerto_domain::DomainError;
use concerto_domain::ErrorCode;
use concerto_domain::id::{CancerCenterId, ProfessionalId};
use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Rpps};
use concerto_domain::profile::ProfileKind;
use concerto_domain::rules;
use diesel::prelude::*;

use crate::professionals::NewProfessional;
use crate::schema::account_requests;
use crate::{DbConnection, Error, Page, PageRequest, accounts, new_id, now, professionals};

/// The state of an account request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestStatus {
    /// Waiting for the platform administrator.
    Pending,
    /// The professional and the account were created.
    Fulfilled,
    /// Refused, with a reason.
    Rejected,
}

impl RequestStatus {
    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Fulfilled => "fulfilled",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the API spelling.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Fulfilled, Self::Rejected].into_iter().find(|v| v.as_str() == s)
    }
}

/// Reads the storage spelling back: a stored value that is not one of them is a fault of the store.
impl TryFrom<String> for RequestStatus {
    type Error = DomainError;

    fn try_from(s: String) -> Result<Self, DomainError> {
        Self::parse(&s).ok_or_else(|| {
            DomainError::invalid("status", ErrorCode::InvalidStatus, "account request status must be one of pending, fulfilled, rejected")
        })
    }
}

/// An account request as stored.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct AccountRequest {
    /// Opaque id.
    pub id: String,
    /// The requesting center, on which the expected profile is granted.
    pub cancer_center_id: String,
    /// Family name of the person.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Contact email.
    pub email: String,
    /// RPPS number, when the person has one.
    pub rpps: Option<String>,
    /// The profile to grant (`secretary` for "secrétaire médecin").
    #[diesel(deserialize_as = String)]
    pub expected_profile: ProfileKind,
    /// Where it stands.
    #[diesel(deserialize_as = String)]
    pub status: RequestStatus,
    /// The coordinator who asked.
    pub requested_by: String,
    /// When it was asked.
    pub created_at: NaiveDateTime,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When it was decided.
    pub decided_at: Option<NaiveDateTime>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// The professional created when fulfilled.
    pub professional_id: Option<String>,
    /// The account created when fulfilled.
    pub account_id: Option<String>,
}

/// A request to file.
#[derive(Debug, Clone)]
pub struct NewAccountRequest {
    /// The requesting center.
    pub cancer_center_id: String,
    /// Family name.
    pub family_name: String,
    /// Given name.
    pub given_name: String,
    /// Contact email.
    pub email: String,
    /// Checked RPPS number.
    pub rpps: Option<Rpps>,
    /// The profile to grant.
    pub expected_profile: ProfileKind,
}

/// `POST /account-requests`: a coordinator of the center asks for an account.
pub fn create(conn: &mut DbConnection, p: &Principal, new: &NewAccountRequest) -> Result<AccountRequest, Error> {
    crate::db::write(conn, |c| {
        crate::cancer_centers::find(c, &new.cancer_center_id)?;
        rules::may_request_account(p, &new.cancer_center_id)?;
        let id = new_id();
        diesel::insert_into(account_requests::table)
            .values((
                account_requests::id.eq(&id),
                account_requests::cancer_center_id.eq(&new.cancer_center_id),
                account_requests::family_name.eq(new.family_name.trim()),
                account_requests::given_name.eq(new.given_name.trim()),
                account_requests::email.eq(new.email.trim()),
                account_requests::rpps.eq(new.rpps.as_ref().map(Rpps::as_str)),
                account_requests::expected_profile.eq(new.expected_profile.as_str()),
                account_requests::status.eq(RequestStatus::Pending.as_str()),
                account_requests::requested_by.eq(&p.professional_id),
                account_requests::created_at.eq(now()),
            ))
            .execute(c)?;
        find(c, &id)
    })
}

fn find(conn: &mut DbConnection, id: &str) -> Result<AccountRequest, Error> {
    account_requests::table.find(id).first(conn).optional()?.ok_or(Error::NotFound("account request"))
}

/// `GET /account-requests?status=`: the platform administrator sees every request, a
/// coordinator those of the centers she coordinates; oldest first.
pub fn list(
    conn: &mut DbConnection,
    p: &Principal,
    status: Option<RequestStatus>,
    page: &PageRequest,
) -> Result<Page<AccountRequest>, Error> {
    let mut query = account_requests::table.into_boxed();
    if let Some(centers) = rules::administered_centers(p, ErrorCode::PlatformAdminRequired)? {
        query = query.filter(account_requests::cancer_center_id.eq_any(centers));
    }
    if let Some(status) = status {
        query = query.filter(account_requests::status.eq(status.as_str()));
    }
    if let Some((_, id)) = &page.after {
        query = query.filter(account_requests::id.gt(id.clone()));
    }
    let rows = query.order(account_requests::id).limit(page.fetch()).load::<AccountRequest>(conn)?;
    Ok(Page::from_rows(rows, page, |r| (String::new(), r.id.clone())))
}

/// What fulfilling a request created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulfilment {
    /// The new professional (category `physician`, the directory default).
    pub professional_id: String,
    /// The new account.
    pub account_id: String,
}

/// `POST /account-requests/{id}/fulfil`: creates the professional, the account and the expected
/// profile on the requesting center, all or nothing.
pub fn fulfil(conn: &mut DbConnection, p: &Principal, id: &str, username: &str, password_hash: &str) -> Result<Fulfilment, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        let request = pending(c, id)?;
        claim(c, id, RequestStatus::Fulfilled, &p.professional_id)?;
        let rpps = request.rpps.as_deref().map(Rpps::parse).transpose()?;
        let professional = professionals::insert(
            c,
            &NewProfessional {
                family_name: request.family_name.clone(),
                given_name: request.given_name.clone(),
                rpps,
                email: Some(request.email.clone()),
                category: Category::Physician,
            },
        )?;
        let account = accounts::insert(c, &professional.id, username, password_hash, false)?;
        let kind = request.expected_profile;
        professionals::insert_profile(
            c,
            &ProfessionalId::from(professional.id.as_str()),
            &CancerCenterId::from(request.cancer_center_id.as_str()),
            kind,
        )?;
        let change = crate::delegation_events::Change {
            secretary_id: Some(&professional.id),
            cancer_center_id: Some(&request.cancer_center_id),
            profile_kind: Some(kind),
            ..crate::delegation_events::Change::default()
        };
        crate::delegation_events::record(
            c,
            p,
            crate::delegation_events::Kind::Profile,
            crate::delegation_events::Action::Granted,
            &change,
        )?;
        diesel::update(account_requests::table.find(id))
            .set((account_requests::professional_id.eq(&professional.id), account_requests::account_id.eq(&account.id)))
            .execute(c)?;
        Ok(Fulfilment { professional_id: professional.id, account_id: account.id })
    })
}

/// `POST /account-requests/{id}/reject`.
pub fn reject(conn: &mut DbConnection, p: &Principal, id: &str, reason: &str) -> Result<AccountRequest, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        pending(c, id)?;
        claim(c, id, RequestStatus::Rejected, &p.professional_id)?;
        diesel::update(account_requests::table.find(id)).set(account_requests::reject_reason.eq(reason.trim())).execute(c)?;
        find(c, id)
    })
}

/// Decides a pending request, only if it is still pending when the update runs: of two
/// administrators deciding at once, the second finds it decided (`request_not_pending`) rather
/// than deciding it twice. The row stays locked until the transaction ends.
fn claim(conn: &mut DbConnection, id: &str, status: RequestStatus, by: &str) -> Result<(), Error> {
    let claimed = diesel::update(account_requests::table.find(id).filter(account_requests::status.eq(RequestStatus::Pending.as_str())))
        .set((account_requests::status.eq(status.as_str()), account_requests::decided_by.eq(by), account_requests::decided_at.eq(now())))
        .execute(conn)?;
    if claimed == 0 {
        pending(conn, id)?;
    }
    Ok(())
}

fn pending(conn: &mut DbConnection, id: &str) -> Result<AccountRequest, Error> {
    let request = find(conn, id)?;
    if request.status != RequestStatus::Pending {
        return Err(Error::conflict(ErrorCode::RequestNotPending, format!("this request is already {}", request.status.as_str())));
    }
    Ok(request)
}
