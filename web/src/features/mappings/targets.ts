/**
 * What a mapping of an Odoo object may write: the canonical fields of each entity (SPEC
 * §10's vocabulary, as the server checks it), the transforms, and the mapped objects.
 * The API lists none of them: keep this in step with the server.
 */

export const CANONICAL_TARGETS: Record<string, readonly string[]> = {
  organization: [
    'name', 'legal_name', 'vat_number', 'email', 'phone', 'website', 'street', 'street2', 'city', 'postal_code', 'state',
    'country_code', 'industry', 'is_customer', 'is_supplier', 'created_at', 'updated_at',
  ],
  contact: [
    'name', 'first_name', 'last_name', 'email', 'phone', 'mobile', 'job_title', 'organization', 'country_code', 'created_at',
    'updated_at',
  ],
  lead: [
    'title', 'organization', 'contact_name', 'contact_email', 'contact_phone', 'value', 'currency', 'status', 'probability',
    'expected_close_date', 'owner', 'source', 'lost_reason', 'owner_external_id', 'stage', 'closed_at', 'created_at',
    'updated_at',
  ],
  order: [
    'reference', 'customer', 'status', 'order_date', 'currency', 'amount_untaxed', 'amount_tax', 'amount_total', 'owner',
    'owner_external_id', 'created_at', 'updated_at',
  ],
  product: [
    'name', 'sku', 'barcode', 'unit', 'list_price', 'cost_price', 'product_type', 'active', 'description', 'created_at',
    'updated_at',
  ],
};

export const TRANSFORMS = [
  'as_is', 'many2one_id', 'many2one_name', 'selection', 'date', 'datetime', 'money', 'number', 'boolean', 'first_name',
  'last_name', 'keep_in_extras', 'ignore',
] as const;

/** Transforms that write no target (the field is kept in the row's extras, or dropped). */
export const TARGETLESS = ['keep_in_extras', 'ignore'] as const;

/** A mapped source object and the canonical entity it feeds. */
export interface MappedObject {
  provider: string;
  object: string;
  entity: string;
}

export const MAPPED_OBJECTS: readonly MappedObject[] = [
  { provider: 'odoo', object: 'res.partner', entity: 'organization' },
  { provider: 'odoo', object: 'res.partner', entity: 'contact' },
  { provider: 'odoo', object: 'crm.lead', entity: 'lead' },
  { provider: 'odoo', object: 'sale.order', entity: 'order' },
  { provider: 'odoo', object: 'product.product', entity: 'product' },
];

/** Whether the object feeds several entities (the API then needs `entity`). */
export function isMultiEntity(provider: string, object: string): boolean {
  return MAPPED_OBJECTS.filter((m) => m.provider === provider && m.object === object).length > 1;
}

/** The entity to send for an object: only when it feeds several. */
export function entityParam(provider: string, object: string, entity: string | null | undefined): string | undefined {
  return entity && isMultiEntity(provider, object) ? entity : undefined;
}

/** The console's address of an object's mappings. */
export function objectPath(provider: string, object: string, entity?: string | null): string {
  const e = entityParam(provider, object, entity);
  return `/integrations/mappings/${encodeURIComponent(provider)}/${encodeURIComponent(object)}${e ? `?entity=${encodeURIComponent(e)}` : ''}`;
}

export function versionPath(id: string): string {
  return `/integrations/mappings/versions/${encodeURIComponent(id)}`;
}
