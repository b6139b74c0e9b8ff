import * as React from 'react';
import { useTranslation } from 'react-i18next';
import { Button } from '@/components/ui/button';
import { Input, Select, Textarea } from '@/components/ui/input';
import { Badge } from '@/components/ui/badge';
import { Alert } from '@/components/ui/alert';
import { FormField } from '@/components/form-field';
import { ErrorMessage } from '@/components/page';
import { Plus, Trash2 } from 'lucide-react';
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

/** A row of a list setting: its inputs' text by property (`value` for a list of scalars). */
interface Row {
  id: number;
  values: Record<string, string>;
}
let rowIds = 0;
const newRow = (values: Record<string, string>): Row => ({ id: ++rowIds, values });

/** A new row of a mapping table: each property's default, else empty. */
function blankRow(fields: [string, Described][]): Row {
  return newRow(Object.fromEntries(fields.map(([sub, d]) => [sub, text(d.schema.default)])));
}

/**
 * The form's state: text per field (nested ones as `parent.child`), lists of choices
 * apart, and the rows of list settings (each with a stable id, so an error stays on its row).
 */
function initial(fields: [string, Described][], config: Record<string, unknown> | null | undefined) {
  const values: Record<string, string> = {};
  const lists: Record<string, string[]> = {};
  const rows: Record<string, Row[]> = {};
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
    } else if (field.kind === 'list') {
      rows[k] = (Array.isArray(v) ? v : []).map((x) => newRow({ value: text(x) }));
    } else if (field.kind === 'rows') {
      const sub = field.fields;
      rows[k] = (Array.isArray(v) ? v : []).map((x) =>
        newRow(Object.fromEntries(sub.map(([s, d]) => [s, text(record(x)?.[s] ?? d.schema.default)]))),
      );
    } else {
      values[k] = text(v);
    }
  }
  return { values, lists, rows };
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

/** The value of one input and how to change it. */
interface Binding {
  value: string;
  set: (v: string) => void;
}

