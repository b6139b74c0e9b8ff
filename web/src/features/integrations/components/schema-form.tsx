import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input, Select, Textarea } from '@/components/ui/input';
import { Badge } from '@/components/ui/badge';
import { Alert } from '@/components/ui/alert';
import { FormField } from '@/components/form-field';
import { ErrorMessage } from '@/components/page';
import { ApiError } from '@/lib/errors';
import { fieldMessage } from '@/lib/forms';
import type { ConfigureBody, Provider } from '../api';

/** The subset of JSON Schema the providers' settings use (schemars, draft 2020-12). */
export interface PropSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  oneOf?: PropSchema[];
  anyOf?: PropSchema[];
  $ref?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  properties?: Record<string, PropSchema>;
  required?: string[];
  items?: PropSchema;
}
type RootSchema = PropSchema & { $defs?: Record<string, PropSchema>; definitions?: Record<string, PropSchema> };

/** How one setting is drawn and typed. */
type Field =
  | { kind: 'text' | 'boolean' | 'json'; nullable: boolean }
  | { kind: 'number'; integer: boolean; nullable: boolean }
  | { kind: 'enum'; options: string[]; nullable: boolean }
  | { kind: 'multi'; options: string[] }
  | { kind: 'object'; fields: [string, Described][]; required: string[] }
  /** A list of scalars (strings, numbers): one input a row. */
  | { kind: 'list'; item: Described }
  /** A list of objects of scalars (a mapping table): one group of inputs a row. */
  | { kind: 'rows'; fields: [string, Described][]; required: string[] };
interface Described {
  schema: PropSchema;
  field: Field;
}

/**
 * Credentials Tentabo writes itself (OAuth tokens, generated webhook passwords): the API
 * refuses them in a configuration, so the form shows them as set or not, never an input.
 * Used when the API does not flag them (`internal`).
 */
const INTERNAL_SECRETS = ['oauth_tokens', 'webhook_password'];

export function isInternalSecret(c: { name: string; internal?: boolean }): boolean {
  return c.internal ?? INTERNAL_SECRETS.includes(c.name);
}

function types(p: PropSchema): string[] {
  return Array.isArray(p.type) ? p.type : p.type ? [p.type] : [];
}

function pointer(root: RootSchema, ref: string): PropSchema | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let at: unknown = root;
  for (const part of ref.slice(2).split('/')) {
    const key = part.replace(/~1/g, '/').replace(/~0/g, '~');
    at = at && typeof at === 'object' ? (at as Record<string, unknown>)[key] : undefined;
  }
  return at && typeof at === 'object' ? (at as PropSchema) : undefined;
}

/** Follows `$ref`s; the referring schema's own keywords (description, default) win. */
function resolve(root: RootSchema, p: PropSchema, depth = 0): PropSchema {
  if (!p.$ref || depth > 8) return p;
  const target = pointer(root, p.$ref);
  const { $ref: _ref, ...own } = p;
  return target ? { ...resolve(root, target, depth + 1), ...own } : own;
}

const isNull = (p: PropSchema) => p.type === 'null' || p.const === null;

/** The choices of an enum: `enum`, or a `oneOf`/`anyOf` of `const`s (documented variants). */
function choices(root: RootSchema, s: PropSchema): { options: string[]; nullable: boolean } | null {
  if (s.enum) {
    return { options: s.enum.filter((v) => v !== null).map(String), nullable: s.enum.includes(null) };
  }
  const branches = (s.oneOf ?? s.anyOf)?.map((b) => resolve(root, b));
  if (!branches || branches.length === 0) return null;
  const options: string[] = [];
  let nullable = false;
  for (const b of branches) {
    if (isNull(b)) nullable = true;
    else if (b.const !== undefined) options.push(String(b.const));
    else if (b.enum) options.push(...b.enum.filter((v) => v !== null).map(String));
    else return null;
  }
  return options.length ? { options, nullable } : null;
}

const SCALARS: Field['kind'][] = ['text', 'number', 'boolean', 'enum'];

