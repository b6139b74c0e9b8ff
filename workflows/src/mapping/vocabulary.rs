//! The canonical zone's vocabulary (SPEC §10) as data: every entity's fields, what kind
//! of value each holds, and the names people give it in English and French. The
//! deterministic engine proposes these targets and nothing else.

/// What a canonical field holds: used to check a source field's type and samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Email,
    Phone,
    Url,
    Country,
    Currency,
    Money,
    Number,
    Percent,
    Date,
    DateTime,
    Bool,
    /// A reference to another record (a many2one in Odoo).
    Ref,
    /// A state out of a closed list.
    Status,
}

impl Kind {
    /// The kind's name as the LLM engine is told it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Url => "url",
            Kind::Country => "country_code",
            Kind::Currency => "currency_code",
            Kind::Money => "money",
            Kind::Number => "number",
            Kind::Percent => "percent",
            Kind::Date => "date",
            Kind::DateTime => "datetime",
            Kind::Bool => "boolean",
            Kind::Ref => "reference",
            Kind::Status => "status",
        }
    }
}

/// One canonical field: its name, kind, and synonyms (lowercase, without accents; the
/// name itself is implied).
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub kind: Kind,
    pub synonyms: &'static [&'static str],
}

const fn t(name: &'static str, kind: Kind, synonyms: &'static [&'static str]) -> Target {
    Target {
        name,
        kind,
        synonyms,
    }
}

use Kind::*;

const CREATED: Target = t(
    "created_at",
    DateTime,
    &[
        "create date",
        "created",
        "created on",
        "creation date",
        "date de creation",
        "cree le",
        "date creation",
    ],
);
const UPDATED: Target = t(
    "updated_at",
    DateTime,
    &[
        "write date",
        "last updated",
        "last modified",
        "modified",
        "updated",
        "update time",
        "derniere modification",
        "modifie le",
        "mis a jour le",
        "date de modification",
    ],
);

pub const ORGANIZATION: &[Target] = &[
    t(
        "name",
        Text,
        &[
            "company",
            "company name",
            "organization name",
            "organisation",
            "display name",
            "nom",
            "societe",
            "entreprise",
            "nom de la societe",
            "nom entreprise",
        ],
    ),
    t(
        "legal_name",
        Text,
        &[
            "legal name",
            "registered name",
            "corporate name",
            "raison sociale",
            "denomination sociale",
            "nom legal",
            "denomination",
        ],
    ),
    t(
        "vat_number",
        Text,
        &[
            "vat",
            "tax id",
            "vat id",
            "vat number",
            "tva",
            "numero de tva",
            "tva intracommunautaire",
            "n tva",
            "numero tva",
            "tax number",
        ],
    ),
    t(
        "email",
        Email,
        &[
            "email",
            "e mail",
            "mail",
            "email address",
            "adresse email",
            "courriel",
            "adresse e mail",
            "email from",
        ],
    ),
    t(
        "phone",
        Phone,
        &[
            "phone",
            "telephone",
            "phone number",
            "tel",
            "numero de telephone",
            "standard",
            "telephone fixe",
        ],
    ),
    t(
        "website",
        Url,
        &[
            "website",
            "web site",
            "url",
            "site web",
            "site internet",
            "homepage",
            "web",
        ],
    ),
    t(
        "street",
        Text,
        &[
            "street",
            "address",
            "address line 1",
            "street address",
            "adresse",
            "rue",
            "adresse 1",
            "ligne adresse 1",
        ],
    ),
    t(
        "street2",
        Text,
        &[
            "street 2",
            "address line 2",
            "address 2",
            "complement d adresse",
            "adresse 2",
            "complement adresse",
            "ligne adresse 2",
        ],
    ),
    t(
        "city",
        Text,
        &["city", "town", "locality", "ville", "commune", "localite"],
    ),
    t(
        "postal_code",
        Text,
        &[
            "zip",
            "zip code",
            "postal code",
            "postcode",
            "code postal",
            "cp",
        ],
    ),
    t(
        "state",
        Text,
        &[
            "state",
            "region",
            "province",
            "county",
            "departement",
            "etat",
            "federal state",
        ],
    ),
    t(
        "country_code",
        Country,
        &["country", "country code", "pays", "code pays", "nation"],
    ),
    t(
        "industry",
        Text,
        &[
            "industry",
            "sector",
            "activity",
            "secteur",
            "secteur d activite",
            "activite",
            "branche",
            "naf",
        ],
    ),
    t(
        "is_customer",
        Bool,
        &[
            "customer",
            "is customer",
            "customer rank",
            "client",
            "est client",
        ],
    ),
    t(
        "is_supplier",
        Bool,
        &[
            "supplier",
            "vendor",
            "is supplier",
            "supplier rank",
            "fournisseur",
            "est fournisseur",
        ],
    ),
    CREATED,
    UPDATED,
];

pub const CONTACT: &[Target] = &[
    t(
        "name",
        Text,
        &[
            "full name",
            "contact name",
            "display name",
            "nom complet",
            "nom du contact",
            "contact",
        ],
    ),
    t(
        "first_name",
        Text,
        &[
            "first name",
            "given name",
            "firstname",
            "forename",
            "prenom",
        ],
    ),
    t(
        "last_name",
        Text,
        &[
            "last name",
            "surname",
            "family name",
            "lastname",
            "nom de famille",
            "nom",
        ],
    ),
    t(
        "email",
        Email,
        &[
            "email",
            "e mail",
            "mail",
            "email address",
            "adresse email",
            "courriel",
            "adresse e mail",
        ],
    ),
    t(
        "phone",
        Phone,
        &[
            "phone",
            "telephone",
            "work phone",
            "office phone",
            "tel",
            "telephone fixe",
            "telephone bureau",
        ],
    ),
    t(
        "mobile",
        Phone,
        &[
            "mobile",
            "cell",
            "cell phone",
            "mobile phone",
            "portable",
            "telephone portable",
            "gsm",
            "mobile number",
        ],
    ),
    t(
        "job_title",
        Text,
        &[
            "job title",
            "title",
            "function",
            "position",
            "role",
            "poste",
            "fonction",
            "intitule du poste",
        ],
    ),
    t(
        "organization",
        Ref,
        &[
            "company",
            "organization",
            "organisation",
            "parent",
            "account",
            "employer",
            "societe",
            "entreprise",
            "parent company",
            "compte",
        ],
    ),
    t(
        "country_code",
        Country,
        &["country", "country code", "pays", "code pays"],
    ),
    CREATED,
    UPDATED,
];

pub const LEAD: &[Target] = &[
    t(
        "title",
        Text,
        &[
            "name",
            "title",
            "subject",
            "opportunity",
            "deal name",
            "lead name",
            "opportunity name",
            "titre",
            "intitule",
            "opportunite",
            "nom de l opportunite",
            "affaire",
        ],
    ),
    t(
        "organization",
        Text,
        &[
            "company",
            "company name",
            "partner name",
            "organization",
            "organisation",
            "account",
            "societe",
            "entreprise",
            "nom de la societe",
            "client",
        ],
    ),
    t(
        "contact_name",
        Text,
        &[
            "contact name",
            "contact",
            "person",
            "nom du contact",
            "interlocuteur",
        ],
    ),
    t(
        "contact_email",
        Email,
        &[
            "email",
            "email from",
            "contact email",
            "e mail",
            "courriel",
            "email du contact",
            "adresse email",
        ],
    ),
    t(
        "contact_phone",
        Phone,
        &[
            "phone",
            "contact phone",
            "telephone",
            "tel",
            "telephone du contact",
        ],
    ),
    t(
        "value",
        Money,
        &[
            "expected revenue",
            "amount",
            "value",
            "deal value",
            "revenue",
            "montant",
            "revenu attendu",
            "chiffre d affaires prevu",
            "valeur",
            "ca prevu",
            "montant estime",
        ],
    ),
    t(
        "currency",
        Currency,
        &["currency", "company currency", "devise", "monnaie"],
    ),
    t(
        "status",
        Status,
        &[
            "status",
            "state",
            "statut",
            "etat",
            "lead status",
            "deal status",
        ],
    ),
    t(
        "probability",
        Percent,
        &[
            "probability",
            "win probability",
            "chance",
            "probabilite",
            "probabilite de succes",
        ],
    ),
    t(
        "expected_close_date",
        Date,
        &[
            "date deadline",
            "expected closing",
            "close date",
            "expected close date",
            "deadline",
            "closing date",
            "date de cloture prevue",
            "cloture prevue",
            "date prevue",
            "echeance",
        ],
    ),
    t(
        "owner",
        Text,
        &[
            "user",
            "salesperson",
            "owner",
            "assigned to",
            "sales rep",
            "responsable",
            "commercial",
            "vendeur",
            "proprietaire",
        ],
    ),
    t(
        "source",
        Text,
        &[
            "source",
            "lead source",
            "origin",
            "channel",
            "origine",
            "canal",
            "provenance",
        ],
    ),
    t(
        "lost_reason",
        Text,
        &[
            "lost reason",
            "reason lost",
            "loss reason",
            "motif de perte",
            "raison de la perte",
            "cause de perte",
        ],
    ),
    t(
        "owner_external_id",
        Text,
        &["owner id", "salesperson id", "user id", "id du commercial"],
    ),
    t(
        "stage",
        Status,
        &[
            "stage",
            "pipeline stage",
            "etape",
            "phase",
            "etape du pipeline",
            "statut commercial",
        ],
    ),
    t(
        "closed_at",
        DateTime,
        &[
            "closed date",
            "date closed",
            "closed on",
            "close date",
            "won date",
            "date de cloture",
            "cloture le",
        ],
    ),
    CREATED,
    UPDATED,
];

pub const ORDER: &[Target] = &[
    t(
        "reference",
        Text,
        &[
            "name",
            "reference",
            "order reference",
            "order number",
            "number",
            "ref",
            "numero",
            "numero de commande",
            "reference commande",
        ],
    ),
    t(
        "customer",
        Ref,
        &[
            "partner", "customer", "client", "buyer", "account", "acheteur", "societe",
        ],
    ),
    t(
        "status",
        Status,
        &["state", "status", "stage", "etat", "statut"],
    ),
    t(
        "order_date",
        DateTime,
        &[
            "date order",
            "order date",
            "ordered on",
            "date",
            "date de commande",
            "date commande",
        ],
    ),
    t("currency", Currency, &["currency", "devise", "monnaie"]),
    t(
        "amount_untaxed",
        Money,
        &[
            "amount untaxed",
            "untaxed amount",
            "subtotal",
            "net amount",
            "total ht",
            "montant ht",
            "hors taxe",
        ],
    ),
    t(
        "amount_tax",
        Money,
        &[
            "amount tax",
            "tax",
            "taxes",
            "vat amount",
            "montant tva",
            "tva",
            "taxe",
        ],
    ),
    t(
        "amount_total",
        Money,
        &[
            "amount total",
            "total",
            "grand total",
            "total ttc",
            "montant ttc",
            "montant total",
        ],
    ),
    t(
        "owner",
        Text,
        &[
            "user",
            "salesperson",
            "owner",
            "sales rep",
            "responsable",
            "commercial",
            "vendeur",
        ],
    ),
    t(
        "owner_external_id",
        Text,
        &["owner id", "salesperson id", "user id", "id du commercial"],
    ),
    CREATED,
    UPDATED,
];

pub const PRODUCT: &[Target] = &[
    t(
        "name",
        Text,
        &[
            "name",
            "product name",
            "title",
            "label",
            "designation",
            "nom",
            "nom du produit",
            "libelle",
        ],
    ),
    t(
        "sku",
        Text,
        &[
            "default code",
            "internal reference",
            "sku",
            "reference",
            "product code",
            "code article",
            "reference interne",
            "ref",
        ],
    ),
    t(
        "barcode",
        Text,
        &[
            "barcode",
            "ean",
            "ean13",
            "upc",
            "gtin",
            "code barre",
            "code a barres",
        ],
    ),
    t(
        "unit",
        Text,
        &["uom", "unit", "unit of measure", "unite", "unite de mesure"],
    ),
    t(
        "list_price",
        Money,
        &[
            "list price",
            "sales price",
            "price",
            "unit price",
            "prix",
            "prix de vente",
            "prix catalogue",
            "tarif",
        ],
    ),
    t(
        "cost_price",
        Money,
        &[
            "standard price",
            "cost",
            "cost price",
            "purchase price",
            "cout",
            "prix de revient",
            "prix d achat",
        ],
    ),
    t(
        "product_type",
        Status,
        &[
            "detailed type",
            "type",
            "product type",
            "kind",
            "type de produit",
            "nature",
        ],
    ),
    t(
        "active",
        Bool,
        &["active", "enabled", "is active", "actif", "en vente"],
    ),
    t(
        "description",
        Text,
        &[
            "description",
            "description sale",
            "sales description",
            "notes",
            "descriptif",
            "description commerciale",
        ],
    ),
    CREATED,
    UPDATED,
];

pub const INVOICE: &[Target] = &[
    t(
        "number",
        Text,
        &[
            "name",
            "number",
            "invoice number",
            "reference",
            "numero",
            "numero de facture",
            "invoice reference",
        ],
    ),
    t(
        "customer",
        Ref,
        &["partner", "customer", "client", "billed to", "acheteur"],
    ),
    t(
        "status",
        Status,
        &["state", "status", "payment state", "etat", "statut"],
    ),
    t(
        "issue_date",
        Date,
        &[
            "invoice date",
            "date",
            "issue date",
            "issued on",
            "date de facture",
            "date d emission",
        ],
    ),
    t(
        "due_date",
        Date,
        &[
            "due date",
            "invoice date due",
            "deadline",
            "date d echeance",
            "echeance",
        ],
    ),
    t("currency", Currency, &["currency", "devise"]),
    t(
        "amount_untaxed",
        Money,
        &[
            "amount untaxed",
            "untaxed amount",
            "subtotal",
            "total ht",
            "montant ht",
        ],
    ),
    t(
        "amount_tax",
        Money,
        &["amount tax", "tax", "vat amount", "montant tva", "tva"],
    ),
    t(
        "amount_total",
        Money,
        &["amount total", "total", "total ttc", "montant ttc"],
    ),
    t(
        "amount_due",
        Money,
        &[
            "amount residual",
            "amount due",
            "remaining",
            "balance",
            "reste a payer",
            "solde",
            "montant du",
        ],
    ),
    t(
        "paid_at",
        DateTime,
        &[
            "payment date",
            "paid at",
            "paid on",
            "date de paiement",
            "paye le",
        ],
    ),
];

/// Every canonical entity and its fields.
pub const ENTITIES: &[(&str, &[Target])] = &[
    ("organization", ORGANIZATION),
    ("contact", CONTACT),
    ("lead", LEAD),
    ("order", ORDER),
    ("product", PRODUCT),
    ("invoice", INVOICE),
];

/// The fields of a canonical entity (`None`: not an entity of SPEC §10).
pub fn targets(entity: &str) -> Option<&'static [Target]> {
    ENTITIES
        .iter()
        .find(|(name, _)| *name == entity)
        .map(|(_, fields)| *fields)
}