/**
 * A provider's settings form drawn from its JSON Schema (`$ref`s followed; enums as
 * selects, a nested object as a group of fields, a list of choices as checkboxes, a list
 * of strings or of small objects as rows to add and remove). Credentials are write-only:
 * the form shows whether each is set and offers a field to replace it; what is left empty
 * keeps its stored value. Those Tentabo writes itself are only shown as set or not.
 * The API's field errors land where they point: `configuration.<field>`,
 * `configuration.<field>.<sub>`, `configuration.<field>.<row>[.<sub>]` (the row's own,
 * such as an item that is not an object, is wired to the row's group); those with no
 * place in the form are listed, named, under the notice at the top.
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
  const [rows, setRows] = React.useState(state.rows);
  // The row ids in the order they were last sent: the API's `<field>.<index>` errors
  // point into that array (before any save, the stored one).
  const [sent, setSent] = React.useState<Record<string, number[]>>(() =>
    Object.fromEntries(Object.entries(state.rows).map(([k, rs]) => [k, rs.map((r) => r.id)])),
  );
  // Required row properties left empty, found before sending (`<field>.<row id>.<sub>`).
  const [local, setLocal] = React.useState<Record<string, string>>({});
  const [secrets, setSecrets] = React.useState<Record<string, string>>({});
  const [focus, setFocus] = React.useState<string | null>(null);
  React.useEffect(() => {
    if (focus) document.getElementById(focus)?.focus();
  }, [focus]);
  const apiFields = error instanceof ApiError ? error.fields : {};
  const msg = (k: string) => apiFields[k]?.map((c) => fieldMessage(t, c)).join(' ');
  const id = (k: string) => `${provider.kind}-${provider.name}-${k}`.replace(/[^a-zA-Z0-9_-]/g, '-');
  const humanize = (k: string) => k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
  const label = (k: string, p: PropSchema) => t(`integrations.fields.${k}`, { defaultValue: p.title ?? humanize(k) });
  const subLabel = (k: string, sub: string, p: PropSchema) =>
    t(`integrations.subfields.${k}.${sub}`, { defaultValue: p.title ?? humanize(sub) });
  const option = (k: string, o: string) => t(`integrations.options.${k}.${o}`, { defaultValue: o });
  const bind = (key: string): Binding => ({
    value: values[key] ?? '',
    set: (v) => setValues((s) => ({ ...s, [key]: v })),
  });
  const rowBind = (k: string, rowId: number, sub: string): Binding => ({
    value: rows[k]?.find((r) => r.id === rowId)?.values[sub] ?? '',
    set: (v) =>
      setRows((s) => ({ ...s, [k]: (s[k] ?? []).map((r) => (r.id === rowId ? { ...r, values: { ...r.values, [sub]: v } } : r)) })),
  });
  /** The error of a row (`sub` absent) or of one of its properties. */
  const rowMsg = (k: string, rowId: number, sub?: string) => {
    const code = local[`${k}.${rowId}.${sub ?? ''}`];
    if (code) return fieldMessage(t, code);
    const i = sent[k]?.indexOf(rowId) ?? -1;
    return i < 0 ? undefined : msg(`configuration.${k}.${i}${sub === undefined ? '' : `.${sub}`}`);
  };
  const addRow = (k: string, row: Row, firstInput: string) => {
    setRows((s) => ({ ...s, [k]: [...(s[k] ?? []), row] }));
    setFocus(id(`${k}-${row.id}-${firstInput}`));
  };
  const removeRow = (k: string, rowId: number) => {
    setRows((s) => ({ ...s, [k]: (s[k] ?? []).filter((r) => r.id !== rowId) }));
    setFocus(id(`${k}-add`));
  };

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const configuration: Record<string, unknown> = {};
    const order: Record<string, number[]> = {};
    const problems: Record<string, string> = {};
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
      } else if (field.kind === 'list') {
        // Empty rows are dropped.
        const kept = (rows[k] ?? []).filter((r) => (r.values.value ?? '').trim() !== '');
        configuration[k] = kept.map((r) => convert(field.item.field, (r.values.value ?? '').trim()));
        order[k] = kept.map((r) => r.id);
      } else if (field.kind === 'rows') {
        const kept = (rows[k] ?? []).filter((r) => Object.values(r.values).some((v) => v.trim() !== ''));
        configuration[k] = kept.map((r) => {
          const out: Record<string, unknown> = {};
          for (const [s, d] of field.fields) {
            const raw = (r.values[s] ?? '').trim();
            if (raw === '' && field.required.includes(s)) problems[`${k}.${r.id}.${s}`] = 'required';
            const v = convert(d.field, raw);
            if (v !== undefined) out[s] = v;
          }
          return out;
        });
        order[k] = kept.map((r) => r.id);
      } else {
        const v = convert(field, values[k] ?? '');
        if (v !== undefined) configuration[k] = v;
      }
    }
    setLocal(problems);
    if (Object.keys(problems).length) return;
    setSent(order);
    const credentials: Record<string, string> = {};
    for (const [k, v] of Object.entries(secrets)) if (v !== '') credentials[k] = v;
    onSubmit({ configuration, credentials: Object.keys(credentials).length ? credentials : undefined } as ConfigureBody);
  };

  /** One input for a scalar setting (top level, inside a group, or in a row). */
  const scalar = (
    key: string,
    prop: string,
    { schema: p, field }: Described,
    common: { id: string; label: string; error?: string; hint?: string },
    required: boolean,
    { value, set }: Binding,
  ) => {
    const onChange = (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>) => set(e.target.value);
    if (field.kind === 'boolean') {
      return (
        <FormField key={key} {...common}>
          {(a) => (
            <Select {...a} value={value} onChange={onChange}>
              {field.nullable || value === '' ? <option value="">—</option> : null}
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
            <Select {...a} value={value} onChange={onChange}>
              {!required || field.nullable || value === '' ? <option value="">—</option> : null}
              {field.options.map((o) => (
                <option key={o} value={o}>
                  {option(prop, o)}
                </option>
              ))}
              {/* A stored value that is not (or no longer) a choice: shown as it is. */}
              {value !== '' && !field.options.includes(value) ? <option value={value}>{value}</option> : null}
            </Select>
          )}
        </FormField>
      );
    }
    // Long text (a PEM certificate) keeps its lines.
    if (field.kind === 'text' && (p.maxLength ?? 0) > 1000) {
      return (
        <FormField key={key} {...common} className="sm:col-span-2">
          {(a) => <Textarea {...a} required={required} rows={4} className="font-mono text-xs" value={value} onChange={onChange} />}
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
            value={value}
            onChange={onChange}
          />
        )}
      </FormField>
    );
  };

  /** A fieldset's hint and error, wired to the fieldset itself. */
  const groupNotes = (k: string, hint?: string, parts = false) => {
    const error = parts ? withParts(k) : msg(`configuration.${k}`);
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

  /** The "add a row" button of a list setting. */
  const addButton = (k: string, name: string, onClick: () => void) => (
    <Button
      id={id(`${k}-add`)}
      size="sm"
      variant="outline"
      className="mt-2"
      onClick={onClick}
      aria-label={t('integrations.array.addTo', { label: name })}
    >
      <Plus className="h-3.5 w-3.5" aria-hidden />
      {t('integrations.array.add')}
    </Button>
  );
  const removeButton = (k: string, rowId: number, name: string, n: number) => (
    <Button
      size="sm"
      variant="outline"
      onClick={() => removeRow(k, rowId)}
      aria-label={t('integrations.array.removeRow', { label: name, n })}
    >
      <Trash2 className="h-3.5 w-3.5" aria-hidden />
      {t('integrations.array.remove')}
    </Button>
  );

  /**
   * Whether the form shows an API error where it points. Items of a list are placed by
   * their index in the list as last sent (an error of a row removed since goes with it).
   */
  const placed = (key: string): boolean => {
    if (key.startsWith('credentials.')) return provider.credentials.some((c) => `credentials.${c.name}` === key);
    if (!key.startsWith('configuration.')) return false;
    const [k = '', ...rest] = key.slice('configuration.'.length).split('.');
    const d = fields.find(([name]) => name === k)?.[1];
    if (!d) return false;
    if (rest.length === 0) return true;
    const { field } = d;
    const index = (s: string | undefined) => s !== undefined && /^\d+$/.test(s) && Number(s) < (sent[k]?.length ?? 0);
    switch (field.kind) {
      case 'object':
        return rest.length === 1 && field.fields.some(([sub]) => sub === rest[0]);
      case 'multi':
      case 'json':
        // Shown with the setting's own error (`<path>: <message>`).
        return true;
      case 'list':
        return rest.length === 1 && index(rest[0]);
      case 'rows':
        return index(rest[0]) && (rest.length === 1 || (rest.length === 2 && field.fields.some(([sub]) => sub === rest[1])));
      default:
        return false;
    }
  };
  /** A setting's error with those of its parts it has no input for (a list of choices, JSON). */
  const withParts = (k: string) => {
    const own = msg(`configuration.${k}`);
    const prefix = `configuration.${k}.`;
    const parts = Object.entries(apiFields)
      .filter(([key]) => key.startsWith(prefix))
      .map(([key, codes]) => `${key.slice(prefix.length)}: ${codes.map((c) => fieldMessage(t, c)).join(' ')}`);
    return [own, ...parts].filter(Boolean).join(' ') || undefined;
  };
  /** An error the form has no place for, named by the setting it is in. */
  const unplacedLabel = (key: string) => {
    if (!key.startsWith('configuration.')) return key;
    const [k = '', ...rest] = key.slice('configuration.'.length).split('.');
    const p = root.properties?.[k];
    const name = p ? label(k, p) : k;
    const [first, ...more] = rest;
    // An item of a list: by its row, counted from 1 as the rows are labelled.
    if (first !== undefined && /^\d+$/.test(first)) {
      return [t('integrations.array.row', { label: name, n: Number(first) + 1 }), ...more].join(' › ');
    }
    return [name, ...rest].join(' › ');
  };
  const general = Object.entries(apiFields).filter(([k]) => !placed(k));
  const hasFieldErrors = Object.keys(apiFields).length > 0;
  const settable = provider.credentials.filter((c) => !isInternalSecret(c));
  const internal = provider.credentials.filter((c) => isInternalSecret(c));

  return (
    <form onSubmit={submit} noValidate className="flex flex-col gap-3" aria-label={t('integrations.settingsOf', { name: provider.label })}>
      {error && !hasFieldErrors ? <ErrorMessage error={error} /> : null}
      {hasFieldErrors ? (
        <Alert data-testid="settings-errors">
          {t('integrations.fixErrors')}
          {general.length ? (
            <ul className="mt-1 list-disc pl-5">
              {general.map(([k, codes]) => (
                <li key={k}>
                  {unplacedLabel(k)}: {codes.map((c) => fieldMessage(t, c)).join(' ')}
                </li>
              ))}
            </ul>
          ) : null}
        </Alert>
      ) : null}
      <div className="grid gap-3 sm:grid-cols-2">
        {fields.map(([k, d]) => {
          const { schema: p, field } = d;
          const required = root.required?.includes(k) ?? false;
          const name = label(k, p);
          const title = name + (required ? ' *' : '');
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
                      bind(`${k}.${sub}`),
                    );
                  })}
                </div>
              </fieldset>
            );
          }
          if (field.kind === 'multi') {
            const g = groupNotes(k, p.description, true);
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
          if (field.kind === 'list') {
            const g = groupNotes(k, p.description);
            const items = rows[k] ?? [];
            return (
              <fieldset
                key={k}
                className="rounded-md border border-slate-200 p-2 sm:col-span-2"
                aria-describedby={g.describedBy}
                data-testid={`setting-${k}`}
              >
                <legend className="px-1 text-sm font-semibold">{title}</legend>
                {g.notes}
                {items.length ? (
                  <ul className="flex flex-col gap-2">
                    {items.map((r, i) => {
                      const inputId = id(`${k}-${r.id}-value`);
                      const err = rowMsg(k, r.id);
                      const { value, set } = rowBind(k, r.id, 'value');
                      return (
                        <li key={r.id} className="flex items-start gap-2">
                          <div className="flex flex-1 flex-col gap-1">
                            <Input
                              id={inputId}
                              type={field.item.field.kind === 'number' ? 'number' : 'text'}
                              aria-label={t('integrations.array.row', { label: name, n: i + 1 })}
                              aria-invalid={Boolean(err)}
                              aria-describedby={err ? `${inputId}-error` : undefined}
                              value={value}
                              onChange={(e) => set(e.target.value)}
                            />
                            {err ? (
                              <p id={`${inputId}-error`} className="text-xs font-medium text-red-700" data-field-error>
                                {err}
                              </p>
                            ) : null}
                          </div>
                          {removeButton(k, r.id, name, i + 1)}
                        </li>
                      );
                    })}
                  </ul>
                ) : (
                  <p className="text-xs text-slate-700">{t('integrations.array.empty')}</p>
                )}
                {addButton(k, name, () => addRow(k, newRow({ value: '' }), 'value'))}
              </fieldset>
            );
          }
          if (field.kind === 'rows') {
            const g = groupNotes(k, p.description);
            const items = rows[k] ?? [];
            const described = field.fields.filter(([, sd]) => sd.schema.description);
            return (
              <fieldset
                key={k}
                className="rounded-md border border-slate-200 p-2 sm:col-span-2"
                aria-describedby={g.describedBy}
                data-testid={`setting-${k}`}
              >
                <legend className="px-1 text-sm font-semibold">{title}</legend>
                {g.notes}
                {described.length ? (
                  <ul className="mb-2 list-disc pl-5 text-xs text-slate-700">
                    {described.map(([sub, sd]) => (
                      <li key={sub}>
                        <span className="font-medium">{subLabel(k, sub, sd.schema)}</span>: {sd.schema.description}
                      </li>
                    ))}
                  </ul>
                ) : null}
                {items.length ? (
                  <ol className="flex flex-col gap-2">
                    {items.map((r, i) => {
                      const rowError = rowMsg(k, r.id);
                      const rowErrorId = id(`${k}-${r.id}-error`);
                      return (
                        <li key={r.id}>
                          <div
                            role="group"
                            aria-label={t('integrations.array.row', { label: name, n: i + 1 })}
                            aria-describedby={rowError ? rowErrorId : undefined}
                            className="grid items-start gap-2 rounded-md border border-slate-200 p-2 sm:grid-cols-[repeat(var(--cells),minmax(0,1fr))_auto]"
                            style={{ '--cells': field.fields.length } as React.CSSProperties}
                            data-testid={`row-${k}`}
                          >
                            {field.fields.map(([sub, sd]) => {
                              const subRequired = field.required.includes(sub);
                              return scalar(
                                sub,
                                sub,
                                sd,
                                {
                                  id: id(`${k}-${r.id}-${sub}`),
                                  label: subLabel(k, sub, sd.schema) + (subRequired ? ' *' : ''),
                                  error: rowMsg(k, r.id, sub),
                                },
                                subRequired,
                                rowBind(k, r.id, sub),
                              );
                            })}
                            <div className="flex flex-col gap-1 sm:pt-6">
                              {removeButton(k, r.id, name, i + 1)}
                              {rowError ? (
                                <p id={rowErrorId} className="text-xs font-medium text-red-700" data-field-error>
                                  {rowError}
                                </p>
                              ) : null}
                            </div>
                          </div>
                        </li>
                      );
                    })}
                  </ol>
                ) : (
                  <p className="text-xs text-slate-700">{t('integrations.array.empty')}</p>
                )}
                {addButton(k, name, () => addRow(k, blankRow(field.fields), field.fields[0]?.[0] ?? ''))}
              </fieldset>
            );
          }
          const error = field.kind === 'json' ? withParts(k) : msg(`configuration.${k}`);
          return scalar(k, k, d, { id: id(k), label: title, error, hint: p.description }, required, bind(k));
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
