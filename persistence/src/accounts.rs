//! Accounts: the login of a professional, and the principal loaded on every request.

use concerto_domain::principal::Principal;
use concerto_domain::professional::{Category, Professional};
use concerto_domain::rules;
use diesel::prelude::*;

use crate::professionals::{self, NewProfessional};
use crate::schema::{accounts, professionals as professionals_t};
use crate::{DbConnection, Error, affiliations, new_id, now};

/// What a login is checked against.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account's id (the token subject).
    pub account_id: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// A disabled account cannot log in and its tokens stop working.
    pub active: bool,
    /// Tokens carry the generation they were issued in; only the current one is honoured.
    pub token_generation: i64,
    /// The login name (lowercase): the key of the account's login throttling.
    pub username: String,
}

/// An account as the API shows it (never the hash).
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Account {
    /// Opaque id.
    pub id: String,
    /// The professional who logs in with it.
    pub professional_id: String,
    /// Login name, lowercase.
    pub username: String,
    /// Platform administrator.
    pub is_platform_admin: bool,
    /// Enabled.
    pub active: bool,
}

const COLUMNS: (accounts::id, accounts::professional_id, accounts::username, accounts::is_platform_admin, accounts::active) =
    (accounts::id, accounts::professional_id, accounts::username, accounts::is_platform_admin, accounts::active);

/// Usernames compare case-insensitively: they are stored lowercase.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

type CredentialsRow = (String, String, bool, i64, String);

const CREDENTIALS: (accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username) =
    (accounts::id, accounts::password_hash, accounts::active, accounts::token_generation, accounts::username);

fn to_credentials((account_id, password_hash, active, token_generation, username): CredentialsRow) -> Credentials {
    Credentials { account_id, password_hash, active, token_generation, username }
}

/// The credentials of a username, if such an account exists.
pub fn credentials(conn: &mut DbConnection, username: &str) -> Result<Option<Credentials>, Error> {
    let row = accounts::table
        .filter(accounts::username.eq(normalize_username(username)))
        .select(CREDENTIALS)
        .first::<CredentialsRow>(conn)
        .optional()?;
    Ok(row.map(to_credentials))
}

/// The credentials of an account, by id (`POST /me/password` checks the current password).
pub fn credentials_of(conn: &mut DbConnection, account_id: &str) -> Result<Credentials, Error> {
    let row = accounts::table.find(account_id).select(CREDENTIALS).first::<CredentialsRow>(conn).optional()?;
    row.map(to_credentials).ok_or(Error::NotFound("account"))
}

/// Replaces an account's password and moves its token generation on, so every token issued
/// before stops working at once. `read_generation` is the generation the caller's current
/// password was checked against: a concurrent change in between makes this one a 409.
pub fn change_password(conn: &mut DbConnection, account_id: &str, read_generation: i64, password_hash: &str) -> Result<(), Error> {
    let n = diesel::update(accounts::table.find(account_id).filter(accounts::token_generation.eq(read_generation)))
        .set((accounts::password_hash.eq(password_hash), accounts::token_generation.eq(accounts::token_generation + 1)))
        .execute(conn)?;
    if n == 0 {
        return Err(Error::conflict("password_changed", "the password was changed meanwhile; log in again"));
    }
    Ok(())
}

/// The professional behind an account and the centers where it holds a profile: what a
/// refused login's audit event names, so that the coordinators of those centers see it.
pub fn owner_and_centers(conn: &mut DbConnection, account_id: &str) -> Result<Option<(String, Vec<String>)>, Error> {
    use crate::schema::profiles;
    let Some(professional_id) = accounts::table.find(account_id).select(accounts::professional_id).first::<String>(conn).optional()? else {
        return Ok(None);
    };
    let mut centers: Vec<String> =
        profiles::table.filter(profiles::professional_id.eq(&professional_id)).select(profiles::cancer_center_id).load::<String>(conn)?;
    centers.sort();
    centers.dedup();
    Ok(Some((professional_id, centers)))
}