function describe(root: RootSchema, raw: PropSchema, nested = false): Described {
  let s = resolve(root, raw);
  let nullable = types(s).includes('null');
  // `Option<T>` of a referenced type: `anyOf: [{ $ref }, { type: null }]`.
  const union = s.anyOf ?? s.oneOf;
  if (union && !choices(root, s)) {
    const others = union.filter((b) => !isNull(resolve(root, b)));
    const [only] = others;
    if (only && others.length === 1 && others.length < union.length) {
      const { anyOf: _a, oneOf: _o, ...own } = s;
      s = { ...resolve(root, only), ...own };
      nullable = true;
    }
  }
  const ts = types(s);
  const enumOf = choices(root, s);
  if (ts.includes('boolean')) return { schema: s, field: { kind: 'boolean', nullable } };
  if (enumOf) return { schema: s, field: { kind: 'enum', options: enumOf.options, nullable: nullable || enumOf.nullable } };
  if (ts.includes('array') && s.items && !nested) {
    const itemSchema = resolve(root, s.items);
    const items = choices(root, itemSchema);
    if (items) return { schema: s, field: { kind: 'multi', options: items.options } };
    const item = describe(root, s.items, true);
    if (item.field.kind === 'text' || item.field.kind === 'number') return { schema: s, field: { kind: 'list', item } };
    if (types(itemSchema).includes('object') && itemSchema.properties) {
      const fields = Object.entries(itemSchema.properties).map(([k, p]) => [k, describe(root, p, true)] as [string, Described]);
      if (fields.every(([, d]) => SCALARS.includes(d.field.kind))) {
        return { schema: s, field: { kind: 'rows', fields, required: itemSchema.required ?? [] } };
      }
    }
  }
  if (ts.includes('object') && s.properties && !nested) {
    const fields = Object.entries(s.properties).map(([k, p]) => [k, describe(root, p, true)] as [string, Described]);
    if (fields.every(([, d]) => d.field.kind !== 'json')) {
      return { schema: s, field: { kind: 'object', fields, required: s.required ?? [] } };
    }
  }
  if (ts.includes('integer') || ts.includes('number')) {
    return { schema: s, field: { kind: 'number', integer: !ts.includes('number'), nullable } };
  }
  if (ts.includes('array') || ts.includes('object')) return { schema: s, field: { kind: 'json', nullable } };
  return { schema: s, field: { kind: 'text', nullable } };
}

