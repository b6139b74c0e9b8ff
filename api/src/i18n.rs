//! Error messages in English and French, chosen by `Accept-Language`. Codes are stable
//! and language-free; only the message is translated.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

/// Picks the preferred supported language from an `Accept-Language` header
/// (`fr-FR,fr;q=0.9,en;q=0.8`). English when absent or nothing matches.
pub fn negotiate(header: Option<&str>) -> Lang {
    let Some(header) = header else {
        return Lang::En;
    };
    let mut best: Option<(f32, Lang)> = None;
    for part in header.split(',') {
        let mut pieces = part.trim().split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .find_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|v| v.parse::<f32>().ok())
            })
            .unwrap_or(1.0);
        let lang = match tag.split('-').next() {
            Some("fr") => Lang::Fr,
            Some("en") => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

/// Every error code the API answers with, and its messages.
pub const MESSAGES: &[(&str, &str, &str)] = &[
    ("not_found", "Resource not found", "Ressource introuvable"),
    (
        "bad_request",
        "The request is malformed",
        "La requête est mal formée",
    ),
    (
        "malformed_json",
        "The request body is not valid JSON",
        "Le corps de la requête n'est pas un JSON valide",
    ),
    (
        "unsupported_media_type",
        "The request body must be JSON (Content-Type: application/json)",
        "Le corps de la requête doit être du JSON (Content-Type: application/json)",
    ),
    (
        "validation_failed",
        "The request is not valid",
        "La requête n'est pas valide",
    ),
    (
        "payload_too_large",
        "The request body is too large",
        "Le corps de la requête est trop volumineux",
    ),
    (
        "request_timeout",
        "The request took too long; try again",
        "La requête a pris trop de temps ; réessayez",
    ),
    (
        "invalid_characters",
        "The address holds characters that are not allowed (control characters or invalid UTF-8)",
        "L'adresse contient des caractères non autorisés (caractères de contrôle ou UTF-8 invalide)",
    ),
    (
        "invalid_credentials",
        "Invalid email or password",
        "Adresse e-mail ou mot de passe incorrect",
    ),
    (
        "account_disabled",
        "This account is disabled",
        "Ce compte est désactivé",
    ),
    (
        "missing_token",
        "Authentication required",
        "Authentification requise",
    ),
    (
        "invalid_token",
        "The token is invalid",
        "Le jeton est invalide",
    ),
    (
        "token_expired",
        "The token has expired",
        "Le jeton a expiré",
    ),
    (
        "session_revoked",
        "The session has ended; please log in again",
        "La session est terminée ; veuillez vous reconnecter",
    ),
    (
        "refresh_token_reused",
        "This refresh token was already used; the session has been revoked",
        "Ce jeton de rafraîchissement a déjà été utilisé ; la session a été révoquée",
    ),
    (
        "forbidden",
        "You are not allowed to do this",
        "Vous n'êtes pas autorisé à effectuer cette action",
    ),
    (
        "rate_limited",
        "Too many attempts; try again later",
        "Trop de tentatives ; réessayez plus tard",
    ),
    (
        "name_taken",
        "An organisation with this name already exists",
        "Une organisation porte déjà ce nom",
    ),
    (
        "email_taken",
        "A user with this email already exists",
        "Un utilisateur utilise déjà cette adresse e-mail",
    ),
    (
        "cannot_modify_self",
        "You cannot change your own role or disable yourself",
        "Vous ne pouvez ni changer votre propre rôle ni vous désactiver",
    ),
    (
        "provider_active",
        "The active provider cannot be deleted: activate another one first",
        "Le fournisseur actif ne peut pas être supprimé : activez-en d'abord un autre",
    ),
    (
        "provider_test_failed",
        "The provider failed its connection test; the active provider is unchanged",
        "Le fournisseur a échoué au test de connexion ; le fournisseur actif est inchangé",
    ),
    (
        "provider_not_configured",
        "This provider is not configured yet",
        "Ce fournisseur n'est pas encore configuré",
    ),
    (
        "secrets_key_missing",
        "Credentials cannot be stored: the server has no secrets key (TENTABO_SECRETS_KEY)",
        "Les identifiants ne peuvent pas être enregistrés : le serveur n'a pas de clé de chiffrement (TENTABO_SECRETS_KEY)",
    ),
    (
        "job_not_retryable",
        "Only a dead or discarded job can be retried",
        "Seule une tâche en échec ou abandonnée peut être relancée",
    ),
    (
        "job_not_discardable",
        "Only a dead job, or one waiting for a retry, can be discarded",
        "Seule une tâche en échec, ou en attente d'une nouvelle tentative, peut être abandonnée",
    ),
    (
        "transition_refused",
        "The lead's lifecycle cannot make this move in one step",
        "Le cycle de vie du prospect ne permet pas ce changement en une étape",
    ),
    (
        "oauth_not_configured",
        "OAuth is not configured for this provider (auth mode, client id and secret)",
        "OAuth n'est pas configuré pour ce fournisseur (mode d'authentification, identifiant et secret du client)",
    ),
    (
        "public_url_required",
        "Set the public URL first: the provider sends the browser back there",
        "Renseignez d'abord l'URL publique : le fournisseur y renvoie le navigateur",
    ),
    (
        "oauth_state_invalid",
        "This authorization is unknown, already used or expired: connect again",
        "Cette autorisation est inconnue, déjà utilisée ou expirée : reconnectez-vous",
    ),
    (
        "oauth_exchange_failed",
        "The provider refused the authorization code: connect again",
        "Le fournisseur a refusé le code d'autorisation : reconnectez-vous",
    ),
    (
        "illegal_transition",
        "This event is not allowed in the current state",
        "Cet événement n'est pas permis dans l'état actuel",
    ),
    (
        "stale_version",
        "The resource changed since you last read it",
        "La ressource a changé depuis votre dernière lecture",
    ),
    (
        "already_converted",
        "This lead has already been converted into an order",
        "Ce prospect a déjà été converti en commande",
    ),
    (
        "order_not_editable",
        "Only an order that has not been sent can be changed",
        "Seule une commande non envoyée peut être modifiée",
    ),
    (
        "still_referenced",
        "This resource is still referenced and cannot be deleted",
        "Cette ressource est encore référencée et ne peut pas être supprimée",
    ),
    (
        "idempotency_key_reused",
        "This Idempotency-Key was already used for a different request",
        "Cette clé d'idempotence a déjà servi pour une autre requête",
    ),
    (
        "directory_unavailable",
        "The directory does not answer; try again later (administrators with a Tentabo password can still log in)",
        "L'annuaire ne répond pas ; réessayez plus tard (les administrateurs avec un mot de passe Tentabo peuvent se connecter)",
    ),
    (
        "account_not_mapped",
        "Your account is in no group that gives access to Tentabo",
        "Votre compte n'appartient à aucun groupe donnant accès à Tentabo",
    ),
    (
        "provider_not_active",
        "This provider is not the active one",
        "Ce fournisseur n'est pas celui qui est actif",
    ),
    (
        "organisation_not_found",
        "The organisation the mapping names does not exist",
        "L'organisation désignée par la correspondance n'existe pas",
    ),
    (
        "directory_email_missing",
        "The directory account has no usable email address",
        "Le compte de l'annuaire n'a pas d'adresse e-mail utilisable",
    ),
    (
        "sso_email_missing",
        "The identity provider sent no usable email address",
        "Le fournisseur d'identité n'a envoyé aucune adresse e-mail utilisable",
    ),
    (
        "sso_email_unverified",
        "The identity provider does not vouch for this account's email",
        "Le fournisseur d'identité ne garantit pas l'adresse e-mail de ce compte",
    ),
    (
        "upstream_unavailable",
        "A connected system did not answer; try again later",
        "Un système connecté n'a pas répondu ; réessayez plus tard",
    ),
    (
        "sync_already_running",
        "A sync of this entity is already queued or running",
        "Une synchronisation de cette entité est déjà en attente ou en cours",
    ),
    (
        "invalid_value",
        "A value cannot be stored in its field",
        "Une valeur ne peut pas être enregistrée dans son champ",
    ),
    (
        "conflict_already_resolved",
        "This conflict has already been resolved",
        "Ce conflit a déjà été résolu",
    ),
    (
        "duration_exists",
        "A duration of this length already exists",
        "Une durée de cette longueur existe déjà",
    ),
    (
        "conflict",
        "The request conflicts with the current state",
        "La requête est en conflit avec l'état actuel",
    ),
    (
        "not_ready",
        "A dependency is not ready",
        "Une dépendance n'est pas prête",
    ),
    (
        "unavailable",
        "The service is temporarily unavailable",
        "Le service est temporairement indisponible",
    ),
    (
        "internal_error",
        "An internal error occurred",
        "Une erreur interne s'est produite",
    ),
    (
        "method_not_allowed",
        "This method is not allowed on this resource",
        "Cette méthode n'est pas autorisée sur cette ressource",
    ),
];

pub fn message(code: &str, lang: Lang) -> Option<&'static str> {
    MESSAGES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, en, fr)| match lang {
            Lang::En => *en,
            Lang::Fr => *fr,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_by_quality() {
        assert_eq!(negotiate(None), Lang::En);
        assert_eq!(negotiate(Some("fr-FR,fr;q=0.9,en;q=0.8")), Lang::Fr);
        assert_eq!(negotiate(Some("en-GB,fr;q=0.5")), Lang::En);
        assert_eq!(negotiate(Some("de, fr;q=0.3")), Lang::Fr);
        assert_eq!(negotiate(Some("de")), Lang::En);
        assert_eq!(negotiate(Some("fr;q=0")), Lang::En);
    }

    #[test]
    fn every_code_has_both_languages() {
        let mut seen = std::collections::HashSet::new();
        for (code, en, fr) in MESSAGES {
            assert!(seen.insert(code), "duplicate {code}");
            assert!(!en.is_empty() && !fr.is_empty() && en != fr, "{code}");
        }
    }
}