pub(crate) fn insert(
    conn: &mut DbConnection,
    professional_id: &str,
    username: &str,
    password_hash: &str,
    is_platform_admin: bool,
) -> Result<Account, Error> {
    let username = normalize_username(username);
    let taken = accounts::table.filter(accounts::username.eq(&username)).select(accounts::id).first::<String>(conn).optional()?;
    if taken.is_some() {
        return Err(Error::conflict("username_taken", "this username is already used"));
    }
    let has_account =
        accounts::table.filter(accounts::professional_id.eq(professional_id)).select(accounts::id).first::<String>(conn).optional()?;
    if has_account.is_some() {
        return Err(Error::conflict("account_exists", "this professional already has an account"));
    }
    let account = Account { id: new_id(), professional_id: professional_id.to_owned(), username, is_platform_admin, active: true };
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(&account.id),
            accounts::professional_id.eq(&account.professional_id),
            accounts::username.eq(&account.username),
            accounts::password_hash.eq(password_hash),
            accounts::is_platform_admin.eq(is_platform_admin),
            accounts::active.eq(true),
            accounts::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(account)
}

/// `POST /accounts`: the platform administrator opens an account for a professional.
pub fn create(
    conn: &mut DbConnection,
    p: &Principal,
    professional_id: &str,
    username: &str,
    password_hash: &str,
) -> Result<Account, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        professionals::find(c, professional_id)?;
        insert(c, professional_id, username, password_hash, false)
    })
}

/// `concerto create-admin`: a platform administrator, with a professional of category `other`
/// named after the username so every account has a professional behind it.
pub fn create_platform_admin(conn: &mut DbConnection, username: &str, password_hash: &str) -> Result<Account, Error> {
    crate::db::write(conn, |c| {
        let prof = professionals::insert(
            c,
            &NewProfessional {
                family_name: username.to_owned(),
                given_name: String::new(),
                rpps: None,
                email: None,
                category: Category::Other,
            },
        )?;
        insert(c, &prof.id, username, password_hash, true)
    })
}

/// `PATCH /accounts/{id}`: enable or disable; a disabled account's tokens stop working at once
/// because the principal is loaded from here on every request, and disabling also moves the
/// token generation on, so enabling the account again does not revive the tokens of before.
pub fn set_active(conn: &mut DbConnection, p: &Principal, id: &str, active: bool) -> Result<Account, Error> {
    rules::may_administer_platform(p)?;
    crate::db::write(conn, |c| {
        let generation = if active { accounts::token_generation + 0 } else { accounts::token_generation + 1 };
        let n = diesel::update(accounts::table.find(id))
            .set((accounts::active.eq(active), accounts::token_generation.eq(generation)))
            .execute(c)?;
        if n == 0 {
            return Err(Error::NotFound("account"));
        }
        accounts::table.find(id).select(COLUMNS).first(c).map_err(Error::from)
    })
}

/// The caller behind a token: `None` when the token was issued in an earlier generation of the
/// account (before a password change or a disable), or when [`load_principal`] finds none.
pub fn load_principal_of_token(
    conn: &mut DbConnection,
    account_id: &str,
    token_generation: i64,
) -> Result<Option<(Principal, Professional)>, Error> {
    let current = accounts::table.find(account_id).select(accounts::token_generation).first::<i64>(conn).optional()?;
    if current != Some(token_generation) {
        return Ok(None);
    }
    load_principal(conn, account_id)
}

/// The caller behind a token's subject: `None` when the account is unknown or disabled.
pub fn load_principal(conn: &mut DbConnection, account_id: &str) -> Result<Option<(Principal, Professional)>, Error> {
    let row = accounts::table
        .inner_join(professionals_t::table)
        .filter(accounts::id.eq(account_id))
        .filter(accounts::active.eq(true))
        .select((accounts::is_platform_admin, professionals::COLUMNS))
        .first::<(bool, (String, String, String, Option<String>, Option<String>, String))>(conn)
        .optional()?;
    let Some((is_platform_admin, prof_row)) = row else {
        return Ok(None);
    };
    let professional = professionals::from_row(prof_row)?;
    let principal = Principal {
        account_id: account_id.to_owned(),
        professional_id: professional.id.clone(),
        category: professional.category,
        is_platform_admin,
        profiles: professionals::profiles_of(conn, &professional.id)?,
        acting_for: affiliations::acting_for(conn, &professional.id)?,
    };
    Ok(Some((principal, professional)))
}
