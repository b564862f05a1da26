//! The stable machine strings a problem document carries in `code`: every one the API can
//! answer, declared once with what it means, so that the rules raising them, the error map and
//! the OpenAPI document all name the same set.

/// Declares the enum, its wire names and their meanings from one table.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $meaning:literal;)*) => {
        /// A problem's stable machine string (`code` in every problem document).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $(
                #[doc = $meaning]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &[ErrorCode] = &[$(Self::$variant,)*];

            /// The wire name, in snake_case.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)*
                }
            }

            /// What the code means, as the API's documentation says it.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)*
                }
            }
        }
    };
}

error_codes! {
    // What every operation may answer.
    InvalidToken = "invalid_token", "missing, invalid or expired token, or a disabled account";
    MalformedJson = "malformed_json", "the body is not JSON";
    PayloadTooLarge = "payload_too_large", "the body is too large";
    UnsupportedMediaType = "unsupported_media_type", "the body is not `application/json`";
    NotAcceptable = "not_acceptable", "no representation of the resource in a media type the `Accept` header names";
    ValidationFailed = "validation_failed", "invalid fields, listed in `errors`";
    InvalidQuery = "invalid_query", "a query parameter is missing or unreadable";
    InvalidLimit = "invalid_limit", "`limit` is not between 1 and 200";
    InvalidCursor = "invalid_cursor", "`cursor` was not issued by this list";
    NotFound = "not_found", "no such resource, or one the caller may not know exists";
    InternalError = "internal_error", "unexpected error; it is logged";
    ServiceUnavailable = "service_unavailable", "the database is busy or does not answer; retry after `Retry-After` seconds";
    TooManyAttempts = "too_many_attempts", "too many failed logins; retry after `Retry-After` seconds";
    PreconditionFailed = "precondition_failed", "`If-Match` names an ETag this resource does not have (it has none: only `*` matches); nothing was written";
    PreconditionRequired = "precondition_required", "this write needs `If-Match` with the ETag that was read";
    MethodNotAllowed = "method_not_allowed", "the path does not answer this method; `Allow` lists those it does";
    InsufficientStorage = "insufficient_storage", "the store cannot keep the write (disk full or read-only); nothing was written";
    // Reading the request.
    InvalidCredentials = "invalid_credentials", "unknown username, wrong password or disabled account";
    InvalidRefreshToken = "invalid_refresh_token", "the refresh token is unknown, or its session ended or timed out: log in again";
    RefreshTokenReused = "refresh_token_reused", "the refresh token was already used: its session has ended (log in again)";
    OidcRefused = "oidc_refused", "the Pro Santé Connect login was refused (state, code, ID token, acr or identity): `detail` says why; start again";
    OidcProviderUnavailable = "oidc_provider_unavailable", "Pro Santé Connect does not answer (its discovery document or keys cannot be fetched); try again shortly, password logins are unaffected";
    NoLocalAccount = "no_local_account", "no Concerto account has this RPPS: an administrator creates it first (never automatically)";
    AccountDisabled = "account_disabled", "the account is disabled";
    CsrfHeaderRequired = "csrf_header_required", "a refresh cookie was sent without the header `X-Concerto-Refresh: cookie`";
    MalformedMultipart = "malformed_multipart", "the multipart body cannot be read";
    DocumentTooLarge = "document_too_large", "the document is larger than allowed";
    UnsupportedDocumentType = "unsupported_document_type", "the document is not PDF, PNG, JPEG or plain text";
    // Values.
    InvalidCategory = "invalid_category", "not a professional category";
    InvalidRpps = "invalid_rpps", "not an RPPS number (11 digits with a Luhn check digit)";
    InvalidName = "invalid_name", "a name without letters or digits, or too long";
    InvalidProfileKind = "invalid_profile_kind", "not a profile kind";
    InvalidQuorum = "invalid_quorum", "a quorum rule out of its bounds";
    InvalidPeriod = "invalid_period", "an end that does not come after its start, or is already past; a report's period not in whole months";
    InvalidSpecialty = "invalid_specialty", "not a documented specialty";
    InvalidSex = "invalid_sex", "not an administrative sex";
    InvalidIns = "invalid_ins", "not an INS (a 15-character NIR with its 2-digit key)";
    InvalidBirthPlaceCode = "invalid_birth_place_code", "not a place code";
    BirthDateInFuture = "birth_date_in_future", "a birth date in the future";
    InvalidRole = "invalid_role", "not a member role";
    InvalidStatus = "invalid_status", "not a status";
    InvalidChannel = "invalid_channel", "not a transmission channel";
    ValidUntilRequired = "valid_until_required", "a physician's own delegation needs an end date";
    SearchTooBroad = "search_too_broad", "the search would browse everything: give a narrower criterion";
    NotAPhysician = "not_a_physician", "the professional is not a physician";
    NotASecretary = "not_a_secretary", "the professional is not a secretary";
    NotAnAttendee = "not_an_attendee", "neither a member of the RCP nor a physician of its center";
    ProposalMissing = "proposal_missing", "the dossier has no proposal yet";
    UnknownSystem = "unknown_system", "no such code system on this platform";
    ListNotLoaded = "list_not_loaded", "the code system's list was never loaded";
    UnknownCode = "unknown_code", "a coded field holds a code that is not in its loaded list; the field and the system are named";
    InvalidCode = "invalid_code", "a code list's line holds no usable code (`concerto terminology load`)";
    InvalidLabel = "invalid_label", "a code list's line holds no usable label (`concerto terminology load`)";
    InvalidValidity = "invalid_validity", "a code list's line ends before it starts (`concerto terminology load`)";
    FicheIncomplete = "fiche_incomplete", "the fiche lacks what a validated fiche RCP must hold; `errors` lists the missing fields";
    // Rights.
    Forbidden = "forbidden", "the caller's rights do not allow this action";
    PlatformAdminRequired = "platform_admin_required", "only the platform administrator may do this";
    CenterCoordinatorRequired = "center_coordinator_required", "only a coordinator of the center (or the platform administrator) may do this";
    NotAnimateur = "not_animateur", "not an animateur of the RCP, nor one's secretary";
    NotRequester = "not_requester", "not the requester, nor one's secretary";
    NotMember = "not_member", "the requester is not a member of the RCP";
    MedicalActForbidden = "medical_act_forbidden", "a secretary may not write the medical content";
    TabNotAllowed = "tab_not_allowed", "this dossier tab is not the caller's";
    WrongPassword = "wrong_password", "the current password is wrong";
    // State.
    HasAffiliations = "has_affiliations", "the change would leave affiliations that no longer fit";
    SessionNotOpen = "session_not_open", "the session has started or is closed";
    SessionClosed = "session_closed", "the session is closed";
    SessionNotInProgress = "session_not_in_progress", "the session is not in progress";
    InvalidTransition = "invalid_transition", "the session is not in the status this step starts from";
    CannotDisableSelf = "cannot_disable_self", "an administrator cannot disable their own account";
    CannotEndOwnSessions = "cannot_end_own_sessions", "an administrator ends their own sessions one by one (`DELETE /me/sessions/{id}`), not all at once";
    LastPlatformAdmin = "last_platform_admin", "the last platform administrator stays";
    AlreadyValidated = "already_validated", "the dossier is already validated";
    DossierWithdrawn = "dossier_withdrawn", "the dossier was withdrawn from the session";
    NotValidated = "not_validated", "the dossier is not validated yet";
    QuorumNotMet = "quorum_not_met", "the board's quorum is not present";
    RequestNotPending = "request_not_pending", "the account request is no longer pending";
    AlreadyRegistered = "already_registered", "the patient is already registered in this session";
    PossibleDuplicate = "possible_duplicate", "patients with the same identity traits exist";
    InsTaken = "ins_taken", "another patient holds this INS";
    RppsTaken = "rpps_taken", "a professional with this RPPS number exists";
    CodeTaken = "code_taken", "a cancer center with this code exists";
    UsernameTaken = "username_taken", "this username is already used";
    AccountExists = "account_exists", "this professional already has an account";
    NameTaken = "name_taken", "the center already has a secretary group of that name";
    PasswordChanged = "password_changed", "the password was changed meanwhile";
    AlreadyExists = "already_exists", "a record with the same unique value exists";
    NotEmpty = "not_empty", "the database already holds data (the demo loads into an empty one only)";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn wire_names_are_the_variants_in_snake_case() {
        for code in ErrorCode::ALL {
            let mut snake = String::new();
            for (i, c) in format!("{code:?}").chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    snake.push('_');
                }
                snake.push(c.to_ascii_lowercase());
            }
            assert_eq!(code.as_str(), snake);
        }
    }

    #[test]
    fn codes_are_distinct_and_all_listed_with_a_meaning() {
        let names: BTreeSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        assert!(ErrorCode::ALL.iter().all(|c| !c.meaning().is_empty()));
    }
}