function text(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function record(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The form's state: text per field (nested ones as `parent.child`), lists of choices apart. */
function initial(fields: [string, Described][], config: Record<string, unknown> | null | undefined) {
  const values: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  for (const [k, { schema, field }] of fields) {
    const v = config?.[k] ?? schema.default;
    if (field.kind === 'object') {
      const stored = record(config?.[k]);
      const defaults = record(schema.default);
      for (const [sub, d] of field.fields) {
        values[`${k}.${sub}`] = text(stored?.[sub] ?? d.schema.default ?? defaults?.[sub]);
      }
    } else if (field.kind === 'multi') {
      lists[k] = Array.isArray(v) ? v.map(String) : [];
    } else {
      values[k] = text(v);
    }
  }
  return { values, lists };
}

function convert(field: Field, raw: string): unknown {
  const nullable = 'nullable' in field && field.nullable;
  if (raw.trim() === '') return nullable ? null : undefined;
  switch (field.kind) {
    case 'boolean':
      return raw === 'true';
    case 'number':
      return field.integer ? Number.parseInt(raw, 10) : Number(raw);
    case 'json':
      try {
        return JSON.parse(raw);
      } catch {
        return raw;
      }
    default:
      return raw;
  }
}

/**
 * A provider's settings form drawn from its JSON Schema (`$ref`s followed; enums as
 * selects, a nested object as a group of fields, a list of choices as checkboxes).
 * Credentials are write-only: the form shows whether each is set and offers a field to
 * replace it; what is left empty keeps its stored value. Those Tentabo writes itself
 * are only shown as set or not.
 */
export function SchemaForm({
  provider,
  onSubmit,
  saving,
  error,
}: {
  provider: Provider;
  onSubmit: (body: ConfigureBody) => void;
  saving: boolean;
  error: unknown;
}) {
  const { t } = useTranslation();
  const root = provider.schema as RootSchema;
  const fields = React.useMemo(
    () => Object.entries(root.properties ?? {}).map(([k, p]) => [k, describe(root, p)] as [string, Described]),
    [root],
  );
  const [state] = React.useState(() => initial(fields, provider.configuration as Record<string, unknown> | null));
  const [values, setValues] = React.useState(state.values);
  const [lists, setLists] = React.useState(state.lists);
  const [secrets, setSecrets] = React.useState<Record<string, string>>({});
  const apiFields = error instanceof ApiError ? error.fields : {};
  const msg = (k: string) => apiFields[k]?.map((c) => fieldMessage(t, c)).join(' ');
  const id = (k: string) => `${provider.kind}-${provider.name}-${k}`.replace(/[^a-zA-Z0-9_-]/g, '-');
  const humanize = (k: string) => k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  const label = (k: string, p: PropSchema) => t(`integrations.fields.${k}`, { defaultValue: p.title ?? humanize(k) });
  const subLabel = (k: string, sub: string, p: PropSchema) =>
    t(`integrations.subfields.${k}.${sub}`, { defaultValue: p.title ?? humanize(sub) });
  const option = (k: string, o: string) => t(`integrations.options.${k}.${o}`, { defaultValue: o });
  const set = (k: string) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setValues((s) => ({ ...s, [k]: e.target.value }));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const configuration: Record<string, unknown> = {};
    for (const [k, { field }] of fields) {
      if (field.kind === 'object') {
        const sub: Record<string, unknown> = {};
        for (const [s, d] of field.fields) {
          const v = convert(d.field, values[`${k}.${s}`] ?? '');
          if (v !== undefined) sub[s] = v;
        }
        if (Object.keys(sub).length) configuration[k] = sub;
      } else if (field.kind === 'multi') {
        configuration[k] = field.options.filter((o) => lists[k]?.includes(o));
      } else {
        const v = convert(field, values[k] ?? '');
        if (v !== undefined) configuration[k] = v;
      }
    }
    const credentials: Record<string, string> = {};
    for (const [k, v] of Object.entries(secrets)) if (v !== '') credentials[k] = v;
    onSubmit({ configuration, credentials: Object.keys(credentials).length ? credentials : undefined } as ConfigureBody);
  };

  /** One input for a scalar setting (top level or inside a group). */
  const scalar = (
    key: string,
    prop: string,
    { schema: p, field }: Described,
    common: { id: string; label: string; error?: string; hint?: string },
    required: boolean,
  ) => {
    if (field.kind === 'boolean') {
      return (
        <FormField key={key} {...common}>
          {(a) => (
            <Select {...a} value={values[key] ?? ''} onChange={set(key)}>
              {field.nullable || (values[key] ?? '') === '' ? <option value="">—</option> : null}
              <option value="true">{t('common.yes')}</option>
              <option value="false">{t('common.no')}</option>
            </Select>
          )}
        </FormField>
      );
    }
    if (field.kind === 'enum') {
      return (
        <FormField key={key} {...common}>
          {(a) => (
            <Select {...a} value={values[key] ?? ''} onChange={set(key)}>
              {!required || field.nullable ? <option value="">—</option> : null}
              {field.options.map((o) => (
                <option key={o} value={o}>
                  {option(prop, o)}
                </option>
              ))}
            </Select>
          )}
        </FormField>
      );
    }
    const numeric = field.kind === 'number';
    return (
      <FormField key={key} {...common}>
        {(a) => (
          <Input
            {...a}
            type={p.format === 'uri' ? 'url' : p.format === 'email' ? 'email' : numeric ? 'number' : 'text'}
            min={p.minimum}
            max={p.maximum}
            step={numeric && field.integer ? 1 : 'any'}
            required={required}
            value={values[key] ?? ''}
            onChange={set(key)}
          />
        )}
      </FormField>
    );
  };

  /** A fieldset's hint and error, wired to the fieldset itself. */
  const groupNotes = (k: string, hint?: string) => {
    const error = msg(`configuration.${k}`);
    const describedBy = [error ? `${id(k)}-error` : null, hint ? `${id(k)}-hint` : null].filter(Boolean).join(' ') || undefined;
    const notes = (
      <>
        {hint ? (
          <p id={`${id(k)}-hint`} className="mb-2 text-xs text-slate-700">
            {hint}
          </p>
        ) : null}
        {error ? (
          <p id={`${id(k)}-error`} className="mt-1 text-xs font-medium text-red-700" data-field-error>
            {error}
          </p>
        ) : null}
      </>
    );
    return { describedBy, notes };
  };

  const general = Object.entries(apiFields).filter(([k]) => !k.startsWith('configuration.') && !k.startsWith('credentials.'));
  const settable = provider.credentials.filter((c) => !isInternalSecret(c));
  const internal = provider.credentials.filter((c) => isInternalSecret(c));

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label={t('integrations.settingsOf', { name: provider.label })}>
      {error && !(error instanceof ApiError && Object.keys(apiFields).length) ? <ErrorMessage error={error} /> : null}
      {general.map(([k, codes]) => (
        <Alert key={k}>
          {k}: {codes.map((c) => fieldMessage(t, c)).join(' ')}
        </Alert>
      ))}
      <div className="grid gap-3 sm:grid-cols-2">
        {fields.map(([k, d]) => {
          const { schema: p, field } = d;
          const required = root.required?.includes(k) ?? false;
          const title = label(k, p) + (required ? ' *' : '');
          if (field.kind === 'object') {
            const g = groupNotes(k, p.description);
            return (
              <fieldset
                key={k}
                className="rounded-md border border-slate-200 p-2 sm:col-span-2"
                aria-describedby={g.describedBy}
                data-testid={`setting-${k}`}
              >
                <legend className="px-1 text-sm font-semibold">{title}</legend>
                {g.notes}
                <div className="grid gap-3 sm:grid-cols-2">
                  {field.fields.map(([sub, sd]) => {
                    const subRequired = field.required.includes(sub);
                    return scalar(
                      `${k}.${sub}`,
                      sub,
                      sd,
                      {
                        id: id(`${k}-${sub}`),
                        label: subLabel(k, sub, sd.schema) + (subRequired ? ' *' : ''),
                        error: msg(`configuration.${k}.${sub}`),
                        hint: sd.schema.description,
                      },
                      subRequired,
                    );
                  })}
                </div>
              </fieldset>
            );
          }
          if (field.kind === 'multi') {
            const g = groupNotes(k, p.description);
            return (
              <fieldset
                key={k}
                className="rounded-md border border-slate-200 p-2 sm:col-span-2"
                aria-describedby={g.describedBy}
                data-testid={`setting-${k}`}
              >
                <legend className="px-1 text-sm font-semibold">{title}</legend>
                {g.notes}
                <div className="flex flex-wrap gap-x-4 gap-y-2">
                  {field.options.map((o) => (
                    <label key={o} className="flex items-center gap-2 text-sm">
                      <input
                        type="checkbox"
                        className="h-4 w-4 rounded border-slate-300 focus-visible:ring-2 focus-visible:ring-blue-600"
                        checked={lists[k]?.includes(o) ?? false}
                        onChange={(e) =>
                          setLists((s) => {
                            const now = new Set(s[k] ?? []);
                            if (e.target.checked) now.add(o);
                            else now.delete(o);
                            return { ...s, [k]: field.options.filter((x) => now.has(x)) };
                          })
                        }
                      />
                      {option(k, o)}
                    </label>
                  ))}
                </div>
              </fieldset>
            );
          }
          return scalar(k, k, d, { id: id(k), label: title, error: msg(`configuration.${k}`), hint: p.description }, required);
        })}
      </div>
      {provider.credentials.length > 0 ? (
        <fieldset className="rounded-md border border-slate-200 p-2">
          <legend className="px-1 text-sm font-semibold">{t('integrations.credentials')}</legend>
          {settable.length > 0 ? <p className="mb-2 text-xs text-slate-700">{t('integrations.credentialsHint')}</p> : null}
          <div className="grid gap-3 sm:grid-cols-2">
            {settable.map((c) => (
              <div key={c.name} className="flex flex-col gap-1" data-testid={`credential-${c.name}`}>
                <Badge variant={c.set ? 'green' : c.required ? 'amber' : 'default'} className="self-start">
                  {c.label}: {c.set ? t('integrations.set') : t('integrations.notSet')}
                </Badge>
                <FormField
                  id={id(`secret-${c.name}`)}
                  label={c.set ? t('integrations.replace', { label: c.label }) : t('integrations.setValue', { label: c.label })}
                  error={msg(`credentials.${c.name}`)}
                >
                  {(a) => (
                    <Input
                      {...a}
                      type="password"
                      autoComplete="new-password"
                      value={secrets[c.name] ?? ''}
                      onChange={(e) => setSecrets((s) => ({ ...s, [c.name]: e.target.value }))}
                    />
                  )}
                </FormField>
              </div>
            ))}
          </div>
          {internal.length > 0 ? (
            <div className="mt-3">
              <p className="mb-1 text-xs text-slate-700">{t('integrations.internalHint')}</p>
              <ul className="flex flex-wrap gap-2">
                {internal.map((c) => (
                  <li key={c.name} data-testid={`credential-${c.name}`}>
                    <Badge variant={c.set ? 'green' : 'default'}>
                      {c.label}: {c.set ? t('integrations.set') : t('integrations.notSet')}
                    </Badge>
                    {msg(`credentials.${c.name}`) ? (
                      <p className="text-xs font-medium text-red-700" data-field-error>
                        {msg(`credentials.${c.name}`)}
                      </p>
                    ) : null}
                  </li>
                ))}
              </ul>
            </div>
          ) : null}
        </fieldset>
      ) : null}
      <div>
        <Button type="submit" disabled={saving}>
          {t('integrations.save')}
        </Button>
      </div>
    </form>
  );
}
